"""The --workers supervisor with stand-in children (small Python processes, no gRPC)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from bridge.server import workers
from bridge.server.workers import supervise

pytestmark = pytest.mark.timeout(60)

_WAIT_FOR_TERM = (
    "import signal, sys, time, pathlib\n"
    "signal.signal(signal.SIGTERM, lambda *a: (pathlib.Path(sys.argv[1]).write_text('term'), sys.exit(0)))\n"
    "pathlib.Path(sys.argv[1] + '.up').write_text('up')\n"
    "time.sleep(30)\n"
    "sys.exit(3)\n"
)


def _kill_self_when(paths: list[Path], timeout: float = 15.0) -> threading.Thread:
    def _run() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(p.exists() for p in paths):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    t = threading.Thread(target=_run, daemon=True)
    t.start()
    return t


def test_sigterm_is_forwarded_to_every_worker(tmp_path: Path) -> None:
    marks = [tmp_path / f"w{i}" for i in range(2)]
    _kill_self_when([Path(str(m) + ".up") for m in marks])
    started = time.monotonic()
    code = supervise(2, lambda i: [sys.executable, "-c", _WAIT_FOR_TERM, str(marks[i])], grace=5)
    assert code == 0
    assert all(m.read_text() == "term" for m in marks)
    assert time.monotonic() - started < 15
    # The supervisor restored the previous handler (pytest's default).
    assert signal.getsignal(signal.SIGTERM) is not None


def test_crashed_worker_is_restarted(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    script = (
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1]); n = int(p.read_text()) if p.exists() else 0\n"
        "p.write_text(str(n + 1))\n"
        "sys.exit(7 if n == 0 else 0)\n"
    )
    assert supervise(1, lambda i: [sys.executable, "-c", script, str(counter)], grace=1) == 0
    assert counter.read_text() == "2"


def test_worker_crashing_forever_gives_up_with_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "MAX_RESTARTS", 2)
    counter = tmp_path / "runs"
    script = (
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1]); p.write_text(str(int(p.read_text()) + 1 if p.exists() else 1))\n"
        "sys.exit(9)\n"
    )
    assert supervise(1, lambda i: [sys.executable, "-c", script, str(counter)], grace=1) == 1
    assert counter.read_text() == "3"
