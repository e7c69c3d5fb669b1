"""Reading credentials off a request: ``Authorization: Bearer <token>``."""

from __future__ import annotations

from collections.abc import Mapping


def bearer_token(authorization: object) -> str | None:
    """The token in an ``Authorization`` value, or None when there is none or it is malformed."""
    if not isinstance(authorization, str):
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authorization_param(params: Mapping[str, object] | None) -> object:
    """The authorization value of a WebSocket connection_init payload (any key case)."""
    if not params:
        return None
    for key, value in params.items():
        if key.lower() == "authorization":
            return value
    return None
