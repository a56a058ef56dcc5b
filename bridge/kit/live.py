"""The live progress lines of ``flyte-bridge run`` and its side-by-side summary.

On a terminal there is one line per generation, rewritten in place; otherwise (a pipe, CI) a plain
line is printed when a generation's phase, message or log links change, and at least every
``HEARTBEAT`` seconds while it runs.
"""

from __future__ import annotations

import shutil
import time
from typing import Any, TextIO

from bridge.kit.clients import Outcome
from bridge.kit.values import show
from bridge.table import _grid

HEARTBEAT = 10.0
CLIENT_NAMES = {"v1": "v1 FlytePropeller", "v2": "v2 Flyte 2 executor"}


def status_line(o: Outcome) -> str:
    """``v1 FlytePropeller  RUNNING  3.2s  message  logs: name=uri``."""
    parts = [CLIENT_NAMES[o.generation].ljust(19), o.phase.ljust(16), f"{o.elapsed():6.1f}s"]
    if o.sync:
        parts.append("(sync)")
    if o.message:
        parts.append(o.message)
    if o.log_links:
        parts.append("logs: " + ", ".join(f"{n}={u}" for n, u in o.log_links))
    return "  ".join(parts)


class LiveLines:
    """Shows each generation's progress as it changes.

    Args:
        out: Where to write.
        generations: The generations shown, in order.
        tty: Rewrite lines in place (default: whether ``out`` is a terminal).
    """

    def __init__(self, out: TextIO, generations: list[str], tty: bool | None = None) -> None:
        self.out = out
        self.generations = generations
        self.tty = out.isatty() if tty is None else tty
        self._shown: dict[str, tuple[Any, ...]] = {}
        self._printed_at: dict[str, float] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._drawn = False

    def update(self, o: Outcome) -> None:
        """Show ``o``'s current state."""
        self._outcomes[o.generation] = o
        if self.tty:
            self._redraw()
            return
        key = (o.phase, o.message, tuple(o.log_links))
        now = time.monotonic()
        if key != self._shown.get(o.generation) or now - self._printed_at.get(o.generation, now) >= HEARTBEAT:
            self._shown[o.generation], self._printed_at[o.generation] = key, now
            print(status_line(o), file=self.out, flush=True)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; on a terminal, keep the elapsed times ticking meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(0.5, left))
            if self.tty and self._outcomes:
                self._redraw()

    def _redraw(self) -> None:
        width = shutil.get_terminal_size((120, 20)).columns - 1
        if self._drawn:
            self.out.write(f"\x1b[{len(self.generations)}F")  # back to the first line of the block
        for g in self.generations:
            o = self._outcomes.get(g)
            line = status_line(o) if o is not None else f"{CLIENT_NAMES[g].ljust(19)}  NOT_STARTED"
            self.out.write("\x1b[2K" + line[:width] + "\n")
        self._drawn = True
        self.out.flush()


def outputs_table(outcomes: list[Outcome]) -> tuple[list[str], list[str]]:
    """The outputs side by side (one column per generation) and the differences between them."""
    names = sorted({n for o in outcomes for n in (o.outputs or {})})
    rows = []
    for name in names:
        rows.append([name] + [show(o.outputs[name]) if o.outputs and name in o.outputs else "-" for o in outcomes])
    lines = _grid(["output"] + [CLIENT_NAMES[o.generation] for o in outcomes], rows) if rows else []
    diffs: list[str] = []
    if len(outcomes) == 2:
        a, b = outcomes
        if a.phase != b.phase:
            diffs.append(f"phase: v1 {a.phase}, v2 {b.phase}")
        if a.succeeded and b.succeeded:
            for name in names:
                va, vb = (a.outputs or {}).get(name, "<missing>"), (b.outputs or {}).get(name, "<missing>")
                if va != vb:
                    diffs.append(f"output {name}: v1 {show(va)}, v2 {show(vb)}")
    return lines, diffs


__all__ = ["HEARTBEAT", "LiveLines", "outputs_table", "status_line"]
