"""Connectors written against the bridge's own API that take credentials as keywords (issue 21).

They report what they received as a digest (``sha256:<12 hex>`` or ``none``), so a test can tell which
value arrived without the value leaving the call. ``custom.mode == "echo"`` makes them raise an error
that quotes the credential, as careless connectors do.

- ``creds`` (async): ``api_token`` is a keyword-only parameter of create/get/delete.
- ``creds-sync`` (sync): takes ``**kwargs`` only and declares ``secrets = ("vault_token",)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from google.protobuf import json_format

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta, SyncConnector
from translators._gen import v2_core_execution

Phase = v2_core_execution.TaskExecution


def digest(value: str | None) -> str:
    """What the connectors report for a credential they received."""
    return "none" if value is None else "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def _mode(template: Any) -> str:
    custom = json_format.MessageToDict(template.custom) if template.HasField("custom") else {}
    return str(custom.get("mode", "report"))


@dataclasses.dataclass
class CredsMeta(ResourceMeta):
    seen: str
    mode: str = "report"


class CredsConnector(AsyncConnector):
    name = "Creds Connector"
    task_type_name = "creds"
    metadata_type = CredsMeta

    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def create(
        self, task_template: Any, output_prefix: str, inputs: Any = None, task_execution_metadata: Any = None,
        *, api_token: str | None = None, **kwargs: Any,
    ) -> CredsMeta:
        mode = _mode(task_template)
        if mode == "echo":
            raise RuntimeError(f"login refused for token {api_token}")
        return CredsMeta(seen=digest(api_token), mode=mode)

    async def get(self, resource_meta: CredsMeta, *, api_token: str | None = None, **kwargs: Any) -> Resource:
        if resource_meta.mode == "echo-get":
            raise RuntimeError(f"token {api_token} expired")
        return Resource(phase=Phase.SUCCEEDED, message=f"create {resource_meta.seen} get {digest(api_token)}")

    async def delete(self, resource_meta: CredsMeta, *, api_token: str | None = None, **kwargs: Any) -> None:
        self.deleted.append(digest(api_token))


class CredsSync(SyncConnector):
    name = "Creds Sync"
    task_type_name = "creds-sync"
    secrets = ("vault_token",)

    async def do(
        self, task_template: Any, output_prefix: str, inputs: Any = None, task_execution_metadata: Any = None,
        **kwargs: Any,
    ) -> Resource:
        token = kwargs.get("vault_token")
        if _mode(task_template) == "echo":
            raise RuntimeError(f"vault said no to {token}")
        return Resource(phase=Phase.SUCCEEDED, message=f"do {digest(token)}")


ConnectorRegistry.register(CredsConnector())
ConnectorRegistry.register(CredsSync())
