"""Driving unary gRPC calls with nghttp2's ``h2load`` and reading back what it measured.

h2load is a native HTTP/2 load generator: with ``-d`` it POSTs a file, so a file holding the 5-byte
gRPC frame prefix and a serialized request, plus the ``content-type: application/grpc`` and
``te: trailers`` headers, is a valid unary gRPC call. ``-c 1 -m N`` keeps N streams in flight on one
connection. h2load only sees the HTTP status (200 even for a failed gRPC call), so the harness checks
every run against the server's own success counter.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
import subprocess
from pathlib import Path

_FINISHED = re.compile(r"finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s")
_REQUESTS = re.compile(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed")
_STATUS = re.compile(r"status codes: (\d+) 2xx")


def ensure_h2load() -> str | None:
    """Return the h2load path, installing Debian's ``nghttp2-client`` if it is missing.

    Returns:
        The path, or None when it is missing and could not be installed (points are then skipped).
    """
    found = shutil.which("h2load")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        return None
    try:
        subprocess.run([apt, "update", "-qq"], check=True, capture_output=True, timeout=300)
        subprocess.run([apt, "install", "-y", "-qq", "nghttp2-client"], check=True, capture_output=True, timeout=300)
    except (subprocess.SubprocessError, OSError):
        return None
    return shutil.which("h2load")


@dataclasses.dataclass
class H2Result:
    """What one h2load run measured.

    Attributes:
        requests: requests issued.
        succeeded: requests h2load counted as done with a 2xx status.
        seconds: wall time h2load reports for the run.
        rps: requests per second as h2load reports it.
        latencies_us: per-request latency from h2load's log file, sorted.
    """

    requests: int
    succeeded: int
    seconds: float
    rps: float
    latencies_us: list[int]

    def percentile_ms(self, q: float) -> float:
        """Latency percentile ``q`` (0-100) in milliseconds, nearest-rank."""
        if not self.latencies_us:
            return float("nan")
        rank = max(0, min(len(self.latencies_us) - 1, math.ceil(q / 100 * len(self.latencies_us)) - 1))
        return self.latencies_us[rank] / 1000.0


def _seconds(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def run(
    h2load: str,
    url: str,
    data_file: Path,
    requests: int,
    concurrency: int,
    log_file: Path,
    cpus: str = "0",
    timeout: float = 300.0,
    connections: int = 1,
    deadline_s: float | None = None,
) -> H2Result:
    """Run h2load once and parse its summary and per-request log.

    Args:
        h2load: the h2load binary.
        url: ``http://127.0.0.1:<port>/<service>/<method>``.
        data_file: the framed request.
        requests: total requests (``-n``).
        concurrency: streams in flight per connection (``-m``).
        log_file: where h2load writes one line per request (start, status, duration in us).
        cpus: ``taskset`` CPU list for the load generator.
        timeout: seconds before the run is abandoned.
        connections: HTTP/2 connections (``-c``); one except for the multi-worker scaling figure,
            where SO_REUSEPORT can only spread whole connections over the workers.
        deadline_s: send this deadline with every request (a ``grpc-timeout`` header), or none.

    Returns:
        The parsed result.

    Raises:
        RuntimeError: h2load failed or its output could not be read.
    """
    argv = [
        "taskset", "-c", cpus, h2load, "-n", str(requests), "-c", str(connections), "-t", "1", "-m", str(concurrency),
        "-d", str(data_file), "-H", "content-type: application/grpc", "-H", "te: trailers",
        f"--log-file={log_file}", url,
    ]
    if deadline_s is not None:
        argv[-1:-1] = ["-H", f"grpc-timeout: {max(1, round(deadline_s * 1000))}m"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout
    fin, req, status = _FINISHED.search(out), _REQUESTS.search(out), _STATUS.search(out)
    if proc.returncode != 0 or not (fin and req and status):
        raise RuntimeError(f"h2load failed (rc={proc.returncode}): {(out + proc.stderr)[-800:]}")
    lat = []
    for line in log_file.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1].startswith("2"):
            lat.append(int(parts[2]))
    lat.sort()
    return H2Result(
        requests=int(req.group(1)),
        succeeded=min(int(req.group(4)), int(status.group(1))),
        seconds=_seconds(fin.group(1), fin.group(2)),
        rps=float(fin.group(3)),
        latencies_us=lat,
    )
