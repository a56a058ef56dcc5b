"""Sources of SDK task files for ``flyte-bridge run FILE.py:TASK`` tests (written to a tmp dir)."""

FLYTEKIT_ECHO = '''
from typing import Any

from flytekit.core.base_task import PythonTask
from flytekit.core.interface import Interface
from flytekit.extend.backend.base_connector import AsyncConnectorExecutorMixin


class EchoTask(AsyncConnectorExecutorMixin, PythonTask):
    def __init__(self, name: str) -> None:
        super().__init__(task_type="echo", name=name, task_config=None,
                         interface=Interface(inputs={"x": int, "s": str}, outputs={"x": int, "s": str}))

    def get_custom(self, settings: Any) -> dict:
        return {"kind": "echo"}


echo_fk = EchoTask("echo_flytekit")
'''

FLYTE_SDK_ECHO = '''
import inspect

from flyte.connectors import AsyncConnectorExecutorMixin
from flyte.extend import TaskTemplate
from flyte.models import NativeInterface


class EchoTask(AsyncConnectorExecutorMixin, TaskTemplate):
    def custom_config(self, sctx):
        return {"kind": "echo"}


echo_sdk = EchoTask(
    name="echo_sdk",
    task_type="echo",
    interface=NativeInterface({"x": (int, inspect.Parameter.empty), "s": (str, inspect.Parameter.empty)},
                              {"x": int, "s": str}),
)
'''
