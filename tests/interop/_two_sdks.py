"""One task category implemented twice, by a real flytekit connector and a real flyte-sdk connector.

``_two_sdks_flytekit`` and ``_two_sdks_flyte`` each register one into its own SDK's registry on import,
as a plugin module of that SDK does (each imports one SDK only, so ``pyflyte serve connector`` and ``c0``
can load theirs). The bridge adapts both. Each answers which SDK served the task (output ``by``) and
keeps a different ``ResourceMeta`` shape, so a handle reaching the wrong implementation fails to decode.
"""

from __future__ import annotations

CATEGORY = "bridge_two_sdks"
FLYTEKIT_NAME = "Two SDKs (flytekit)"
FLYTE_SDK_NAME = "Two SDKs (flyte-sdk)"
MODULES = ("tests.interop._two_sdks_flytekit", "tests.interop._two_sdks_flyte")
