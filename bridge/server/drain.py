"""How a bridge replica leaves: so that a rolling update fails no call a client has already sent.

What gRPC core does when the server is stopped (``server.stop(grace)``, both ``grpc.aio`` and the
thread-pool server; core's ``Server::ShutdownAndNotify``), in this order and at once:

1. calls that have reached the server but that the application has not yet picked up (core's
   "pending" queue: the Python servers ask core for one call at a time, so under load a few calls
   always wait there) are dropped: the client gets CANCELLED;
2. the listening socket is closed: new connections are refused, and a client's next attempt on this
   address fails with UNAVAILABLE "Connection refused" until its balancer stops picking it;
3. every connection gets a GOAWAY; calls the application already holds run on for ``grace``
   seconds, then are cancelled.

There is no way from Python to send the GOAWAY first and keep taking calls (core's ``SendGoaways``
is not exposed). So the bridge:

- reports NOT_SERVING on the health service first: the Kubernetes readiness probe fails, the pod
  leaves the Service's endpoints, and a client whose resolver watches them (FlytePropeller's
  ``k8s://`` endpoints) stops sending here;
- keeps serving every call for ``drain_delay`` seconds meanwhile (0 by default: the manifests'
  ``preStop`` sleep plays that part on Kubernetes; a static address list learns nothing from it);
- never refuses a call that core has handed over (it used to answer UNAVAILABLE "server is
  draining" to those, which were the most frequent failure of a rolling update: they would have
  finished well within the grace);
- then stops the server: GOAWAY, and the calls in flight finish within ``grace``.

What is left for a client with a static address list is core's step 1 and the calls on the wire
when the GOAWAY goes out: both end CANCELLED, a few per restart at most, and only under load
(README / docs "Rolling updates" has the figures).
"""

from __future__ import annotations

import asyncio
import logging

from bridge.server.health import BridgeHealth

log = logging.getLogger(__name__)


async def drain(health: BridgeHealth, drain_delay: float = 0.0) -> None:
    """Report NOT_SERVING, then keep serving for ``drain_delay`` seconds; the caller stops the server next.

    Args:
        health: The server's health service.
        drain_delay: Seconds to keep serving every call after NOT_SERVING, while load balancers take
            this replica out (0: stop right away).
    """
    await health.drain()
    if drain_delay > 0:
        log.info("NOT_SERVING; still serving for %.1fs while clients move away", drain_delay)
        await asyncio.sleep(drain_delay)


__all__ = ["drain"]
