"""A tiny example connector, so a bare ``flyte-bridge serve`` serves real work: ``echo``.

Task type ``echo`` (version 0). ``create`` keeps the task's inputs in the ``resource_meta`` (so
any replica can answer ``get``, nothing is stored server-side) and ``get`` reports SUCCEEDED
with the inputs as the outputs. It also shows the whole connector API in a few lines: a
``ResourceMeta`` dataclass, ``create``/``get``/``delete``, registration at import time.

Registered when this module is imported: through the project's entry-point group
``flyte_connector_bridge.connectors`` (``echo = "bridge.examples"``) or as a bridge built-in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

ECHO_TASK_TYPE = "echo"
MAX_ECHO_BYTES = 64 * 1024
"""Inputs larger than this (as JSON) are refused: resource_meta travels in every GetTask."""


@dataclass
class EchoMeta(ResourceMeta):
    """The echo job's handle: the inputs themselves (JSON values)."""

    inputs: dict[str, Any] = field(default_factory=dict)


class EchoConnector(AsyncConnector):
    """Succeeds at once and returns its inputs as its outputs."""

    name = "Echo Connector"
    task_type_name = ECHO_TASK_TYPE
    task_type_version = 0
    metadata_type = EchoMeta

    async def create(
        self,
        task_template: Any,
        output_prefix: str,
        inputs: dict[str, Any] | None = None,
        task_execution_metadata: Any = None,
        **kwargs: Any,
    ) -> EchoMeta:
        """Remember the inputs in the handle.

        Args:
            task_template: The task (unused).
            output_prefix: Where outputs would be written (unused: outputs travel inline).
            inputs: Native input values; must be JSON values (numbers, strings, lists, dicts, None).
            task_execution_metadata: Unused.
            **kwargs: Connection secrets and configs (unused).

        Returns:
            The handle carrying the inputs.

        Raises:
            ValueError: Inputs that are not JSON values, or larger than ``MAX_ECHO_BYTES``.
        """
        values = dict(inputs or {})
        try:
            size = len(json.dumps(values))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"echo accepts JSON-like inputs only: {exc}") from None
        if size > MAX_ECHO_BYTES:
            raise ValueError(f"echo inputs are {size} bytes as JSON; the limit is {MAX_ECHO_BYTES}")
        return EchoMeta(inputs=values)

    async def get(self, resource_meta: EchoMeta, **kwargs: Any) -> Resource:
        """Report success with the inputs as outputs.

        Args:
            resource_meta: The handle from ``create``.
            **kwargs: Unused.

        Returns:
            A SUCCEEDED resource.
        """
        return Resource(
            phase=TaskExecution.SUCCEEDED,
            message="echoed",
            outputs=dict(resource_meta.inputs),
            custom_info={"echoed": sorted(resource_meta.inputs)},
        )

    async def delete(self, resource_meta: EchoMeta, **kwargs: Any) -> None:
        """Nothing runs, so nothing to cancel (idempotent by construction)."""


def _register() -> None:
    # Importing twice through different paths (entry point and built-in) must not raise.
    if not ConnectorRegistry.has(ECHO_TASK_TYPE, 0):
        ConnectorRegistry.register(EchoConnector())


_register()
