"""The gateway: serve task categories that other connector servers (upstreams) implement.

``Upstreams`` (``manager``) learns what each ``--upstream`` serves and keeps one
``UpstreamImplementation`` (``implementation``) per category in the registry; each forwards the hub's
calls over its upstream's ``grpc.aio`` channel (``client``), translated into the upstream's generation
(``dialect``). ``modern`` only defines what an implementation is; no face knows upstreams exist.
"""

from bridge.upstream.client import UpstreamClient, parse_address
from bridge.upstream.implementation import UpstreamImplementation
from bridge.upstream.manager import Upstreams, UpstreamStatus

__all__ = ["UpstreamClient", "UpstreamImplementation", "UpstreamStatus", "Upstreams", "parse_address"]
