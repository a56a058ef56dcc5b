"""``pyflyte serve connector --modules tests.gateway._fk_module``: the interop flytekit connectors."""

from tests.interop._flytekit_connectors import register_in_flytekit

register_in_flytekit()
