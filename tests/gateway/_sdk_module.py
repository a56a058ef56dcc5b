"""``c0 --modules tests.gateway._sdk_module``: the interop flyte-sdk connector."""

from tests.interop._sdk_connectors import register_in_sdk

register_in_sdk()
