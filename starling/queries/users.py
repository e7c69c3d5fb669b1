"""Read side for users: batched lookups used by the dataloaders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import func, select

from starling.db import Database
from starling.models import User, UserStats
from starling.storage import counters


async def users_by_ids(db: Database, ids: Sequence[int]) -> list[User | None]:
    async with db.read_session() as session:
        rows = (await session.scalars(select(User).where(User.id.in_(ids)))).all()
    by_id = {user.id: user for user in rows}
    return [by_id.get(i) for i in ids]


async def users_by_usernames(db: Database, usernames: Sequence[str]) -> list[User | None]:
    lowered = [name.lower() for name in usernames]
    async with db.read_session() as session:
        rows = (
            await session.scalars(select(User).where(func.lower(User.username).in_(lowered)))
        ).all()
    by_name = {user.username.lower(): user for user in rows}
    return [by_name.get(name) for name in lowered]


@dataclass(frozen=True)
class UserCounts:
    followers_count: int = 0
    following_count: int = 0
    tweets_count: int = 0
    likes_count: int = 0


async def user_counts(db: Database, redis: Redis, ids: Sequence[int]) -> list[UserCounts]:
    """Stored counts plus the deltas not yet flushed."""
    async with db.read_session() as session:
        rows = (await session.scalars(select(UserStats).where(UserStats.user_id.in_(ids)))).all()
    stored = {row.user_id: row for row in rows}
    deltas = await counters.pending(redis, "user", ids)
    return [
        UserCounts(
            **{
                field: (getattr(stored[i], field) if i in stored else 0) + delta.get(field, 0)
                for field in counters.USER_FIELDS
            }
        )
        for i, delta in zip(ids, deltas, strict=True)
    ]
