"""What differs between the protobuf runtimes the bridge supports, asked one way.

Versions: ``FieldDescriptor.is_repeated`` arrived in protobuf 6.31 and ``FieldDescriptor.label``
left in 7.0, so neither attribute alone covers the declared range (5.26 on): the choice is made once,
at import, from the installed runtime. Implementations: the pure-Python one
(``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python``) raises other exceptions than upb for the same
bad string, on parse and on assignment.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Callable

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

_PROBE = descriptor_pb2.FileDescriptorProto.DESCRIPTOR.fields_by_name["message_type"]


def _by_label(fd: FieldDescriptor) -> bool:
    return fd.label == FieldDescriptor.LABEL_REPEATED


is_repeated: Callable[[FieldDescriptor], bool] = (
    attrgetter("is_repeated") if hasattr(_PROBE, "is_repeated") else _by_label
)
"""Whether a field is repeated (a list or a map)."""


def known_fields(cls: type[Message], **fields: Any) -> dict[str, Any]:
    """The ``fields`` the installed generation of ``cls`` declares, to pass to its constructor.

    For a field newer than the declared floor of its IDL (v1 ``GetTaskRequest.output_prefix``
    arrived in flyteidl 1.15.2): set where it exists, left out where it does not.
    """
    declared = cls.DESCRIPTOR.fields_by_name
    return {name: value for name, value in fields.items() if name in declared}


PARSE_ERRORS: tuple[type[Exception], ...] = (DecodeError, UnicodeDecodeError)
"""What parsing bad bytes raises: ``DecodeError``, or (pure Python) ``UnicodeDecodeError`` for a
string field that is not UTF-8."""


def not_utf8(exc: ValueError) -> bool:
    """Whether ``exc`` is protobuf refusing a ``str`` that has no UTF-8 form (a lone surrogate).

    upb raises the ``UnicodeEncodeError`` itself; pure Python raises a ``ValueError`` while handling it.
    """
    return isinstance(exc, UnicodeEncodeError) or isinstance(exc.__context__, UnicodeEncodeError)
