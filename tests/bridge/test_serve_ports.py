"""A port that is taken: ``serve`` says which one and which flag picks another (with make, too)."""

from __future__ import annotations

import socket

from tests.kit._cli import bridge


def test_taken_prometheus_port_names_the_port_and_the_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = bridge("serve", "--host", "127.0.0.1", "--port", "0", "--prometheus_port", str(port),
                      "--no-entry-points", "--timeout", "20", timeout=60)
    assert done.returncode == 1
    err = done.stderr
    assert f"Prometheus metrics cannot listen on 127.0.0.1:{port}" in err
    assert "--prometheus_port N" in err and f'make serve ARGS="--prometheus_port {port + 1}"' in err
    assert "Traceback" not in err


def test_make_serve_passes_args() -> None:
    from tests.kit._cli import REPO

    recipe = (REPO / "Makefile").read_text().split("\nserve:", 1)[1].split("\n\n", 1)[0]
    assert "flyte-bridge serve $(ARGS)" in recipe
