"""``python serve_agent.py PROMETHEUS_PORT --port P ...``: ``pyflyte serve agent`` of an old flytekit with
its Prometheus server moved off the fixed port 9090 (flytekit 1.10-1.15 bind 9090 unconditionally), so
that test runs in parallel cannot clash. Run with the old flytekit's own Python."""

import sys

import prometheus_client

port = int(sys.argv.pop(1))
_start = prometheus_client.start_http_server
prometheus_client.start_http_server = lambda _fixed, *args, **kwargs: _start(port, *args, **kwargs)

from flytekit.clis.sdk_in_container.pyflyte import main  # noqa: E402

sys.argv = ["pyflyte", "serve", "agent", *sys.argv[1:]]
main()
