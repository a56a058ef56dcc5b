"""Prometheus metrics on their own port.

The metric families themselves (``flyte_connector_requests_success_total``,
``flyte_connector_requests_failure_total{error_code}``, ``flyte_connector_request_latency_seconds``,
``flyte_connector_input_literal_bytes``, the names both SDKs use) are defined once by the hub
(``modern``) in the default registry; this module only exposes that registry, which also carries
prometheus_client's default process and platform collectors.

With ``--workers N`` every worker is its own process with its own registry, and each worker
exposes it on **its own port: ``prometheus_port + i``** for worker ``i`` (0-based). We chose this
over prometheus_client's multiprocess mode because that mode drops the process collectors
(CPU, memory, open fds per worker are what operators want to see), needs a shared writable
directory and must be set up before any metric is created. Scrape all N ports (one
``PodMonitor`` endpoint per port, or a port range).
"""

from __future__ import annotations

import importlib
import logging
import socket
import socketserver
import threading
from wsgiref import simple_server
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DISABLED = -1
"""``--prometheus_port -1`` turns the metrics endpoint off; ``0`` picks a free port."""


@dataclass
class MetricsEndpoint:
    """A running metrics HTTP server."""

    port: int
    httpd: Any

    def close(self) -> None:
        """Stop serving metrics."""
        self.httpd.shutdown()
        self.httpd.server_close()


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        """Scrapes are not worth a log line each."""


def _serve_registry(port: int, addr: str) -> simple_server.WSGIServer:
    """The default registry over HTTP on a daemon thread; returns the server (its real port).

    prometheus_client's own ``start_http_server`` returns its server only from 0.20; its WSGI app,
    public since long before the declared floor (0.17), served by the stdlib, works on every version.
    """
    from prometheus_client import make_wsgi_app

    family = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    server_class = type("_MetricsServer", (_ThreadingWSGIServer,), {"address_family": family})
    httpd = simple_server.make_server(addr, port, make_wsgi_app(), server_class, handler_class=_QuietHandler)
    threading.Thread(target=httpd.serve_forever, name="prometheus-metrics", daemon=True).start()
    return httpd


def worker_port(base: int, worker_index: int) -> int:
    """The metrics port of worker ``worker_index`` (see the module docstring).

    Args:
        base: ``--prometheus_port``.
        worker_index: 0-based worker number.

    Returns:
        ``base + worker_index``, or ``base`` unchanged when it is 0 (free port) or disabled.
    """
    if base <= 0:
        return base
    return base + worker_index


def _register_hub_metrics() -> None:
    # The hub creates its collectors on first use (once per process); do it now so the names
    # are on /metrics before the first request, as with the SDK servers.
    try:
        module = importlib.import_module("modern.metrics")
    except ImportError:
        return
    create = getattr(module, "request_metrics", None)
    if callable(create):
        create()


_UPSTREAM_UP: Any = None


def upstream_up_gauge() -> Any:
    """``flyte_bridge_upstream_up{upstream}``: 1 while an upstream is reachable, else 0.

    Calls move it first (a transport failure sets 0, an answer 1), the metadata probe while none come
    (``bridge.upstream.manager``).

    Created once per process, in the default registry (so ``/metrics`` shows it).
    """
    global _UPSTREAM_UP
    if _UPSTREAM_UP is None:
        from prometheus_client import Gauge

        _UPSTREAM_UP = Gauge(
            "flyte_bridge_upstream_up", "Whether an upstream connector server answers (1) or not (0).", ["upstream"]
        )
    return _UPSTREAM_UP


def start_metrics(port: int, addr: str = "0.0.0.0") -> MetricsEndpoint | None:
    """Expose the default Prometheus registry over HTTP.

    Args:
        port: The port; 0 picks a free one, :data:`DISABLED` (-1) starts nothing.
        addr: The address to bind.

    Returns:
        The endpoint (with its real port), or None when disabled.

    Raises:
        OSError: When the port cannot be bound (the message names the port and the flag).
    """
    if port == DISABLED:
        return None
    _register_hub_metrics()
    try:
        httpd = _serve_registry(port, addr)
    except OSError as exc:
        raise OSError(exc.errno, f"Prometheus metrics cannot listen on {addr}:{port} ({exc.strerror or exc}): "
                                 f"choose another port with --prometheus_port N (-1: no metrics endpoint); "
                                 f'with make: make serve ARGS="--prometheus_port {port + 1 if port > 0 else 9091}"') from None
    bound = int(httpd.server_port)
    log.info("Prometheus metrics on http://%s:%d/metrics", addr, bound)
    return MetricsEndpoint(bound, httpd)
