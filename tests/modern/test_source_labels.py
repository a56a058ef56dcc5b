"""Messages name the implementation (source) beside the connector's name: both SDKs ship connectors
of the same name (each has a "Snowflake Connector"), so the name alone does not say which refused."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from modern import ResourceMeta
from modern.entry import ConnectorEntry
from modern._invoke import connector_failure
from modern.errors import InvalidRequestError
from modern.local import LocalImplementation


@dataclass
class _Meta(ResourceMeta):
    job: str = ""


class _SdkMeta:
    """A metadata type whose decode fails its own way (an SDK's ``ResourceMeta``)."""

    @classmethod
    def decode(cls, data: bytes) -> Any:
        raise KeyError("job_id")


def _snowflake(source: str | None, meta: Any = _SdkMeta) -> Any:
    attrs: dict[str, Any] = {"name": "Snowflake Connector", "task_type_name": "snowflake", "metadata_type": meta}
    if source is not None:
        attrs["implementation_source"] = source

    async def create(self: Any, task_template: Any, output_prefix: str, **kw: Any) -> _Meta:
        return _Meta("j")

    async def get(self: Any, resource_meta: Any, **kw: Any) -> Any:
        return None

    async def delete(self: Any, resource_meta: Any, **kw: Any) -> None:
        return None

    attrs.update(create=create, get=get, delete=delete)
    return type("Snowflake", (), attrs)()


@pytest.mark.parametrize("source,label", [
    ("flyte-sdk", "'Snowflake Connector' (flyte-sdk)"),
    ("flytekit", "'Snowflake Connector' (flytekit)"),
    (None, "'Snowflake Connector'"),
])
def test_errors_and_logs_name_the_implementation(source: str | None, label: str, caplog: pytest.LogCaptureFixture) -> None:
    impl = LocalImplementation(ConnectorEntry.of(_snowflake(source)))
    assert impl.entry.label == impl.label == label
    with pytest.raises(InvalidRequestError) as bad:
        impl.decode_meta(b"\xff not json")
    assert f"resource_meta does not decode for {label}: KeyError" in str(bad.value)
    with pytest.raises(InvalidRequestError) as own:
        LocalImplementation(ConnectorEntry.of(_snowflake(source, _Meta))).decode_meta(b"\xff not json")
    assert "not valid JSON for _Meta" in str(own.value) and f"(connector {label})" in str(own.value)
    with caplog.at_level(logging.ERROR):
        err = connector_failure(impl.entry, "get", KeyError("warehouse"), ())
    assert f"connector {label} failed to get: KeyError" in str(err)
    assert f"connector {label} failed in get" in caplog.text
