"""The routing rule (modern.routing) and the registry's implementations, without gRPC."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modern import ConnectorRegistry, Hub
from modern.errors import InvalidRequestError
from modern.implementation import BRIDGE, FLYTE_SDK, FLYTEKIT, UPSTREAM, Implementation
from modern.routing import ROUTE_MAGIC, V1, V2, for_create, for_handle, ranked, tag, template_family, untag
from tests._servers import run
from tests.modern._connectors import JobConnector
from translators._gen import v2, v2_core_tasks


def _template(version: str | None, flavor: str = "python", rtype: int = 1) -> v2_core_tasks.TaskTemplate:
    t = v2_core_tasks.TaskTemplate(type="cat")
    if version is not None:
        t.metadata.runtime.version = version
        t.metadata.runtime.flavor = flavor
        t.metadata.runtime.type = rtype
    return t


@pytest.mark.parametrize(
    ("version", "flavor", "rtype", "family"),
    [
        ("1.16.3", "python", 1, FLYTEKIT),
        ("0.0.0+develop", "python", 1, FLYTEKIT),
        ("v1.10.0", "python", 1, FLYTEKIT),
        ("2.12.1", "python", 1, FLYTE_SDK),
        ("2.0.0b53", "python", 1, FLYTE_SDK),
        ("3.0.0", "python", 1, None),
        ("1.16.3", "go", 1, None),
        ("1.16.3", "python", 0, None),
        (None, "python", 1, None),
    ],
)
def test_template_family_reads_the_runtime(version: str | None, flavor: str, rtype: int, family: str | None) -> None:
    assert template_family(_template(version, flavor, rtype)) == family


class _Impl(Implementation):
    def __init__(self, source: str, family: str | None = None, key: str | None = None, meta_prefix: bytes = b"") -> None:
        self.source = source
        self.family = family or source
        self.key = key or source
        self.name = f"{self.key} impl"
        self.category = ("cat", 0)
        self.meta_prefix = meta_prefix

    def accepts_meta(self, data: bytes) -> bool:
        return data.startswith(self.meta_prefix)


KIT, SDK, OWN = _Impl(FLYTEKIT), _Impl(FLYTE_SDK), _Impl(BRIDGE)
UP_V1 = _Impl(UPSTREAM, FLYTEKIT, "upstream:old:8000")
UP_V2 = _Impl(UPSTREAM, FLYTE_SDK, "upstream:c0:8000")


def test_ranked_puts_the_family_first_then_local_then_the_bridge_then_the_other_sdk() -> None:
    impls = [UP_V2, SDK, OWN, UP_V1, KIT]
    assert ranked(impls, FLYTEKIT) == [KIT, UP_V1, OWN, SDK, UP_V2]
    assert ranked(impls, FLYTE_SDK) == [SDK, UP_V2, OWN, KIT, UP_V1]
    assert ranked(impls, FLYTE_SDK, "upstream:old:8000")[0] is UP_V1
    assert ranked(impls, FLYTEKIT, UPSTREAM)[0] is UP_V1
    assert ranked([SDK, OWN], FLYTEKIT) == [OWN, SDK]  # no flytekit: the bridge's own API next


def test_for_create_follows_template_then_caller_and_one_implementation_serves_all() -> None:
    assert for_create([SDK, KIT], _template("1.16.0"), V2) is KIT
    assert for_create([KIT, SDK], _template("2.1.0"), V1) is SDK
    assert for_create([SDK, KIT], _template(None), V1) is KIT
    assert for_create([KIT, SDK], _template(None), V2) is SDK
    assert for_create([KIT, SDK], _template("2.1.0"), V2, preferred=FLYTEKIT) is KIT
    assert for_create([SDK], _template("1.16.0"), V1) is SDK


def test_for_handle_uses_the_tag_else_the_first_ranked_that_accepts_the_bytes() -> None:
    kit, sdk = _Impl(FLYTEKIT, meta_prefix=b"{\"fk"), _Impl(FLYTE_SDK, meta_prefix=b"{\"sdk")
    assert for_handle([kit, sdk], FLYTE_SDK, b"anything", V1) is sdk
    assert for_handle([kit, sdk], "upstream:gone:1", b"x", V1) is None
    assert for_handle([kit, sdk], None, b'{"sdk_job": 1}', V1) is sdk  # v1 prefers flytekit, which refuses
    assert for_handle([kit, sdk], None, b'{"fk_job": 1}', V2) is kit
    assert for_handle([kit, sdk], None, b"garbage", V2) is sdk  # none accepts: the first ranked answers
    assert for_handle([kit], None, b"garbage", V2) is kit


@given(key=st.text(min_size=1, max_size=200).filter(lambda k: "\n" not in k), meta=st.binary(max_size=300))
def test_tag_then_untag_gives_back_the_key_and_the_exact_bytes(key: str, meta: bytes) -> None:
    impl = _Impl(BRIDGE, key=key)
    assert untag(tag(impl, meta)) == (key, meta)


@given(meta=st.binary(max_size=300))
def test_untag_leaves_untagged_bytes_alone(meta: bytes) -> None:
    if not meta.startswith(ROUTE_MAGIC):
        assert untag(meta) == (None, meta)


def test_untag_refuses_a_cut_or_undecodable_tag() -> None:
    with pytest.raises(InvalidRequestError):
        untag(ROUTE_MAGIC + b"flytekit")
    with pytest.raises(InvalidRequestError):
        untag(ROUTE_MAGIC + b"\xff\xfe\n{}")
    with pytest.raises(InvalidRequestError):
        untag(ROUTE_MAGIC + b"k" * 600 + b"\n{}")


class _SdkJob(JobConnector):
    implementation_source = FLYTE_SDK
    name = "Job (flyte-sdk)"


def test_registry_keeps_one_implementation_per_source_and_tags_only_when_several() -> None:
    reg = ConnectorRegistry()
    reg.register(JobConnector())
    with pytest.raises(ValueError, match="Duplicate connector"):
        reg.register(JobConnector())
    hub = Hub(reg, metrics=False)
    request = v2.CreateTaskRequest(template=v2_core_tasks.TaskTemplate(type=JobConnector.task_type_name))
    alone = run(hub.create_task(request)).resource_meta
    assert not alone.startswith(ROUTE_MAGIC)  # one implementation: the bytes a plain server writes
    reg.register(_SdkJob())
    assert [i.key for i in reg.implementations(JobConnector.task_type_name)] == [BRIDGE, FLYTE_SDK]
    both = run(hub.create_task(request)).resource_meta
    key, own = untag(both)
    assert key == FLYTE_SDK and own.startswith(b'{"job_id":"job-')  # the connector's own bytes, behind the tag
    assert [c.name for c in reg.list_connectors() if c.supported_task_categories[0].name == JobConnector.task_type_name] == [
        "Job (flyte-sdk)"
    ]
    assert reg.get_connector_metadata(JobConnector.name).name == JobConnector.name  # the v1-listed name answers too
    reg.remove(reg.implementation(JobConnector.task_type_name, 0, FLYTE_SDK))  # type: ignore[arg-type]
    assert [i.key for i in reg.implementations(JobConnector.task_type_name)] == [BRIDGE]
