"""The task a kit command runs: a TaskTemplate of either generation, from a file or an SDK task object.

``load_target`` accepts

- a template file, JSON or binary, of either generation (read as ``flyte-bridge translate`` reads
  messages: JSON when it starts with ``{``);
- ``path/to/file.py:name``: a flytekit task (serialized by flytekit's ``get_serializable``) or a
  flyte-sdk task (serialized by flyte-sdk's ``get_proto_task``), each by its own SDK;
- a TaskTemplate message or an SDK task object (the pytest plugin passes objects).

The two generations' templates are wire-identical, so one template is held as a v2 message and the
v1 form is a re-parse of its bytes (unknown fields are kept both ways).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from translators._gen import v1_core_tasks, v2_core_tasks, v2_types
from translators._literals_common import reparse
from translators.cli_translate import parse_message

TemplateV2 = v2_core_tasks.TaskTemplate
TemplateV1 = v1_core_tasks.TaskTemplate

SERIALIZE_PROJECT = "flyte-bridge"
SERIALIZE_DOMAIN = "development"
SERIALIZE_VERSION = "local"


class TargetError(ValueError):
    """The target cannot be loaded or serialized (one line, no traceback)."""


def as_v1(template: TemplateV2) -> TemplateV1:
    """The v1 form of a v2 template (a re-parse of the same bytes)."""
    return reparse(template, TemplateV1)  # type: ignore[no-any-return]


def as_v2(template: Message) -> TemplateV2:
    """The v2 form of a template of either generation."""
    return template if isinstance(template, TemplateV2) else reparse(template, TemplateV2)


def read_template(path: str | Path) -> TemplateV2:
    """Read a TaskTemplate file of either generation, JSON or binary.

    Raises:
        TargetError: The file cannot be read or is not a TaskTemplate.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TargetError(f"cannot read template {path}: {exc.strerror or exc}") from None
    errors = []
    # JSON names a field only one generation has (v2's reuse_policy ...): try v2, then v1.
    for cls in (TemplateV2, TemplateV1):
        try:
            return as_v2(parse_message(raw, cls))
        except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
            errors.append(f"{cls.DESCRIPTOR.full_name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    raise TargetError(f"{path} is not a TaskTemplate ({'; '.join(errors)})"[:400])


def _import_file(path: Path) -> Any:
    name = f"_flyte_bridge_target_{path.stem}"
    folder = str(path.parent.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)  # the file's own imports (siblings) resolve, as under pyflyte
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise TargetError(f"importing {path} failed: {type(exc).__name__}: {exc}"[:400]) from None
    return module


def load_task_object(spec: str) -> Any:
    """The object named by ``path/to/file.py:name``.

    Raises:
        TargetError: No such file or attribute.
    """
    file_part, _, attr = spec.rpartition(":")
    path = Path(file_part)
    if not file_part or not attr or not path.is_file():
        raise TargetError(f"{spec!r} is not FILE.py:TASK_NAME of an existing file")
    module = _import_file(path)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise TargetError(f"{path} has no {attr!r}") from None


def _flytekit_template(task: Any) -> TemplateV2 | None:
    base = sys.modules.get("flytekit.core.base_task")
    if base is None or not isinstance(task, base.Task):
        return None
    import collections

    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        project=SERIALIZE_PROJECT,
        domain=SERIALIZE_DOMAIN,
        version=SERIALIZE_VERSION,
    )
    spec = get_serializable(collections.OrderedDict(), settings, task)
    return as_v2(spec.template.to_flyte_idl())


def _flyte_sdk_template(task: Any) -> TemplateV2 | None:
    base = sys.modules.get("flyte._task")
    if base is None or not isinstance(task, base.TaskTemplate):
        return None
    import flyte
    from flyte._internal.runtime.task_serde import get_proto_task
    from flyte.models import SerializationContext

    if task.parent_env_name is None:
        # flyte-sdk serializes a task inside its environment; a bare connector task gets its own.
        flyte.TaskEnvironment.from_task(f"{task.name}-env", task)
    context = SerializationContext(version=SERIALIZE_VERSION, project=SERIALIZE_PROJECT, domain=SERIALIZE_DOMAIN)
    return as_v2(get_proto_task(task, context))


def template_of(task: Any) -> TemplateV2:
    """Serialize a flytekit or flyte-sdk task object with its own SDK (or take a template as is).

    Raises:
        TargetError: Not a task of either SDK, or its SDK could not serialize it.
    """
    if isinstance(task, (TemplateV2, TemplateV1)):
        return as_v2(task)
    for serialize in (_flytekit_template, _flyte_sdk_template):
        try:
            found = serialize(task)
        except TargetError:
            raise
        except Exception as exc:  # the SDK's own error, in one line
            raise TargetError(f"{type(task).__name__} could not be serialized: {type(exc).__name__}: {exc}"[:400]) from None
        if found is not None:
            return found
    raise TargetError(f"{type(task).__name__} is neither a flytekit nor a flyte-sdk task, nor a TaskTemplate")


def load_target(target: Any) -> TemplateV2:
    """A template from a file path, ``file.py:name``, a TaskTemplate or an SDK task object.

    Raises:
        TargetError: See ``read_template``, ``load_task_object``, ``template_of``.
    """
    if isinstance(target, (str, Path)):
        text = str(target)
        if ":" in text and text.rpartition(":")[0].endswith(".py"):
            return template_of(load_task_object(text))
        return read_template(text)
    return template_of(target)


def minimal_template(name: str, version: int = 0, /, **simple_inputs: int) -> TemplateV2:
    """The smallest template the clients send for a category: type, version, an id, an empty ``custom``.

    Args:
        name: The task type (category name).
        version: The category version.
        **simple_inputs: Input name -> ``SimpleType`` value, declared as inputs of the interface.

    Returns:
        A v2 TaskTemplate (``custom`` set: the Flyte 2 executor refuses a template without it).
    """
    template = TemplateV2(type=name, task_type_version=version)
    template.id.name = f"flyte_bridge.check.{name}"
    template.custom.SetInParent()  # present though empty
    for key, simple in simple_inputs.items():
        entry = template.interface.inputs.variables.add(key=key)
        entry.value.type.CopyFrom(v2_types.LiteralType(simple=simple))
    return template


__all__ = [
    "TargetError",
    "as_v1",
    "as_v2",
    "load_target",
    "load_task_object",
    "minimal_template",
    "read_template",
    "template_of",
]
