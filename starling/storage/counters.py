"""Engagement counters: deltas in Redis, flushed to PostgreSQL in batches. Owns ``counters:*``.

A like adds +1 to ``counters:tweet:<id>`` (field ``like_count``) after its row is committed, so
the count a reader sees (stored + pending) is right at once, and a hot tweet's row is written once
per flush instead of once per like. The flusher moves a key's deltas to ``counters:inflight:*``
atomically, applies them in one transaction, then deletes the inflight key; readers add pending
and inflight, so no delta is invisible while it moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from sqlalchemy import Table, Update, bindparam, update

from starling.db import Database
from starling.models import TweetStats, UserStats

Kind = Literal["tweet", "user"]
TWEET_FIELDS = ("like_count", "retweet_count", "reply_count", "quote_count", "bookmark_count")
USER_FIELDS = ("followers_count", "following_count", "tweets_count", "likes_count")
DIRTY = "counters:dirty"
FLUSH_LOCK = "counters:flush-lock"
BATCH = 500

# Adds the pending deltas into the inflight hash and deletes the pending key, atomically.
_MOVE_TO_INFLIGHT = """
local values = redis.call('HGETALL', KEYS[1])
for i = 1, #values, 2 do
  redis.call('HINCRBY', KEYS[2], values[i], values[i + 1])
end
redis.call('DEL', KEYS[1])
return redis.call('HGETALL', KEYS[2])
"""


def _pending(kind: Kind, object_id: int) -> str:
    return f"counters:{kind}:{object_id}"


def _inflight(kind: Kind, object_id: int) -> str:
    return f"counters:inflight:{kind}:{object_id}"


@dataclass(frozen=True)
class Delta:
    kind: Kind
    object_id: int
    field: str
    amount: int


async def add(redis: Redis, deltas: Sequence[Delta]) -> None:
    """Record committed changes (call after the transaction that made them commits)."""
    if not deltas:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for delta in deltas:
            pipe.hincrby(_pending(delta.kind, delta.object_id), delta.field, delta.amount)
            pipe.sadd(DIRTY, f"{delta.kind}:{delta.object_id}")
        await pipe.execute()


async def pending(redis: Redis, kind: Kind, ids: Sequence[int]) -> list[dict[str, int]]:
    """Not-yet-flushed deltas per id (pending + inflight), one round trip for the batch."""
    async with redis.pipeline(transaction=False) as pipe:
        for object_id in ids:
            pipe.hgetall(_pending(kind, object_id))
            pipe.hgetall(_inflight(kind, object_id))
        results = await pipe.execute()
    merged: list[dict[str, int]] = []
    for i in range(len(ids)):
        totals: dict[str, int] = {}
        for raw in (results[2 * i], results[2 * i + 1]):
            for name, value in raw.items():
                key = name.decode() if isinstance(name, bytes) else name
                totals[key] = totals.get(key, 0) + int(value)
        merged.append(totals)
    return merged


async def flush(redis: Redis, db: Database) -> int:
    """Apply pending deltas to tweet_stats and user_stats; returns how many rows were updated.

    One flusher at a time (a Redis lock); each batch commits before its inflight keys go.
    """
    if not await redis.set(FLUSH_LOCK, 1, ex=120, nx=True):
        return 0
    try:
        move = redis.register_script(_MOVE_TO_INFLIGHT)
        updated = 0
        while members := await redis.spop(DIRTY, BATCH):
            batch: list[tuple[Kind, int, dict[str, int]]] = []
            for member in members:
                kind_name, _, raw_id = member.decode().partition(":")
                kind: Kind = "tweet" if kind_name == "tweet" else "user"
                object_id = int(raw_id)
                values = await move(keys=[_pending(kind, object_id), _inflight(kind, object_id)])
                deltas = {values[i].decode(): int(values[i + 1]) for i in range(0, len(values), 2)}
                batch.append((kind, object_id, deltas))
            async with db.session() as session:
                for kind, statement, fields in _STATEMENTS:
                    rows = [
                        {"key": object_id, **{f"d_{f}": deltas.get(f, 0) for f in fields}}
                        for row_kind, object_id, deltas in batch
                        if row_kind == kind and any(deltas.values())
                    ]
                    if rows:
                        await session.execute(statement, rows)
                        updated += len(rows)
            async with redis.pipeline(transaction=False) as pipe:
                for kind, object_id, _ in batch:
                    pipe.delete(_inflight(kind, object_id))
                await pipe.execute()
        return updated
    finally:
        await redis.delete(FLUSH_LOCK)


def _add_deltas(table: Table, key_column: str, fields: tuple[str, ...]) -> Update:
    """UPDATE table SET f = f + :d_f ... WHERE key = :key, run once per row (executemany)."""
    return (
        update(table)
        .where(table.c[key_column] == bindparam("key"))
        .values({f: table.c[f] + bindparam(f"d_{f}") for f in fields})
    )


_STATEMENTS: tuple[tuple[Kind, Update, tuple[str, ...]], ...] = (
    ("tweet", _add_deltas(TweetStats.__table__, "tweet_id", TWEET_FIELDS), TWEET_FIELDS),
    ("user", _add_deltas(UserStats.__table__, "user_id", USER_FIELDS), USER_FIELDS),
)
