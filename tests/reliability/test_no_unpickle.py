"""No ``resource_meta`` is ever unpickled or used to import code, whatever a client sends.

Pickle payloads and sensor metas naming modules go to every meta-reading method of both
generations, for hub connectors, the sensor engine and (with the flytekit extra) an adapted flytekit
connector; with ``pickle.loads``/``load``/``Unpickler`` patched to raise, and ``sys.modules`` watched.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from collections.abc import Iterator

import grpc
import pytest

from modern.sensors import SensorEngine, SensorRegistry
from tests.reliability._harness import V1_ASYNC, V2_ASYNC, InProcessBridge, assert_bounded, count, healthy, standard_registry
from tests.reliability.conn_faults import FaultConnector
from translators._gen import v2

pytestmark = pytest.mark.timeout(60)

#: Importable standard modules the test process has not imported (checked at run time).
BAIT_MODULES = ["this", "antigravity", "xmlrpc.server", "imaplib", "poplib", "nntplib", "mailbox"]


class _Gadget:
    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (os.getpid, ())  # harmless if it ever ran; the test proves it never does


def _payloads(bait: list[str]) -> list[bytes]:
    plain = [pickle.dumps({"job_id": "x"}, protocol=p) for p in (0, 2, 5)]
    gadgets = [pickle.dumps(_Gadget(), protocol=p) for p in (0, 4)]
    # A pickle that would import a bait module if loaded (GLOBAL opcode, protocol 0).
    globs = [f"c{m}\nsomething\n.".encode() for m in bait]
    sensors = [
        json.dumps({"sensor_module": m, "sensor_name": "Sensor", "sensor_config": None, "inputs": None}).encode()
        for m in bait
    ]
    return plain + gadgets + globs + sensors


def _adapted_flytekit_job() -> object:
    pytest.importorskip("flytekit", reason="an adapted flytekit connector needs the flytekit extra")
    from legacy.flytekit_adapter import adapt
    from tests.interop._flytekit_connectors import JobAsync

    return adapt(JobAsync())


#: The categories each bridge must serve (beside whatever ``standard_registry`` adds).
_SERVED = {"own": {"sensor", "fault"}, "flytekit": {"job"}}


@pytest.fixture(params=sorted(_SERVED))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[InProcessBridge, set[str]]]:
    if request.param == "flytekit":
        extra = [_adapted_flytekit_job()]
    else:
        extra = [FaultConnector(), SensorEngine(SensorRegistry(read_env=False))]
    with InProcessBridge(standard_registry(*extra)) as b:
        yield b, _SERVED[request.param]


def test_no_meta_is_unpickled_or_imports_code(
    served: tuple[InProcessBridge, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    bridge, expected = served
    calls: list[str] = []

    def refuse(*_a: object, **_k: object) -> object:
        calls.append("pickle")
        raise AssertionError("pickle used on client bytes")

    class RefusingUnpickler:
        def __init__(self, *_a: object, **_k: object) -> None:
            refuse()

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", RefusingUnpickler)
    bait = [m for m in BAIT_MODULES if m not in sys.modules]
    assert len(bait) >= 3, "the bait modules are already imported: pick others"
    categories = [e.category[0] for e in bridge.registry.entries()]
    assert expected <= set(categories)
    tried = 0
    for payload in _payloads(bait):
        for task_type in categories:
            for svc in (V1_ASYNC, V2_ASYNC):
                for method in ("GetTask", "DeleteTask", "GetTaskMetrics", "GetTaskLogs"):
                    req = getattr(v2, f"{method}Request")(resource_meta=payload)
                    req.task_category.name = task_type
                    rpc = bridge.channel.unary_stream if method == "GetTaskLogs" else bridge.channel.unary_unary  # type: ignore[union-attr]
                    try:
                        out = rpc(f"/{svc}/{method}")(req.SerializeToString(), timeout=10)
                        list(out) if method == "GetTaskLogs" else None
                        code = grpc.StatusCode.OK
                    except grpc.RpcError as exc:
                        code, details = exc.code(), exc.details() or ""
                        assert_bounded(details)
                    tried += 1
                    # Sensor metas naming unregistered modules are refused; pickles never decode.
                    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.OK), (
                        task_type, method, payload[:40], code)
                    if not payload.startswith(b"{"):  # a pickle is never a valid meta anywhere
                        assert code != grpc.StatusCode.OK, (task_type, method, payload[:40])
    count("pickle/import payloads tried", tried)
    assert calls == []
    imported = [m for m in bait if m in sys.modules]
    assert imported == [], f"client bytes imported {imported}"
    healthy(bridge.channel)  # type: ignore[arg-type]
