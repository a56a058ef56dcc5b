"""``c0 --modules tests.gateway._sdk_module``: the interop flyte-sdk connector, and one that raises a huge error."""

from dataclasses import dataclass

from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

from tests.gateway._huge_error import HUGE_ERROR_TYPE, huge_error_text
from tests.interop._sdk_connectors import register_in_sdk


@dataclass
class _Meta(ResourceMeta):
    size: int


class HugeErrorConnector(AsyncConnector):
    """Every method raises an error of ``template.custom["size"]`` characters (default 200,000)."""

    name = "Bridge Test Huge Error"
    task_type_name = HUGE_ERROR_TYPE
    metadata_type = _Meta

    async def create(self, task_template, output_prefix, inputs=None, **kwargs) -> _Meta:
        size = task_template.custom.fields["size"].number_value if "size" in task_template.custom.fields else 200_000
        raise RuntimeError(huge_error_text(int(size)))

    async def get(self, resource_meta: _Meta, **kwargs) -> Resource:
        raise RuntimeError(huge_error_text(resource_meta.size))

    async def delete(self, resource_meta: _Meta, **kwargs) -> None:
        raise RuntimeError(huge_error_text(resource_meta.size))


register_in_sdk()
ConnectorRegistry.register(HugeErrorConnector(), override=True)
