"""A second bridge in a fresh process: does ``resource_meta`` alone answer GetTask?

``FreshBridge(modules, entry_points=...)`` runs ``python -m bridge serve --port 0`` with the same
connector modules, reads the bound port from its "ready" log line and stops it with SIGTERM (then
SIGKILL) on exit. Nothing of the first process's memory is there: a connector that keeps its jobs in
a dict fails here.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

_READY = re.compile(r"flyte-bridge ready on [^\s:]+:(\d+)")


class FreshBridgeError(RuntimeError):
    """The second process did not start (its last log lines are in the message)."""


class FreshBridge:
    """``flyte-bridge serve`` in a new process on a free loopback port.

    Args:
        modules: Connector modules (``--modules``).
        entry_points: Whether it loads the entry-point groups.
        start_timeout: Seconds to wait for the ready line.
    """

    def __init__(self, modules: Sequence[str] = (), *, entry_points: bool = True, start_timeout: float = 90.0) -> None:
        self.modules = list(modules)
        self.entry_points = entry_points
        self.start_timeout = start_timeout
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="flyte-bridge-fresh-", suffix=".log", delete=False)

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>`` once started."""
        return f"127.0.0.1:{self.port}"

    def launch(self) -> FreshBridge:
        """Start the process (returns at once; ``wait_ready`` blocks)."""
        argv = [sys.executable, "-m", "bridge", "serve", "--host", "127.0.0.1", "--port", "0",
                "--prometheus_port", "-1", "--grace", "1", "--log-level", "INFO", "--no-reflection"]
        if not self.entry_points:
            argv.append("--no-entry-points")
        if self.modules:
            argv += ["--modules", *self.modules]
        env = dict(os.environ)
        # The modules this process imported must import there too: same cwd, same sys.path.
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and Path(p).is_dir())
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self._log, env=env, cwd=os.getcwd())
        return self

    def wait_ready(self) -> str:
        """Block until the bridge announced its port; return its address.

        Raises:
            FreshBridgeError: The process exited or did not get ready in time.
        """
        if self.port:
            return self.address
        assert self._proc is not None, "launch() first"
        end = time.monotonic() + self.start_timeout
        while time.monotonic() < end:
            found = _READY.search(self._text())
            if found:
                self.port = int(found.group(1))
                return self.address
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = " | ".join(self._text().strip().splitlines()[-3:])[-400:]
        raise FreshBridgeError(f"the second bridge process did not start: {tail or 'no output'}")

    def _text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; remove the log."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> FreshBridge:
        return self.launch()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["FreshBridge", "FreshBridgeError"]
