"""A remote API on loopback for the ``real-io`` figure: answers every request after a fixed delay.

``python -m benchmarks.http_upstream --delay-ms 20`` serves ``aiohttp`` on a free port and prints
``{"port": N}`` as one line. ``POST``/``GET /hook`` answers ``{"ok": true, "n": <count>}`` with status 200
after ``--delay-ms`` (the time a real API takes); ``GET /count`` answers how many hooks were answered, so the
harness can check that every call through a connector really reached the remote API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from aiohttp import web


def app(delay_s: float) -> web.Application:
    """The application: ``/hook`` after ``delay_s``, ``/count``."""
    count = [0]

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(delay_s)
        count[0] += 1
        return web.json_response({"ok": True, "n": count[0]})

    async def counted(request: web.Request) -> web.Response:
        return web.json_response({"count": count[0]})

    application = web.Application()
    application.router.add_route("*", "/hook", hook)
    application.router.add_get("/count", counted)
    return application


async def serve(delay_s: float, port: int) -> None:
    """Serve until killed; announce the port on stdout."""
    runner = web.AppRunner(app(delay_s), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"port": bound}), flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--delay-ms``, ``--port`` (0: any free port)."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.http_upstream")
    p.add_argument("--delay-ms", type=float, default=20.0)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    asyncio.run(serve(args.delay_ms / 1000, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
