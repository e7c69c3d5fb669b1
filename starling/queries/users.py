"""Read side for users: batched lookups used by the dataloaders (prebuilt Core statements)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import Row, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from starling.db import Database
from starling.models import User, UserStats
from starling.queries.common import ids_param
from starling.storage import counters

_USERS_BY_IDS = select(*User.__table__.c).where(User.id == any_(ids_param()))
_USERS_BY_NAMES = select(*User.__table__.c).where(
    func.lower(User.username) == any_(bindparam("names", type_=ARRAY(String)))
)
_STATS = select(*UserStats.__table__.c).where(UserStats.user_id == any_(ids_param()))


async def users_by_ids(db: Database, ids: Sequence[int]) -> list[Row[Any] | None]:
    """User rows (with the User model's attribute names) in the order asked, None if missing."""
    by_id = {row.id: row for row in await db.rows(_USERS_BY_IDS, {"ids": list(ids)})}
    return [by_id.get(i) for i in ids]


async def users_by_usernames(db: Database, usernames: Sequence[str]) -> list[Row[Any] | None]:
    lowered = [name.lower() for name in usernames]
    rows = await db.rows(_USERS_BY_NAMES, {"names": lowered})
    by_name = {row.username.lower(): row for row in rows}
    return [by_name.get(name) for name in lowered]


@dataclass(frozen=True)
class UserCounts:
    followers_count: int = 0
    following_count: int = 0
    tweets_count: int = 0
    likes_count: int = 0


async def user_counts(db: Database, redis: Redis, ids: Sequence[int]) -> list[UserCounts]:
    """Stored counts plus the deltas not yet flushed."""
    stored = {row.user_id: row for row in await db.rows(_STATS, {"ids": list(ids)})}
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
