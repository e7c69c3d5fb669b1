"""Login tokens. Clients hold an opaque token; PostgreSQL keeps its SHA-256; Redis caches the
hash -> user id lookup so authenticating a request is usually one GET. Owns ``session:*`` keys."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import LargeBinary, any_, bindparam, delete, func, update
from sqlalchemy.dialects.postgresql import ARRAY

from starling.core import Core
from starling.models import Session
from starling.storage import keys

TOKEN_PREFIX = "stl_"
CACHE_SECONDS = 300


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create(core: Core, user_id: int, user_agent: str | None = None) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(days=core.settings.session_ttl_days)
    async with core.db.session() as session:
        session.add(
            Session(
                user_id=user_id,
                token_hash=hash_token(token),
                user_agent=(user_agent or "")[:255] or None,
                expires_at=expires_at,
            )
        )
    return token


def well_formed(token: str) -> bool:
    """Whether a token could be one of ours (anything else is refused without a lookup)."""
    return token.startswith(TOKEN_PREFIX) and len(token) <= 100


async def user_id_for(core: Core, token: str) -> int | None:
    """The user a live token belongs to, or None for an unknown, revoked or expired token."""
    [user_id] = await user_ids_for(core, [token])
    return user_id


async def user_ids_for(core: Core, tokens: Sequence[str]) -> list[int | None]:
    """``user_id_for`` of many tokens: one MGET, and one statement for those not cached (a
    reconnect storm signs thousands of sockets a second)."""
    hashes = {token: hash_token(token) for token in tokens if well_formed(token)}
    found: dict[str, int | None] = {}
    if hashes:
        cached = await core.redis.main.mget([keys.session(h.hex()) for h in hashes.values()])
        missing = []
        for (token, token_hash), user_id in zip(hashes.items(), cached, strict=True):
            if user_id is None:
                missing.append(token_hash)
            else:
                found[token] = int(user_id)
        if missing:
            from_database = await user_ids_from_database(core, missing)
            for token, token_hash in hashes.items():
                if token not in found:
                    found[token] = from_database.get(token_hash)
    return [found.get(token) for token in tokens]


# Built once: a reconnect storm signs thousands of sockets in a second, and an ORM update costs
# several times this Core statement's CPU.
_TOUCH = (
    update(Session)
    .where(
        Session.token_hash == any_(bindparam("hashes", type_=ARRAY(LargeBinary))),
        Session.expires_at > func.now(),
    )
    .values(last_used_at=func.now())
    .returning(Session.token_hash, Session.user_id, Session.expires_at)
)


async def user_id_from_database(core: Core, token_hash: bytes) -> int | None:
    """``user_id_for`` when the cache has no answer: the live session's user, cached again."""
    return (await user_ids_from_database(core, [token_hash])).get(token_hash)


async def user_ids_from_database(core: Core, token_hashes: Sequence[bytes]) -> dict[bytes, int]:
    """The live sessions' users by token hash (unknown, revoked and expired ones absent), cached
    again."""
    rows = await core.db.write(_TOUCH, {"hashes": list(token_hashes)})
    now = datetime.now(UTC)
    async with core.redis.main.pipeline(transaction=False) as pipe:
        for row in rows:
            seconds_left = int((row.expires_at - now).total_seconds())
            pipe.set(
                keys.session(row.token_hash.hex()),
                row.user_id,
                ex=max(1, min(CACHE_SECONDS, seconds_left)),
            )
        if rows:
            await pipe.execute()
    return {bytes(row.token_hash): int(row.user_id) for row in rows}


async def revoke(core: Core, token: str) -> None:
    """Delete the session; open subscriptions made with this token end (they listen for it)."""
    token_hash = hash_token(token)
    async with core.db.session() as session:
        await session.execute(delete(Session).where(Session.token_hash == token_hash))
    await core.redis.main.delete(keys.session(token_hash.hex()))
    await core.events.publish_many([keys.REVOCATIONS], token_hash.hex())


async def purge_expired(core: Core) -> int:
    async with core.db.session() as session:
        result = await session.execute(
            delete(Session).where(Session.expires_at <= datetime.now(UTC)).returning(Session.id)
        )
        return len(result.all())
