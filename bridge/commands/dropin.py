"""The ``flyteconnector`` chart's commands, answered by the bridge: ``c0`` and ``pyflyte serve agent|connector``.

The chart starts its container with flyte-sdk's ``c0`` (Flyte 2) or flytekit's ``pyflyte serve agent`` /
``pyflyte serve connector`` (Flyte 1), with the flags ``--port --prometheus_port --worker --timeout
--modules``. ``flyte-bridge serve`` takes the same flags with the same defaults (8000, 9090, 10), so each
command maps onto it unchanged and an operator changes only ``image:`` in the chart's values.

These entry points are installed only in the container image (``deploy/bin/c0``, ``deploy/bin/pyflyte``,
first on its ``PATH``), never as console scripts of the package: flyte-sdk and flytekit own those names,
and their real commands stay in the image's venv (``/opt/bridge/bin``).

``FLYTE_BRIDGE_ARGS`` (split like a shell command line) adds bridge flags the chart has no value for,
e.g. ``--log-format json --grace 20`` through the chart's ``podEnv``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence

EXTRA_ARGS_ENV = "FLYTE_BRIDGE_ARGS"
PYFLYTE_SERVE_COMMANDS = ("agent", "connector")


def serve_argv(flags: Sequence[str], environ: dict[str, str] | None = None) -> list[str]:
    """The ``flyte-bridge`` arguments for an SDK server's flags.

    Args:
        flags: The flags given to ``c0`` or ``pyflyte serve agent|connector``.
        environ: Where ``FLYTE_BRIDGE_ARGS`` is read (default: the process environment).

    Returns:
        ``["serve", *flags, *extra]``; a flag given twice takes its last value (argparse), so the
        command line's flags come first and ``FLYTE_BRIDGE_ARGS`` can add to them.
    """
    extra = (os.environ if environ is None else environ).get(EXTRA_ARGS_ENV, "")
    return ["serve", *flags, *shlex.split(extra)]


def _run(name: str, flags: Sequence[str]) -> int:
    from bridge.commands.cli import main

    argv = serve_argv(flags)
    print(f"{name}: served by flyte-connector-bridge: flyte-bridge {shlex.join(argv)}", file=sys.stderr, flush=True)
    return main(argv)


def c0_main(argv: Sequence[str] | None = None) -> int:
    """``c0 [--port N] [--prometheus_port N] [--worker N] [--timeout S] [--modules M ...]``.

    Returns:
        The exit code of ``flyte-bridge serve``.
    """
    return _run("c0", list(sys.argv[1:] if argv is None else argv))


def pyflyte_main(argv: Sequence[str] | None = None) -> int:
    """``pyflyte serve agent|connector [flags]``; any other ``pyflyte`` command fails with exit code 2.

    Returns:
        The exit code of ``flyte-bridge serve``, or 2 for a command this drop-in does not answer.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 2 and args[0] == "serve" and args[1] in PYFLYTE_SERVE_COMMANDS:
        return _run(f"pyflyte serve {args[1]}", args[2:])
    got = shlex.join(["pyflyte", *args])
    lines = [
        f"pyflyte: `{got}` is not served here.",
        "This image's pyflyte is flyte-connector-bridge's drop-in for the flyteconnector chart: it answers "
        "only `pyflyte serve agent [flags]` and `pyflyte serve connector [flags]` (flags: --port "
        "--prometheus_port --worker --timeout --modules, and any flag of `flyte-bridge serve`).",
    ]
    real = shutil.which("pyflyte", path=os.path.dirname(sys.executable))
    if real and os.path.realpath(real) != os.path.realpath(sys.argv[0] if sys.argv else ""):
        lines.append(f"flytekit's own pyflyte is {real}.")
    print("\n".join(lines), file=sys.stderr)
    return 2
