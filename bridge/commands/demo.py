"""``flyte-bridge demo``: one connector, called by both generations, side by side.

Starts a bridge in-process on ``127.0.0.1:0`` with the built-in echo connector, then calls it

- as FlytePropeller (Flyte 1) does, with the v1 stubs: ``ListAgents``, ``CreateTask`` with a
  ``LiteralMap`` and ``template.type`` (no category), ``GetTask`` with ``task_type`` and
  ``task_category``;
- as the Flyte 2 executor does, with the v2 stubs: ``ListConnectors``, ``CreateTask`` with
  ``Inputs`` and a ``connection``, ``GetTask`` with ``task_category`` and the ``connection``;

and prints what each side sent and got back.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

import grpc

from bridge.server.assembly import ServerOptions, build_server
from modern import shared_loop
from translators import _gen
from translators._protobuf_compat import known_fields

DEMO_INPUTS: dict[str, Any] = {"greeting": "hello", "n": 7, "ratio": 0.5, "ok": True}


def _v1_literal(value: Any) -> Any:
    prim = _gen.v1_core_literals.Primitive
    if isinstance(value, bool):
        p = prim(boolean=value)
    elif isinstance(value, int):
        p = prim(integer=value)
    elif isinstance(value, float):
        p = prim(float_value=value)
    else:
        p = prim(string_value=str(value))
    return _gen.v1_core_literals.Literal(scalar=_gen.v1_core_literals.Scalar(primitive=p))


def _v2_literal(value: Any) -> Any:
    # The two generations' literals are wire-identical: re-parse instead of building twice.
    return _gen.v2_core_literals.Literal.FromString(_v1_literal(value).SerializeToString())


def _show_literal(lit: Any) -> str:
    if lit.WhichOneof("value") != "scalar" or lit.scalar.WhichOneof("value") != "primitive":
        return f"<{lit.WhichOneof('value')}>"
    prim = lit.scalar.primitive
    kind = prim.WhichOneof("value")
    return repr(getattr(prim, kind)) if kind else "None"


def _show_pairs(pairs: Iterable[tuple[str, Any]]) -> str:
    return "{" + ", ".join(f"{k}: {_show_literal(v)}" for k, v in pairs) + "}"


def _phase(value: int) -> str:
    return _gen.v2_core_execution.TaskExecution.Phase.Name(value)


async def _v1_side(channel: grpc.aio.Channel) -> list[tuple[str, str, str]]:
    rows = []
    meta_stub = _gen.v1_grpc.AgentMetadataServiceStub(channel)
    agents = await meta_stub.ListAgents(_gen.v1.ListAgentsRequest(), timeout=3)
    listed = "; ".join(
        f"{a.name} [{', '.join(f'{c.name} v{c.version}' for c in a.supported_task_categories)}]"
        + (" sync" if a.is_sync else "")
        for a in agents.agents
    )
    rows.append(("discover", "ListAgents()", listed))
    stub = _gen.v1_grpc.AsyncAgentServiceStub(channel)
    inputs = _gen.v1_core_literals.LiteralMap(literals={k: _v1_literal(v) for k, v in DEMO_INPUTS.items()})
    template = _gen.v1_core_tasks.TaskTemplate(type="echo")
    template.id.name = "demo.echo_task"
    created = await stub.CreateTask(
        _gen.v1.CreateTaskRequest(inputs=inputs, template=template, output_prefix="s3://demo/v1/"), timeout=10
    )
    rows.append((
        "create",
        f"CreateTask(template.type='echo', inputs LiteralMap {_show_pairs(sorted(inputs.literals.items()))})",
        f"resource_meta {len(created.resource_meta)} bytes",
    ))
    got = await stub.GetTask(
        _gen.v1.GetTaskRequest(
            task_type="echo",
            task_category=_gen.v1.TaskCategory(name="echo", version=0),
            resource_meta=created.resource_meta,
            **known_fields(_gen.v1.GetTaskRequest, output_prefix="s3://demo/v1/"),
        ),
        timeout=10,
    )
    r = got.resource
    rows.append((
        "get",
        "GetTask(task_type='echo', task_category=echo v0, resource_meta)",
        f"phase {_phase(r.phase)}, state {_gen.v1.State.Name(r.state)}, "
        f"outputs LiteralMap {_show_pairs(sorted(r.outputs.literals.items()))}",
    ))
    return rows


async def _v2_side(channel: grpc.aio.Channel) -> list[tuple[str, str, str]]:
    rows = []
    meta_stub = _gen.v2_grpc.ConnectorMetadataServiceStub(channel)
    listed_resp = await meta_stub.ListConnectors(_gen.v2.ListConnectorsRequest(), timeout=3)
    listed = "; ".join(
        f"{c.name} [{', '.join(f'{t.name} v{t.version}' for t in c.supported_task_categories)}]"
        for c in listed_resp.connectors
    )
    rows.append(("discover", "ListConnectors()", listed))
    stub = _gen.v2_grpc.AsyncConnectorServiceStub(channel)
    inputs = _gen.v2_task_common.Inputs(
        literals=[_gen.v2_task_common.NamedLiteral(name=k, value=_v2_literal(v)) for k, v in DEMO_INPUTS.items()]
    )
    template = _gen.v2_core_tasks.TaskTemplate(type="echo")
    template.id.name = "demo.echo_task"
    template.custom.update({})  # the executor requires template.custom to be set
    connection = _gen.v2_security.Connection(task_type="echo", configs={"region": "demo"})
    created = await stub.CreateTask(
        _gen.v2.CreateTaskRequest(
            inputs=inputs, template=template, output_prefix="s3://demo/v2/", connection=connection
        ),
        timeout=10,
    )
    rows.append((
        "create",
        f"CreateTask(template.type='echo', Inputs {_show_pairs((n.name, n.value) for n in inputs.literals)}, "
        "connection{configs})",
        f"resource_meta {len(created.resource_meta)} bytes",
    ))
    got = await stub.GetTask(
        _gen.v2.GetTaskRequest(
            task_category=_gen.v2.TaskCategory(name="echo", version=0),
            resource_meta=created.resource_meta,
            output_prefix="s3://demo/v2/",
            connection=connection,
        ),
        timeout=10,
    )
    r = got.resource
    rows.append((
        "get",
        "GetTask(task_category=echo v0, resource_meta, connection)",
        f"phase {_phase(r.phase)}, outputs {_show_pairs((n.name, n.value) for n in r.outputs.literals)}",
    ))
    return rows


def format_demo(v1_rows: list[tuple[str, str, str]], v2_rows: list[tuple[str, str, str]]) -> str:
    """Render both sides, step by step.

    Args:
        v1_rows: (step, sent, got) as FlytePropeller.
        v2_rows: (step, sent, got) as the Flyte 2 executor.

    Returns:
        The text table.
    """
    lines = []
    for (step, s1, g1), (_, s2, g2) in zip(v1_rows, v2_rows):
        lines.append(f"== {step} ".ljust(100, "="))
        lines.append(f"  Flyte 1 (FlytePropeller, v1 stubs)  sent: {s1}")
        lines.append(f"                                      got:  {g1}")
        lines.append(f"  Flyte 2 (executor, v2 stubs)        sent: {s2}")
        lines.append(f"                                      got:  {g2}")
    return "\n".join(lines)


async def run_demo() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Start a bridge on 127.0.0.1:0 with the echo connector and call it as both generations.

    Returns:
        The v1 rows and the v2 rows (step, sent, got).
    """
    import bridge.examples  # noqa: F401 (registers the echo connector)
    import modern
    from bridge.commands.serve import make_hub

    hub = make_hub(modern.default_registry())
    server = build_server(hub, ServerOptions(host="127.0.0.1", port=0, reflection=False, grace=1.0))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            return await _v1_side(channel), await _v2_side(channel)
    finally:
        await server.stop(1.0)


def demo_command(out: TextIO | None = None) -> int:
    """Run the demo and print the side-by-side table.

    Args:
        out: Where to print (stdout by default).

    Returns:
        0 on success, 1 when a call failed.
    """
    out = out or sys.stdout
    try:
        v1_rows, v2_rows = shared_loop.run(run_demo())  # the loop flyte-bridge serve runs
    except grpc.aio.AioRpcError as exc:
        print(f"demo call failed: {exc.code().name}: {exc.details()}", file=out)
        return 1
    print("One echo connector, served by flyte-connector-bridge to both Flyte generations:", file=out)
    print(format_demo(v1_rows, v2_rows), file=out)
    return 0
