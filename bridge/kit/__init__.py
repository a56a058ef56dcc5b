"""The connector author's kit: what ``flyte-bridge run``, ``flyte-bridge check`` and the pytest plugin share.

- :mod:`bridge.kit.tasks`: a task to run, from a template file or an SDK task object, and the
  minimal template of a category;
- :mod:`bridge.kit.values`: native JSON values in, native values out (by the task's interface);
- :mod:`bridge.kit.clients`: FlytePropeller (v1) and the Flyte 2 executor (v2) as clients, call for call,
  and ``make_drivers``, the one set-up of a run's drivers (``both`` is v1 and v2, an output directory each);
- :mod:`bridge.kit.render`: container args rendered as propeller renders them before CreateTask;
- :mod:`bridge.kit.rules`, :mod:`bridge.kit.probe`, :mod:`bridge.kit.fresh`: ``check``'s rules, the probe
  on connector calls and the event loop, the second bridge process;
- :mod:`bridge.kit.harness`: the pytest plugin's ``flyte_bridge`` fixture and ``Outcomes``;
- :mod:`bridge.kit.served`: a bridge served in this process on a free loopback port;
- :mod:`bridge.kit.live`: the live progress lines and the side-by-side summary.

Nothing here is imported by ``flyte-bridge serve``.
"""
