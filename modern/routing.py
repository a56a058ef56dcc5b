"""The routing rule: which implementation of a category answers a call, decided from the request alone.

Any replica decides the same, with no shared state:

- **CreateTask / ExecuteTaskSync**: by the template's authoring SDK, read from
  ``template.metadata.runtime`` (type ``FLYTE_SDK``, flavor ``python``): version 0.x or 1.x was written
  by flytekit, 2.x by flyte-sdk. A template that names no SDK goes by the caller's generation: a v1
  caller (FlytePropeller) is flytekit's, a v2 caller (the Flyte 2 executor) flyte-sdk's. Within the
  family, an in-process implementation before an upstream one; then the bridge's own API; then the
  other SDK. An operator's ``--prefer CATEGORY=SOURCE`` wins over all of that.
- **Get / Delete / Metrics / Logs**: the implementation that created the task. When a category has
  several implementations the bridge prefixes the ``resource_meta`` it returns with a routing tag
  naming the implementation (``ROUTE_MAGIC key \\n``), and strips it before the implementation sees
  the bytes, so every implementation decodes exactly what it wrote. With one implementation nothing is
  added: the bytes are those ``pyflyte serve connector`` or ``c0`` would return, so a rolling swap
  between those servers and the bridge works both ways.
- A ``resource_meta`` without a tag (written by ``pyflyte``, ``c0``, or a bridge that then had one
  implementation): the implementations are tried in the order CreateTask would rank them for the
  caller's generation (and ``--prefer``), and the first whose own ``decode`` accepts the bytes answers
  (a sync result envelope goes to a sync implementation). If none accepts, the first is asked, and its
  decode error is the answer (INVALID_ARGUMENT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modern.errors import InvalidRequestError
from modern.implementation import BRIDGE, FLYTE_SDK, FLYTEKIT, UPSTREAM, Implementation
from translators._gen import v2_core_tasks

#: Caller generations, as the faces name them.
V1 = "v1"
V2 = "v2"

#: The SDK family a caller of each generation speaks for, when the template names none.
CALLER_FAMILY = {V1: FLYTEKIT, V2: FLYTE_SDK}

_ORDER = {
    FLYTEKIT: (FLYTEKIT, BRIDGE, FLYTE_SDK),
    FLYTE_SDK: (FLYTE_SDK, BRIDGE, FLYTEKIT),
}

ROUTE_MAGIC = b"\x00FCBrt1:"
_MAX_KEY = 512
_FLYTE_SDK_RUNTIME = v2_core_tasks.RuntimeMetadata.RuntimeType.FLYTE_SDK


def template_family(template: Any) -> str | None:
    """The SDK that wrote ``template`` (``flytekit`` or ``flyte-sdk``), or None when it names none.

    Args:
        template: A v2 (or v1: same field numbers) ``TaskTemplate``.
    """
    if not template.HasField("metadata") or not template.metadata.HasField("runtime"):
        return None
    runtime = template.metadata.runtime
    if runtime.type != _FLYTE_SDK_RUNTIME or runtime.flavor != "python":
        return None
    major = runtime.version.strip().lstrip("vV").split(".", 1)[0]
    if major in ("0", "1"):
        return FLYTEKIT
    if major == "2":
        return FLYTE_SDK
    return None


def _matches(impl: Implementation, preferred: str) -> bool:
    return preferred in (impl.key, impl.source)


def ranked(impls: Sequence[Implementation], family: str, preferred: str | None = None) -> list[Implementation]:
    """``impls`` best first for a caller of ``family``: the preferred one, the family, in-process first.

    Args:
        impls: A category's implementations in registration order.
        family: ``flytekit`` or ``flyte-sdk`` (``template_family`` or ``CALLER_FAMILY``).
        preferred: An operator's ``--prefer`` value for the category (a source or a key).
    """
    order = _ORDER.get(family, _ORDER[FLYTE_SDK])

    def rank(item: tuple[int, Implementation]) -> tuple[int, int, int, int]:
        index, impl = item
        pinned = 0 if preferred is not None and _matches(impl, preferred) else 1
        fam = order.index(impl.family) if impl.family in order else len(order)
        return (pinned, fam, impl.source == UPSTREAM, index)

    return [impl for _, impl in sorted(enumerate(impls), key=rank)]


def for_create(
    impls: Sequence[Implementation], template: Any, caller: str, preferred: str | None = None
) -> Implementation:
    """The implementation that starts a task (CreateTask, ExecuteTaskSync)."""
    if len(impls) == 1:
        return impls[0]
    family = template_family(template) or CALLER_FAMILY.get(caller, FLYTE_SDK)
    return ranked(impls, family, preferred)[0]


def tag(impl: Implementation, meta: bytes) -> bytes:
    """``meta`` prefixed with the routing tag naming ``impl``."""
    return ROUTE_MAGIC + impl.key.encode() + b"\n" + meta


def untag(data: bytes) -> tuple[str | None, bytes]:
    """Split a ``resource_meta`` into (implementation key or None, the implementation's own bytes).

    Raises:
        InvalidRequestError: The tag is cut short or names no valid key.
    """
    if data[: len(ROUTE_MAGIC)] != ROUTE_MAGIC:
        return None, data
    end = data.find(b"\n", len(ROUTE_MAGIC), len(ROUTE_MAGIC) + _MAX_KEY + 1)
    if end < 0:
        raise InvalidRequestError("resource_meta has a bridge routing tag that is cut short")
    try:
        key = data[len(ROUTE_MAGIC) : end].decode()
    except UnicodeDecodeError:
        raise InvalidRequestError("resource_meta has a bridge routing tag that is not UTF-8") from None
    return key, data[end + 1 :]


def for_handle(
    impls: Sequence[Implementation], key: str | None, meta: bytes, caller: str, preferred: str | None = None
) -> Implementation | None:
    """The implementation that created the task whose handle is ``meta`` (tag already split off).

    Returns:
        The implementation, or None when ``key`` names one this registry does not hold.
    """
    if key is not None:
        return next((i for i in impls if i.key == key), None)
    if len(impls) == 1:
        return impls[0]
    candidates = ranked(impls, CALLER_FAMILY.get(caller, FLYTE_SDK), preferred)
    return next((i for i in candidates if i.accepts_meta(meta)), candidates[0])


__all__ = ["CALLER_FAMILY", "ROUTE_MAGIC", "V1", "V2", "for_create", "for_handle", "ranked", "tag", "template_family", "untag"]
