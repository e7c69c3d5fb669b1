"""Read side for users: batched lookups used by the dataloaders."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from starling.db import Database
from starling.models import User, UserStats


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


async def stats_by_user_ids(db: Database, ids: Sequence[int]) -> list[UserStats]:
    async with db.read_session() as session:
        rows = (await session.scalars(select(UserStats).where(UserStats.user_id.in_(ids)))).all()
    by_id = {stats.user_id: stats for stats in rows}
    return [
        by_id.get(i)
        or UserStats(user_id=i, followers_count=0, following_count=0, tweets_count=0, likes_count=0)
        for i in ids
    ]
