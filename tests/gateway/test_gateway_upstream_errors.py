"""What an upstream's error becomes through the gateway: a huge status detail from a real SDK server
(flyte-sdk's ``c0`` and flytekit 1.13's ``pyflyte serve agent``) is read, cleaned and bounded as the
in-process path bounds a connector's error, naming the upstream."""

from __future__ import annotations

import grpc
import pytest

from modern.errors import MAX_DETAILS, TRUNCATED
from tests._servers import run
from tests.gateway._huge_error import EXCEPTION_LINE, HEAD, HUGE_ERROR_TYPE
from tests.gateway._upstreams import SdkServer, gateway
from tests.modern._connectors import create_request, template
from tests.modern._gen_client import GENERATIONS, GenClient

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]


def assert_clean(details: str, upstream: str) -> None:
    """One bounded line naming the upstream, no traceback frames."""
    assert len(details) <= MAX_DETAILS, len(details)
    assert f"upstream {upstream}" in details, details[:200]
    assert "\n" not in details and "Traceback" not in details and 'File "' not in details, details[:300]


@pytest.mark.parametrize("kind", ["c0", "old_agent"])
@pytest.mark.parametrize("gen", GENERATIONS)
def test_200kb_upstream_error_reaches_the_caller_bounded(kind: str, gen: str, request: pytest.FixtureRequest) -> None:
    server: SdkServer = request.getfixturevalue(f"{kind}_server" if kind == "c0" else kind)

    async def body() -> None:
        async with gateway(server.address) as (s, _):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await GenClient(gen, s).create(create_request(template(HUGE_ERROR_TYPE, {"size": 200_000})), timeout=30)
            details = err.value.details()
            assert err.value.code() == grpc.StatusCode.INTERNAL, (err.value.code(), details[:300])
            assert_clean(details, server.address)
            assert HEAD in details and EXCEPTION_LINE in details and details.endswith(TRUNCATED), details[:300]

    run(body(), timeout=120)
