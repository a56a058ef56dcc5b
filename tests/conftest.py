"""Suite-wide settings: hypothesis profiles ("fast" by default, "full" with FULL=1)."""

from __future__ import annotations

import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # keep C-core chatter (GOAWAY on shutdown) out of test output

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "full",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("full" if os.environ.get("FULL") else "fast")

FULL = bool(os.environ.get("FULL"))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """``pytest.mark.anyio`` tests run on asyncio, the loop the bridge serves on (old anyio also tried trio)."""
    return "asyncio"
