"""The ``flyte-bridge`` commands: the parser and what each subcommand does.

:mod:`~bridge.commands.cli` (the parser, ``main``), :mod:`~bridge.commands.serve` (discovery, hub, server,
metrics, the start table), :mod:`~bridge.commands.credentials` (serve's secret flags),
:mod:`~bridge.commands.demo`, :mod:`~bridge.commands.compat`, :mod:`~bridge.commands.run` and
:mod:`~bridge.commands.check` (the connector author's commands, over :mod:`bridge.kit`), and
:mod:`~bridge.commands.dropin` (the image's ``c0`` and ``pyflyte``, mapped onto ``serve``).

Commands use the server's parts (:mod:`bridge.server`), never the other way round.
"""
