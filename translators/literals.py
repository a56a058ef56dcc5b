"""Native Python values <-> Flyte literals, for connectors written once against the project's API.

Everything works on flyteidl2 (v2) messages. v1 (flyteidl) literals, literal maps, literal types
and variable maps are accepted too: they are wire-identical (a v1 ``map<string, Literal>`` encodes
exactly like a v2 ``repeated NamedLiteral``), so they are re-parsed into v2 first.

* ``inputs_to_native`` / ``outputs_to_native``: v2 ``Inputs``/``Outputs``, v2 or v1 ``LiteralMap``
  -> ``dict[str, Any]``, each value decoded against its declared variable type when known.
* ``native_to_inputs`` / ``native_to_outputs``: a mapping -> v2 ``Inputs``/``Outputs``, literals
  ordered as the VariableMap declares them, then the undeclared ones by name.
* ``literal_to_native`` / ``native_to_literal``: one value.

The decoding and encoding rules live in ``_literals_decode`` and ``_literals_encode``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from translators._gen import v1_core_literals, v1_interface, v2_core_literals, v2_interface, v2_task_common
from translators._literals_common import as_v2_literal_type, conversion_error, reparse, reraise_at
from translators._literals_decode import decode, literal_to_native
from translators._literals_encode import encode
from translators._protobuf_compat import not_utf8
from translators.errors import DuplicateNameError, LiteralConversionError

Inputs = v2_task_common.Inputs
Outputs = v2_task_common.Outputs
LiteralMap = v2_core_literals.LiteralMap
VariableMap = v2_interface.VariableMap

_NOT_UTF8 = "a string is not valid UTF-8 (a lone surrogate)"
_V1LiteralMap = v1_core_literals.LiteralMap
_V1VariableMap = v1_interface.VariableMap


def _named_literals(container: Any, where: str) -> Iterable[tuple[str, Any]]:
    """(name, v2 Literal) pairs of any accepted container, in the order it holds them."""
    if isinstance(container, (Inputs, Outputs)):
        return ((nl.name, nl.value) for nl in container.literals)
    if isinstance(container, LiteralMap):
        return container.literals.items()
    if isinstance(container, _V1LiteralMap):
        return reparse(container, LiteralMap).literals.items()
    if isinstance(container, Mapping):
        return container.items()  # already a mapping of name -> Literal (v1 literals re-parsed later)
    raise conversion_error(f"{where}: expected Inputs, Outputs or LiteralMap, not {type(container).__name__}")


def variable_types(variables: Any) -> dict[str, Any]:
    """Map variable name -> v2 LiteralType from a v2 or v1 VariableMap, or a name->LiteralType mapping.

    Args:
        variables: ``flyteidl2.core.VariableMap``, ``flyteidl.core.VariableMap``, a mapping of
            names to LiteralTypes, or None.

    Returns:
        A dict in declaration order (empty for None).
    """
    if variables is None:
        return {}
    if isinstance(variables, VariableMap):
        return {e.key: e.value.type for e in variables.variables}
    if isinstance(variables, _V1VariableMap):
        v2 = reparse(variables, VariableMap)
        return {e.key: e.value.type for e in v2.variables}
    if isinstance(variables, Mapping):
        return {k: as_v2_literal_type(t) for k, t in variables.items()}
    raise conversion_error(f"expected a VariableMap, not {type(variables).__name__}")


def _to_native(container: Any, variables: Any, where: str) -> dict[str, Any]:
    types = variable_types(variables)
    out: dict[str, Any] = {}
    for name, lit in _named_literals(container, where):
        if name in out:
            raise DuplicateNameError(name, where)
        try:
            if not isinstance(lit, v2_core_literals.Literal):
                out[name] = literal_to_native(lit, types.get(name))
            else:
                out[name] = decode(lit, types.get(name))
        except LiteralConversionError as err:
            reraise_at(err, f"{where}.{name}")
    return out


def inputs_to_native(inputs: Any, variables: Any = None) -> dict[str, Any]:
    """Decode task inputs to native Python values.

    Args:
        inputs: v2 ``Inputs``, v2 ``LiteralMap`` or v1 ``LiteralMap``.
        variables: The task interface's input ``VariableMap`` (v2 or v1), if known: each input is
            checked against and decoded with its declared type. Inputs it does not declare are
            decoded by their literal alone.

    Returns:
        ``{name: value}`` in the order the inputs arrived. (v2 ``Inputs.context`` pairs are
        execution context, not inputs, and are not part of the result.)

    Raises:
        LiteralConversionError: an input does not fit its declared type (the path names it).
        DuplicateNameError: two v2 inputs share a name.
    """
    return _to_native(inputs, variables, "inputs")


def outputs_to_native(outputs: Any, variables: Any = None) -> dict[str, Any]:
    """Decode task outputs to native Python values; same rules as :func:`inputs_to_native`."""
    return _to_native(outputs, variables, "outputs")


def _ordered_literals(values: Any, variables: Any, where: str) -> list[tuple[str, Any]]:
    types = variable_types(variables)
    if not isinstance(values, Mapping):
        # Already literals (Outputs, Inputs, a v1 or v2 LiteralMap): keep them, only re-order.
        pairs: dict[str, Any] = {}
        for name, lit in _named_literals(values, where):
            if name in pairs:
                raise DuplicateNameError(name, where)
            pairs[name] = lit
        values = pairs
    # Declared order first (what a v2 reader and a v1 -> v2 translation expect), then by name.
    names = [n for n in types if n in values]
    names += sorted(n for n in values if n not in types)
    out = []
    for name in names:
        if not isinstance(name, str):
            raise conversion_error(f"{where}: names must be str, not {type(name).__name__}")
        try:
            out.append((name, encode(values[name], types.get(name))))
        except LiteralConversionError as err:
            reraise_at(err, f"{where}.{name}")
        except ValueError as exc:
            if not not_utf8(exc):
                raise
            raise conversion_error(_NOT_UTF8, f"{where}.{name}") from None
    return out


def native_to_outputs(values: Any, variables: Any = None) -> Any:
    """Encode native values as v2 ``Outputs``.

    Args:
        values: ``{output name: value}``; a value may already be a (v1 or v2) Literal. An
            ``Outputs``/``Inputs`` message or a v1/v2 ``LiteralMap`` is taken as it is, re-ordered.
        variables: The task interface's output ``VariableMap`` (v2 or v1), if known. Each declared
            output is encoded against its type; undeclared ones are inferred from the value.

    Returns:
        ``flyteidl2.task.common_pb2.Outputs`` ordered as ``variables`` declares, then by name.

    Raises:
        LiteralConversionError: a value does not fit its declared type (the path names it).
    """
    out = Outputs()
    for name, lit in _ordered_literals(values, variables, "outputs"):
        out.literals.add(name=name).value.CopyFrom(lit)
    return out


def native_to_inputs(values: Any, variables: Any = None) -> Any:
    """Encode native values as v2 ``Inputs``; same rules as :func:`native_to_outputs`."""
    out = Inputs()
    for name, lit in _ordered_literals(values, variables, "inputs"):
        out.literals.add(name=name).value.CopyFrom(lit)
    return out


def native_to_literal(value: Any, literal_type: Any = None) -> Any:
    """Encode one native value as a flyteidl2 ``Literal``.

    Args:
        value: The value. Without ``literal_type`` its Python type decides: int -> INTEGER,
            float -> FLOAT, str -> STRING, bool -> BOOLEAN, datetime -> DATETIME (naive = UTC),
            timedelta -> DURATION, None -> NONE, list/tuple -> collection, dict with str keys ->
            map, other dicts and dataclass instances -> msgpack binary, bytes -> binary,
            Blob/StructuredDataset -> their scalars, enum member -> its value, Literal -> as is.
        literal_type: The declared v2 (or v1) ``LiteralType``; the value must fit it.

    Returns:
        ``flyteidl2.core.literals_pb2.Literal``.

    Raises:
        LiteralConversionError: the value does not fit ``literal_type`` or has no literal form.
    """
    try:
        return encode(value, as_v2_literal_type(literal_type))
    except LiteralConversionError:
        raise
    except ValueError as exc:  # a str with a lone surrogate, as a map key or a URI
        if not not_utf8(exc):
            raise
        raise conversion_error(_NOT_UTF8) from None


__all__ = [
    "inputs_to_native",
    "literal_to_native",
    "native_to_inputs",
    "native_to_literal",
    "native_to_outputs",
    "outputs_to_native",
    "variable_types",
]
