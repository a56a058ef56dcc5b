"""The one place where the generated protobuf modules of both generations are imported.

v1 is Flyte 1's agent API (``flyteidl``); v2 is Flyte 2's connector API (``flyteidl2``).
Everything else in the project imports the generated modules from here, so a rename upstream
(as happened during the flyteidl2 betas) is fixed in one file.
"""

from __future__ import annotations

from flyteidl.admin import agent_pb2 as v1
from flyteidl.core import execution_pb2 as v1_core_execution
from flyteidl.core import interface_pb2 as v1_interface
from flyteidl.core import literals_pb2 as v1_core_literals
from flyteidl.core import tasks_pb2 as v1_core_tasks
from flyteidl.core import types_pb2 as v1_types
from flyteidl.service import agent_pb2 as v1_service
from flyteidl.service import agent_pb2_grpc as v1_grpc
from flyteidl2.connector import connector_pb2 as v2
from flyteidl2.connector import service_pb2 as v2_service
from flyteidl2.connector import service_pb2_grpc as v2_grpc
from flyteidl2.core import execution_pb2 as v2_core_execution
from flyteidl2.core import interface_pb2 as v2_interface
from flyteidl2.core import literals_pb2 as v2_core_literals
from flyteidl2.core import security_pb2 as v2_security
from flyteidl2.core import tasks_pb2 as v2_core_tasks
from flyteidl2.core import types_pb2 as v2_types
from flyteidl2.task import common_pb2 as v2_task_common

__all__ = [
    "v1",
    "v1_core_execution",
    "v1_core_literals",
    "v1_core_tasks",
    "v1_grpc",
    "v1_interface",
    "v1_service",
    "v1_types",
    "v2",
    "v2_core_execution",
    "v2_core_literals",
    "v2_core_tasks",
    "v2_grpc",
    "v2_interface",
    "v2_security",
    "v2_service",
    "v2_task_common",
    "v2_types",
]
