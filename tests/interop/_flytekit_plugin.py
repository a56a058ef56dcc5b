"""A flytekit plugin module: importing it registers the test connectors in flytekit's own registry.

``flyte-bridge serve --modules tests.interop._flytekit_plugin`` under an old flytekit's venv serves them
the way that flytekit's own plugins are served (discovery imports the module, then adapts the registry).
"""

from tests.interop._flytekit_connectors import register_in_flytekit

register_in_flytekit()
