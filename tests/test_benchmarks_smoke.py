"""The benchmark harness runs end to end: ``python -m benchmarks --quick`` on one small point.

It starts two empty servicers pinned with taskset, drives them with h2load in turns (interleaved),
verifies the point against each server's own success counter, runs the translation
micro-benchmarks once, and writes RESULTS-quick.md plus its JSON. No numbers are asserted (timings belong in benchmarks, not tests),
only that every stage produced a verified, well-formed result.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(120)
def test_quick_run_on_one_point_writes_verified_results(tmp_path: Path) -> None:
    if shutil.which("h2load") is None or shutil.which("taskset") is None:
        pytest.skip("needs h2load (Debian nghttp2-client) and taskset; `make bench` installs h2load itself")
    pytest.importorskip("flytekit", reason="the benchmark payloads are built by flytekit's type engine (flytekit extra)")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--servers", "empty-aio,empty-threadpool",
         "--methods", "GetTask", "--concurrency", "4", "--seconds", "0.3", "--repetitions", "2",
         "--out-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not (tmp_path / "RESULTS.md").exists(), "quick mode must not write the full results"
    results = json.loads((tmp_path / "results-quick.json").read_text())

    assert [s["server"] for s in results["servers"]] == ["empty-aio", "empty-threadpool"]
    points = []
    for server in results["servers"]:
        assert "error" not in server, server.get("error")
        assert server["idle_rss_mib"] > 0 and server["peak_rss_mib"] >= server["idle_rss_mib"]
        [point] = server["points"]
        assert point["status"] == "ok", point.get("note")
        assert len(point["runs"]) == 2
        for run in point["runs"]:
            assert run["verified"] and run["server_counted"] == run["requests"] == run["h2load_succeeded"]
        assert point["median"]["rps"] > 0 and 0 < point["median"]["p50_ms"] <= point["median"]["p99_ms"]
        points.append(point)
    # Interleaved: every server's first repetition ran before any server's second.
    assert max(p["runs"][0]["started"] for p in points) < min(p["runs"][1]["started"] for p in points)

    micro = results["micro"]
    assert not micro["missing"], micro["missing"]
    assert {r["message"] for r in micro["rows"]} == {"CreateTaskRequest", "GetTaskResponse"}
    assert all(r["parse_us"] > 0 and r["wire_us"] > 0 and r["msg_us"] > 0 for r in micro["rows"])

    text = (tmp_path / "RESULTS-quick.md").read_text()
    assert "## Machine" in text and "empty grpc.aio servicer" in text and "CreateTaskRequest" in text


def test_profile_summary_counts_own_and_inclusive_time_and_picks_project_frames() -> None:
    from benchmarks.profile import summarize

    collapsed = "\n".join([
        "main (x.py:1);Handle._run (asyncio/events.py:80) 6",
        "main (x.py:1);handler (modern/face.py:83);decode (translators/_literals_decode.py:9) 3",
        "main (x.py:1);handler (modern/face.py:83) 1",
        "garbage line",
    ])
    total, own, incl, project = summarize(collapsed, top=3)
    assert total == 10
    assert own[0] == ("Handle._run (asyncio/events.py:80)", 6)
    assert incl[0] == ("main (x.py:1)", 10)
    assert project == [("handler (modern/face.py:83)", 4), ("decode (translators/_literals_decode.py:9)", 3)]


def test_latency_percentiles_are_nearest_rank() -> None:
    from benchmarks.h2load import H2Result

    res = H2Result(requests=100, succeeded=100, seconds=1.0, rps=100.0, latencies_us=[1000 * i for i in range(1, 101)])
    assert res.percentile_ms(50) == 50.0
    assert res.percentile_ms(99) == 99.0
    assert res.percentile_ms(100) == 100.0


def test_endurance_growth_is_the_rss_slope_per_call_and_the_table_flags_the_target() -> None:
    from benchmarks import endurance, report

    def record(mode: str, rss_kib: list[int]) -> dict:
        samples = [{"calls": i * 1000, "rss_kib": kib, "threads": 40, "engine_threads": 4, "tasks": 1.0, "rps": 900.0}
                   for i, kib in enumerate(rss_kib)]
        rec = {"mode": mode, "generation": "v2", "method": "GetTask", "status": "ok", "samples": samples}
        endurance.summarize(rec)
        return rec

    # Noise around a flat line: the slope sees half the growth the end-to-end difference does.
    flat = record("threads", [50_000, 50_004, 49_999, 50_003, 50_001, 50_004])
    assert abs(flat["slope_bytes_per_call"]) < 0.5 and flat["end_bytes_per_call"] == pytest.approx(0.8192)
    growing = record("aio", [50_000, 50_010, 50_020, 50_030])  # 10 KiB per 1,000 calls
    assert growing["slope_bytes_per_call"] == pytest.approx(10.24) and growing["threads_growth"] == 0
    text = "\n".join(report._endurance({"endurance": [flat, growing], "endurance_plan": {"batch": 1000}}))
    rows = [line for line in text.splitlines() if line.startswith("| threads") or line.startswith("| aio")]
    assert len(rows) == 2 and "over target" not in rows[0] and "over target" in rows[1]
    assert "40 -> 40 (+ gRPC engine 4 -> 4)" in rows[0]


def _start_empty(*args: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.empty_server", "--port", "0", "--metrics-port", "0", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    assert line, "empty server did not announce its ports"
    return proc, json.loads(line)["grpc_port"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["aio", "threadpool"])
def test_empty_relay_forwards_the_bytes_unchanged(mode: str) -> None:
    import grpc

    from benchmarks import payloads

    upstream, up_port = _start_empty()
    relay, relay_port = _start_empty("--mode", mode, "--upstream", f"127.0.0.1:{up_port}")
    try:
        path = payloads.rpc_path("v1", "GetTask")
        request = payloads.request_bytes("v1", "GetTask")
        with grpc.insecure_channel(f"127.0.0.1:{up_port}") as ch:
            direct = ch.unary_unary(path)(request, timeout=10)
        with grpc.insecure_channel(f"127.0.0.1:{relay_port}") as ch:
            call = ch.unary_unary(path)
            assert call(request, timeout=10) == direct  # the upstream's own bytes (map order is per process)
            assert type(payloads.get_task_response_v1()).FromString(direct) == payloads.get_task_response_v1()
            assert call(request) == direct  # no deadline: none passed on
    finally:
        for proc in (relay, upstream):
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()  # type: ignore[union-attr]


def test_gateway_table_judges_targets_against_the_empty_relay() -> None:
    from benchmarks import report

    def point(server: str, gen: str, conc: int, rps: float, p50: float) -> dict:
        return {"server": server, "label": server, "points": [
            {"server": server, "generation": gen, "method": "GetTask", "concurrency": conc, "status": "ok",
             "median": {"rps": rps, "p50_ms": p50, "p99_ms": p50 * 2}}]}

    def table(gateway_c1_p50: float, gateway_c16_rps: float) -> list[str]:
        servers = []
        for conc, (d, relay, gw) in {1: ((2000, 0.5), (800, 1.3), (600, gateway_c1_p50)),
                                     16: ((2000, 8.0), (1900, 8.4), (gateway_c16_rps, 9.0))}.items():
            servers += [point("flytekit", "v1", conc, *d), point("relay-threadpool", "v1", conc, *relay),
                        point("relay-aio", "v1", conc, relay[0] / 2, relay[1] * 2), point("gateway", "v1", conc, *gw)]
        merged: dict[str, dict] = {}
        for s in servers:
            merged.setdefault(s["server"], {**s, "points": []})["points"] += s["points"]
        results = {"gateway": list(merged.values()), "plan": {"methods": ["GetTask"], "concurrency": [1, 16]}}
        return [line for line in report._gateway(results) if line.startswith("| GetTask")]

    c1, c16 = table(1.5, 1700)
    assert "+1.00 ms p50: **missed** (beyond what the empty server reaches) (floor +0.80 ms)" in c1
    assert "| 0.85 | 0.89 |" in c16 and "**missed** (floor 0.95x)" in c16  # ratio to direct, to the floor
    _, c16 = table(1.5, 1850)
    assert c16.endswith("| met (floor 0.95x) |")


def test_a_deadline_is_sent_as_grpc_timeout_only_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from benchmarks import h2load

    seen: list[list[str]] = []

    def fake_run(argv: list[str], **_: object) -> subprocess.CompletedProcess:
        seen.append(argv)
        log = next(a for a in argv if a.startswith("--log-file=")).split("=", 1)[1]
        Path(log).write_text("0 200 500\n")
        out = "finished in 1.00s, 1.00 req/s, 1B/s\nrequests: 1 total, 1 started, 1 done, 1 succeeded, 0 failed, 0 errored, 0 timeout\nstatus codes: 1 2xx, 0 3xx, 0 4xx, 0 5xx\n"
        return subprocess.CompletedProcess(argv, 0, out, "")

    monkeypatch.setattr(h2load.subprocess, "run", fake_run)
    for deadline in (None, 10.0, 0.0001):
        res = h2load.run("h2load", "http://127.0.0.1:1/s/M", tmp_path / "d", 1, 1, tmp_path / "log", deadline_s=deadline)
        assert res.succeeded == 1 and res.latencies_us == [500]
    headers = [[argv[i + 1] for i, a in enumerate(argv) if a == "-H"] for argv in seen]
    assert [h for h in headers[0] if h.startswith("grpc-timeout")] == []
    assert "grpc-timeout: 10000m" in headers[1] and "grpc-timeout: 1m" in headers[2]
    assert all(argv[-1] == "http://127.0.0.1:1/s/M" for argv in seen)  # the URL stays last


# The real-work figures (issue 25), each in a tiny form: real servers, the real driver, every answer checked,
# then the report section rendered from the record. No timing is asserted.

def _needs_tools() -> None:
    if shutil.which("h2load") is None or shutil.which("taskset") is None:
        pytest.skip("needs h2load (Debian nghttp2-client) and taskset; `make bench` installs h2load itself")
    pytest.importorskip("flytekit", reason="the figures serve flytekit connectors (flytekit extra)")
    pytest.importorskip("flyte", reason="the figures serve flyte-sdk connectors (flyte extra)")


def _section(render, results: dict) -> str:
    return "\n".join(render(results))


@pytest.mark.timeout(120)
def test_waiting_figure_checks_every_answer_and_reports_blocking_concurrency(tmp_path: Path) -> None:
    _needs_tools()
    from benchmarks import report_work, waiting

    plan = waiting.WaitPlan(inflight=(8,), wait_s=0.1, warmup_s=0.3, measure_s=0.5, repetitions=1,
                            blocking_inflight=12, blocking_warmup_s=0.3, mixed_inflight=8, generations=("v2",))
    fig = waiting.run(plan, tmp_path, tmp_path / "logs", only=("bridge", "flyte-sdk"))
    assert [s["server"] for s in fig["servers"]] == ["bridge", "flyte-sdk"]
    for server in fig["servers"]:
        assert "error" not in server, server.get("error")
        assert [(r["connector"], r["status"]) for r in server["rows"]] == [("async", "ok"), ("blocking", "ok"),
                                                                          ("mixed", "ok")], server["rows"]
        for row in server["rows"]:
            for run in row["runs"]:
                assert run["errors"] == 0 and run["ok"] > 0 and run["verified"]
        async_row = server["rows"][0]
        assert async_row["runs"][0]["server_counted"] == async_row["runs"][0]["ok"]  # every call the server's too
        assert async_row["median"]["p50_ms"] >= plan.wait_s * 1e3  # the connector really waited
    # 12 blocking calls in flight: the bridge runs --worker (10) at once, c0's asyncio.to_thread fewer than 12.
    blocking = {s["server"]: s["rows"][1]["median"]["at_once"] for s in fig["servers"]}
    assert blocking["flyte-sdk"] < 11.5
    text = _section(report_work.waiting, {"waiting": fig, "machine": {"cores": 2}})
    assert "| flyte-sdk c0 | v2 | 8 |" in text and "blocking calls at once" in text


@pytest.mark.timeout(120)
def test_real_io_figure_reaches_the_http_api_once_per_call(tmp_path: Path) -> None:
    _needs_tools()
    from benchmarks import realio, report_work

    plan = realio.RealIOPlan(concurrency=(2,), warmup_s=0.2, measure_s=0.5, repetitions=1)
    fig = realio.run(plan, tmp_path, tmp_path / "logs", only=("bridge", "flytekit"))
    rows = {(s["server"], r["workload"]): r for s in fig["servers"] for r in s["rows"]}
    assert set(rows) == {("bridge", "execute-sync"), ("bridge", "create-get"), ("flytekit", "execute-sync")}
    for row in rows.values():
        assert row["status"] == "ok", row.get("note")
        [run] = row["runs"]
        assert run["upstream_counted"] == run["ok"] > 0 and run["errors"] == 0
    assert rows[("bridge", "create-get")]["runs"][0]["server_counted"] == 2 * rows[("bridge", "create-get")]["runs"][0]["ok"]
    [floor] = fig["floor"]
    assert floor["status"] == "ok" and floor["median"]["p50_ms"] >= plan.delay_ms
    text = _section(report_work.real_io, {"real_io": fig})
    assert "| v1 ExecuteTaskSync | 2 |" in text and "| v2 CreateTask + GetTask | 2 |" in text


@pytest.mark.timeout(150)
def test_payload_figure_counts_server_cpu_per_call_against_one_parse(tmp_path: Path) -> None:
    _needs_tools()
    from benchmarks import payload_size, report_work

    plan = payload_size.PayloadPlan(sizes=("1KB", "64KB"), seconds=0.1, min_calls=3, repetitions=1,
                                    micro_budget_s=0.002, micro_repeats=1)
    fig = payload_size.run(plan, shutil.which("h2load"), tmp_path, tmp_path / "logs", only=("bridge", "flyte-sdk"))
    for server in fig["servers"]:
        gens = ("v1", "v2") if server["server"] == "bridge" else ("v2",)
        assert [(r["size"], r["generation"], r["status"]) for r in server["rows"]] == [
            (size, gen, "ok") for size in plan.sizes for gen in gens], server["rows"]
        for r in server["rows"]:
            assert r["cpu_us_per_call"] > 0 and r["cpu_vs_parse"] > 1  # a server does more than one parse
    big = payload_size.request("v1", "64KB").ByteSize()
    assert 48_000 < big < 80_000  # sized by its inputs, not by a guess
    assert {(m["size"], m["direction"]) for m in fig["micro"]} == {
        (s, d) for s in plan.sizes for d in ("v1 -> v2", "v2 -> v1")}
    text = _section(report_work.payload, {"payload": fig})
    assert "| 64KB | v2 |" in text and "Is CPU linear in size?" in text


@pytest.mark.timeout(90)
def test_jitter_figure_sets_slow_calls_beside_gc_passes(tmp_path: Path) -> None:
    _needs_tools()
    from benchmarks import jitter, report_work

    fig = jitter.run(jitter.JitterPlan(seconds=0.2, repetitions=1, idle_s=0.2), shutil.which("h2load"), tmp_path,
                     tmp_path / "logs")
    runs = {s["server"]: s["runs"] for s in fig["servers"]}
    assert set(runs) == {"bridge", "empty-aio", "empty-sharedloop", "bridge-aio"}
    for server_runs in runs.values():
        [run] = server_runs
        assert run["verified"] and run["p50_ms"] <= run["p99_ms"] <= run["max_ms"]
        assert 0 <= run["slow_with_gc"] <= run["slow_calls"] <= run["requests"]
    log = (tmp_path / "bridge-gc.log").read_text().split("\n")
    assert log[0] and len(log[0].split()) == 3  # the bridge logged its GC passes (start-up collections at least)
    assert fig["canary"]["cpu_share"] > 0
    text = _section(report_work.jitter, {"jitter": fig})
    assert "Slow calls per 1,000 calls" in text and "Canary" in text and "Reading:" in text


def test_work_targets_are_judged_against_the_sdk_servers() -> None:
    from benchmarks import report_work

    def row(connector: str, k: int, of_ideal: float, added_p99: float, rss: float) -> dict:
        return {"connector": connector, "generation": "v1", "inflight": k, "status": "ok", "runs": [],
                "median": {"rps": k * of_ideal, "ideal_rps": float(k), "of_ideal": of_ideal, "added_p50_ms": 1.0,
                           "added_p99_ms": added_p99, "rss_per_call_kib": rss, "at_once": 10.0, "p50_ms": 1000.0}}

    servers = [{"server": "bridge", "label": "bridge", "rows": [row("async", 1024, 0.97, 4.0, 3.0),
                                                                 row("async", 4096, 0.70, 40.0, 3.5)]},
               {"server": "flytekit", "label": "flytekit", "rows": [row("async", 4096, 0.6, 90.0, 6.0)]},
               {"server": "flyte-sdk", "label": "flyte-sdk", "rows": [row("async", 4096, 0.5, 99.0, 4.0)]}]
    plan = {"wait_s": 1.0, "repetitions": 1, "measure_s": 5, "warmup_s": 3, "inflight": [1024, 4096],
            "mixed_inflight": 1024, "blocking_inflight": 32}
    text = _section(report_work.waiting, {"waiting": {"plan": plan, "servers": servers}})
    target_rows = [line for line in text.splitlines() if line.startswith("| ≥") or line.startswith("| ≤")
                   or line.startswith("| less")]
    assert target_rows[0].split(" | ")[1] == "97% met"  # 1,024 in flight
    assert target_rows[1].split(" | ")[1] == "70% **missed**"  # 4,096
    assert target_rows[2].split(" | ")[1] == "4.0 ms met"
    assert target_rows[3].split(" | ")[1] == "3.5 KiB met"  # below flyte-sdk's 4.0 and flytekit's 6.0
