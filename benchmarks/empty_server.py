"""The floor: gRPC servers that answer GetTask and CreateTask with constant bytes and do nothing else.

Four flavours, all serving the v1 ``AsyncAgentService`` and the v2 ``AsyncConnectorService``:

* ``--mode aio`` (default): a ``grpc.aio`` server with async handlers;
* ``--mode threadpool``: a classic ``grpc.server`` with a thread pool;
* ``--mode loopthread``: a thread-pool ``grpc.server`` whose handlers hand a coroutine to one event
  loop in its own thread and wait for it (``asyncio.run_coroutine_threadsafe``: the hand-off);
* ``--mode sharedloop``: the bridge's architecture, empty: the same, with the loop a
  ``modern.shared_loop.SharedLoop``, so a coroutine starts in the handler's thread while the loop is idle.

With ``--upstream TARGET`` the aio and threadpool servers are the gateway's floor instead: each call's
request bytes are forwarded unchanged to the same method of ``TARGET`` (a ``grpc.aio`` channel from the
aio server, a blocking call on a plain ``grpc`` channel from the thread pool's handler) and the
upstream's answer bytes returned: one Python gRPC server call plus one Python gRPC client call.

Handlers are registered without (de)serializers, so the request is never parsed and the response is
pre-serialized: what is left is the cost of gRPC and of the Python call itself. Every call increments
an in-process counter that is served in the Prometheus text format under the same name the SDK
servers use (``flyte_connector_requests_success_total``), so the harness verifies every point the
same way whatever the server.

Run: ``python -m benchmarks.empty_server --port 0 --metrics-port 0 [--mode threadpool]``; the bound
ports are printed as one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import grpc

from benchmarks import payloads
from modern.face import seconds_left
from modern.shared_loop import SharedLoop, submit

# The thread-pool handlers run concurrently, so the counter takes a lock (tens of ns per call).
_LOCK = threading.Lock()
_COUNT = [0]


def _bump() -> None:
    with _LOCK:
        _COUNT[0] += 1


def _constant_responses() -> dict[tuple[str, str], bytes]:
    """Pre-serialized responses, keyed by (service, method)."""
    v1_create = payloads._gen.v1.CreateTaskResponse(resource_meta=payloads.RESOURCE_META).SerializeToString()
    v2_create = payloads._gen.v2.CreateTaskResponse(resource_meta=payloads.RESOURCE_META).SerializeToString()
    return {
        (payloads.V1_SERVICE, "GetTask"): payloads.get_task_response_v1().SerializeToString(),
        (payloads.V1_SERVICE, "CreateTask"): v1_create,
        (payloads.V2_SERVICE, "GetTask"): payloads.get_task_response_v2().SerializeToString(),
        (payloads.V2_SERVICE, "CreateTask"): v2_create,
    }


def _handlers(make: Callable[[bytes], Callable[..., Any]], relay: Callable[[str], Callable[..., Any]] | None = None
              ) -> list[grpc.GenericRpcHandler]:
    """One generic handler per service; ``make`` turns a constant response into a behaviour, ``relay``
    (when given) a method's path into a forwarding behaviour instead."""
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for (service, method), body in _constant_responses().items():
        behaviour = make(body) if relay is None else relay(f"/{service}/{method}")
        by_service.setdefault(service, {})[method] = grpc.unary_unary_rpc_method_handler(behaviour)
    return [grpc.method_handlers_generic_handler(s, m) for s, m in by_service.items()]


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = (
            "# TYPE flyte_connector_requests_success_total counter\n"
            f"flyte_connector_requests_success_total {_COUNT[0]}.0\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature fixed by base)
        return  # keep stderr quiet: the harness keeps server logs


def _start_metrics(port: int) -> int:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _Metrics)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return int(httpd.server_address[1])


def _announce(grpc_port: int, metrics_port: int) -> None:
    print(json.dumps({"grpc_port": grpc_port, "metrics_port": metrics_port}), flush=True)


async def _serve_aio(port: int, metrics_port: int, upstream: str | None = None) -> None:
    def make(body: bytes) -> Callable[..., Any]:
        async def handler(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            _bump()
            return body

        return handler

    channel = grpc.aio.insecure_channel(upstream) if upstream else None

    def relay(path: str) -> Callable[..., Any]:
        forward = channel.unary_unary(path)  # type: ignore[union-attr]

        async def handler(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            answer = await forward(request, timeout=seconds_left(context))
            _bump()
            return answer  # type: ignore[no-any-return]

        return handler

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(_handlers(make, relay if channel is not None else None))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    _announce(bound, _start_metrics(metrics_port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0)


def _serve_sync(port: int, metrics_port: int, workers: int, make: Callable[[bytes], Callable[..., Any]],
                relay: Callable[[str], Callable[..., Any]] | None = None) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    server.add_generic_rpc_handlers(_handlers(make, relay))
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    _announce(bound, _start_metrics(metrics_port))
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop(0)


def _serve_threadpool(port: int, metrics_port: int, workers: int, upstream: str | None = None) -> None:
    def make(body: bytes) -> Callable[..., Any]:
        def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
            _bump()
            return body

        return handler

    channel = grpc.insecure_channel(upstream) if upstream else None

    def relay(path: str) -> Callable[..., Any]:
        forward = channel.unary_unary(path)  # type: ignore[union-attr]

        def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
            answer = forward(request, timeout=seconds_left(context))
            _bump()
            return answer  # type: ignore[no-any-return]

        return handler

    _serve_sync(port, metrics_port, workers, make, relay if channel is not None else None)


def _serve_on_loop(port: int, metrics_port: int, workers: int, loop: asyncio.AbstractEventLoop) -> None:
    # What modern.face.LoopRunner does (no cancellation wiring: constant answers): on a SharedLoop a
    # coroutine starts in the handler's thread while the loop is idle, on a plain loop it is handed over.
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def make(body: bytes) -> Callable[..., Any]:
        async def answer() -> bytes:
            _bump()
            return body

        def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
            return submit(answer(), loop).result()

        return handler

    _serve_sync(port, metrics_port, workers, make)


def main(argv: list[str] | None = None) -> int:
    """Entry point: serve until SIGTERM/SIGINT.

    Args:
        argv: command-line arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--metrics-port", type=int, default=0)
    parser.add_argument("--mode", choices=("aio", "threadpool", "loopthread", "sharedloop"), default="aio")
    parser.add_argument("--workers", type=int, default=10, help="thread-pool size (all but aio)")
    parser.add_argument("--upstream", help="forward every call's bytes to this gRPC target (aio, threadpool)")
    args = parser.parse_args(argv)
    if args.upstream and args.mode not in ("aio", "threadpool"):
        parser.error("--upstream needs --mode aio or threadpool")
    if args.mode == "aio":
        asyncio.run(_serve_aio(args.port, args.metrics_port, args.upstream))
    elif args.mode == "threadpool":
        _serve_threadpool(args.port, args.metrics_port, args.workers, args.upstream)
    elif args.mode == "sharedloop":
        _serve_on_loop(args.port, args.metrics_port, args.workers, SharedLoop())
    else:
        _serve_on_loop(args.port, args.metrics_port, args.workers, asyncio.new_event_loop())
    return 0


if __name__ == "__main__":
    sys.exit(main())
