"""The connector author's kit: what ``flyte-bridge run``, ``flyte-bridge check`` and the pytest plugin share.

- :mod:`bridge.kit.tasks`: a task to run, from a template file or an SDK task object, and the
  minimal template of a category;
- :mod:`bridge.kit.values`: native JSON values in, native values out (by the task's interface);
- :mod:`bridge.kit.clients`: FlytePropeller (v1) and the Flyte 2 executor (v2) as clients, call for call;
- :mod:`bridge.kit.served`: a bridge served in this process on a free loopback port;
- :mod:`bridge.kit.live`: the live progress lines and the side-by-side summary.

Nothing here is imported by ``flyte-bridge serve``.
"""
