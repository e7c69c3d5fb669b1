"""GET /metrics: Prometheus's text format, for scrapers on the networks allowed to read it."""

from __future__ import annotations

import ipaddress
from functools import cache

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.request_body import RequestRejected
from starling import metrics
from starling.core import Core
from starling.errors import ErrorCode

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(allowed: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(part.strip()) for part in allowed.split(",") if part.strip())


def allowed(client: str | None, allowed_networks: str) -> bool:
    """Operation names and queue depths are for operators, not for the internet."""
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in _networks(allowed_networks))


async def metrics_endpoint(request: Request) -> Response:
    core: Core = request.app.state.core
    client = request.client.host if request.client else None
    if not allowed(client, core.settings.metrics_allow_ips):
        refusal = RequestRejected(
            403, "Metrics are for the operators' networks.", ErrorCode.FORBIDDEN
        )
        return JSONResponse(refusal.body(), refusal.status)
    await metrics.sample(core)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
