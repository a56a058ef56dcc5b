"""Discovery records, per module, the task categories its import registered (``check --modules`` and the
pytest plugin pick connectors by it, without importing anything a second time)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import modern
from bridge.discovery import discover

_MODULE = '''
from dataclasses import dataclass
from modern import AsyncConnector, ConnectorRegistry, ResourceMeta

@dataclass
class Meta(ResourceMeta):
    n: int = 0

def make(task_type, version):
    class C(AsyncConnector):
        name = "Discovery " + task_type
        task_type_name = task_type
        task_type_version = version
        metadata_type = Meta
        async def create(self, task_template, output_prefix, **kw): return Meta()
        async def get(self, resource_meta, **kw): return None
        async def delete(self, resource_meta, **kw): return None
    return C()

for cat in {cats!r}:
    ConnectorRegistry.register(make(*cat), override=True)
'''


@pytest.fixture
def default_registry() -> Iterator[modern.ConnectorRegistry]:
    registry = modern.default_registry()
    before = {id(i) for i in registry.all_implementations()}
    yield registry
    for impl in registry.all_implementations():  # what this test registered is not served to later tests
        if id(impl) not in before:
            registry.remove(impl)


def test_each_module_reports_what_it_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                default_registry: modern.ConnectorRegistry) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = {"disc_mod_a": [("disc_a", 0)], "disc_mod_b": [("disc_b", 0), ("disc_b", 1)], "disc_mod_c": []}
    for name, cats in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(_MODULE.format(cats=cats)))
    report = discover(default_registry, list(modules), builtins=(), entry_point_groups=False)
    assert {m: report.registered[m] for m in modules} == modules
    assert report.categories(["disc_mod_a", "disc_mod_b"]) == {("disc_a", 0), ("disc_b", 0), ("disc_b", 1)}
    # Imported already: a later discovery in the same process reports what the first import registered.
    again = discover(default_registry, ["disc_mod_b"], builtins=(), entry_point_groups=False)
    assert again.registered["disc_mod_b"] == modules["disc_mod_b"]


def test_a_flyte_sdk_module_is_credited_with_what_it_registered_in_the_sdk(
        default_registry: modern.ConnectorRegistry) -> None:
    pytest.importorskip("flyte")
    report = discover(default_registry, ["tests.kit.conn_sdk_jobid"], builtins=(), entry_point_groups=False)
    assert report.registered["tests.kit.conn_sdk_jobid"] == [("kit_sdk_job_id", 0)]
    impl = default_registry.implementation("kit_sdk_job_id", 0, "flyte-sdk")
    assert impl is not None and impl.label == "'Kit SDK Job Id' (flyte-sdk)"
