"""Plots of the results, drawn from the results JSON into ``benchmarks/plots/*.svg`` (the docs embed them).

Needs matplotlib (the ``bench`` extra, which ``make bench`` installs); without it nothing is drawn and the
run says so. ``python -m benchmarks --render-only benchmarks/results.json`` redraws them. Each plot is one
function of the results that returns a figure, or None when its data are missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

COLORS = {"bridge": "#1f77b4", "bridge-aio": "#17becf", "bridge-threads": "#9467bd", "flytekit": "#ff7f0e",
          "flyte-sdk": "#2ca02c", "floor": "#7f7f7f", "empty-aio": "#7f7f7f"}


def _ok(row: dict[str, Any] | None) -> bool:
    return bool(row) and row.get("status") == "ok"  # type: ignore[union-attr]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "flyte-connector-bridge", "font.size": 9})  # stable SVG ids
    return plt


def main_throughput(results: dict[str, Any]) -> Any:
    """GetTask and CreateTask req/s by streams: the bridge against both SDK servers (main tables)."""
    pts: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    for srv in results.get("servers", []):
        if srv["server"] not in ("bridge", "flytekit", "flyte-sdk"):
            continue
        for p in srv.get("points", []):
            if _ok(p):
                pts.setdefault((srv["server"], p["generation"], p["method"]), []).append(
                    (p["concurrency"], p["median"]["rps"]))
    if not pts:
        return None
    plt = _plt()
    methods = sorted({m for _, _, m in pts}, reverse=True)
    fig, axes = plt.subplots(1, len(methods), figsize=(5 * len(methods), 3.6), squeeze=False)
    for ax, method in zip(axes[0], methods):
        for (server, gen, m), xy in sorted(pts.items()):
            if m != method:
                continue
            xy.sort()
            ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o", color=COLORS.get(server),
                    linestyle="-" if gen == "v1" else "--", label=f"{server} {gen}")
        ax.set(title=f"{method}: req/s by streams in flight", xscale="log", xlabel="streams (one connection)",
               ylabel="req/s (one core)", yscale="log" if method == "CreateTask" else "linear")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return fig


def real_io(results: dict[str, Any]) -> Any:
    """Webhook connector: req/s and p99 by streams, bridge modes against pyflyte and the floor."""
    fig_data = results.get("real_io") or {}
    if not fig_data.get("servers"):
        return None
    plt = _plt()
    fig, (ax_r, ax_p) = plt.subplots(1, 2, figsize=(10, 3.6))
    series = [(s["server"], r) for s in fig_data["servers"] for r in s.get("rows", []) if _ok(r)]
    series += [("floor", dict(r, workload="execute-sync")) for r in fig_data.get("floor", []) if _ok(r)]
    for key in sorted({(k, r["workload"]) for k, r in series}):
        xy = sorted((r["concurrency"], r["median"]["rps"], r["median"]["p99_ms"]) for k, r in series
                    if (k, r["workload"]) == key)
        style = "-" if key[1] == "execute-sync" else "--"
        label = f"{key[0]} {'v1 sync' if key[1] == 'execute-sync' else 'v2 create+get'}"
        if key[0] == "floor":
            label = "connector alone (floor)"
        ax_r.plot([x for x, _, _ in xy], [y for _, y, _ in xy], marker="o", linestyle=style,
                  color=COLORS.get(key[0]), label=label)
        ax_p.plot([x for x, _, _ in xy], [p for _, _, p in xy], marker="o", linestyle=style, color=COLORS.get(key[0]),
                  label=label)
    ax_r.set(title="webhook connector: calls/s", xscale="log", xlabel="streams", ylabel="calls/s")
    ax_p.set(title="p99 latency", xscale="log", xlabel="streams", ylabel="ms", yscale="log")
    for ax in (ax_r, ax_p):
        ax.grid(alpha=0.3)
    ax_r.legend(fontsize=7)
    return fig


def waiting(results: dict[str, Any]) -> Any:
    """Async waiting connector: share of ideal throughput, added p99 and RSS per call by calls in flight."""
    fig_data = results.get("waiting") or {}
    if not fig_data.get("servers"):
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for srv in fig_data["servers"]:
        for gen in ("v1", "v2"):
            rows = sorted((r for r in srv.get("rows", []) if r["connector"] == "async" and r["generation"] == gen
                           and _ok(r)), key=lambda r: r["inflight"])
            if not rows:
                continue
            x = [r["inflight"] for r in rows]
            style = "-" if gen == "v1" else "--"
            for ax, key, scale in ((axes[0], "of_ideal", 100), (axes[1], "added_p99_ms", 1),
                                   (axes[2], "rss_per_call_kib", 1)):
                ax.plot(x, [r["median"][key] * scale for r in rows], marker="o", linestyle=style,
                        color=COLORS.get(srv["server"]), label=f"{srv['server']} {gen}")
    axes[0].set(title="throughput, % of ideal (K / wait)", ylabel="%")
    axes[1].set(title="latency added over the wait, p99", ylabel="ms", yscale="log")
    axes[2].set(title="RSS per call in flight", ylabel="KiB")
    for ax in axes:
        ax.set(xscale="log", xlabel="calls in flight")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    return fig


def payload(results: dict[str, Any]) -> Any:
    """CPU per CreateTask by request size, log-log, for the bridge and both SDK servers."""
    fig_data = results.get("payload") or {}
    if not fig_data.get("servers"):
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for srv in fig_data["servers"]:
        for gen in ("v1", "v2"):
            xy = sorted((r["bytes"], r["cpu_us_per_call"]) for r in srv.get("rows", [])
                        if r["generation"] == gen and _ok(r))
            if xy:
                ax.plot([x / 1e3 for x, _ in xy], [y / 1e3 for _, y in xy], marker="o", color=COLORS.get(srv["server"]),
                        linestyle="-" if gen == "v1" else "--", label=f"{srv['server']} {gen}")
    parse = sorted({(r["bytes"], r["parse_us"]) for srv in fig_data["servers"] for r in srv.get("rows", [])})
    if parse:
        ax.plot([x / 1e3 for x, _ in parse], [y / 1e3 for _, y in parse], color="black", linestyle=":",
                label="one protobuf parse")
    ax.set(title="server CPU per CreateTask by request size", xscale="log", yscale="log", xlabel="request KB",
           ylabel="CPU ms per call")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def endurance(results: dict[str, Any]) -> Any:
    """RSS after each batch over the calls, per mode, generation and method (the endurance figure)."""
    records = [r for r in results.get("endurance") or [] if r.get("status") == "ok" and len(r.get("samples", [])) > 1]
    if not records:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for r in records:
        s = r["samples"]
        ax.plot([x["calls"] for x in s], [x["rss_kib"] / 1024 for x in s], marker=".",
                label=f"{r['mode']} {r['generation']} {r['method']}")
    ax.set(title="bridge RSS over calls (after warm-up)", xlabel="calls", ylabel="RSS MiB")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


PLOTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "throughput": main_throughput, "real-io": real_io, "waiting": waiting, "payload": payload, "endurance": endurance,
}


def write_all(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Draw every plot whose data exist into ``out_dir/<name>.svg``; returns the files written."""
    try:
        plt = _plt()
    except ImportError:
        print("matplotlib is not installed (the `bench` extra): no plots drawn", flush=True)
        return []
    written = []
    for name, draw in PLOTS.items():
        try:
            fig = draw(results)
        except (KeyError, TypeError, ValueError) as exc:  # a malformed older results file: skip that plot
            print(f"plot {name} skipped: {type(exc).__name__}: {exc}", flush=True)
            continue
        if fig is None:
            continue
        fig.tight_layout()
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{name}.svg"
        fig.savefig(path, metadata={"Date": None})
        plt.close(fig)
        written.append(path)
    return written
