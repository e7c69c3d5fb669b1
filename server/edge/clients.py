"""Which API client a request comes from (``X-Starling-Client: <key>``)."""

from __future__ import annotations

import time

from starlette.requests import Request

from server.request_body import RequestRejected
from starling.core import Core
from starling.errors import ErrorCode
from starling.queries.documents import ApiClientRecord, client_by_key_hash
from starling.services.api_clients import key_hash

HEADER = "x-starling-client"
# A revoked key keeps working at most this long on a process that has it cached.
CACHE_SECONDS = 30.0
MAX_KEY_LENGTH = 200

_cache: dict[bytes, tuple[float, ApiClientRecord | None]] = {}


async def client_of(request: Request, core: Core) -> ApiClientRecord | None:
    """The request's client; None for first-party requests (no key). An unknown or revoked key
    is refused (401): a client must not silently fall back to the first-party rules."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise _unknown()
    hashed = key_hash(key)
    cached = _cache.get(hashed)
    if cached is None or cached[0] < time.monotonic():
        if len(_cache) > 10_000:
            _cache.clear()
        cached = (time.monotonic() + CACHE_SECONDS, await client_by_key_hash(core.db, hashed))
        _cache[hashed] = cached
    if cached[1] is None:
        raise _unknown()
    return cached[1]


def _unknown() -> RequestRejected:
    return RequestRejected(401, "Unknown or revoked API client key.", ErrorCode.UNAUTHENTICATED)
