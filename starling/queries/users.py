"""Read side for users: batched lookups used by the dataloaders (prebuilt Core statements)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, FromClause, Join, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from starling.db import Database, Prepared
from starling.models import User
from starling.queries.common import ids_param
from starling.records import USER_COLUMNS, UserRecord
from starling.storage import counters

_USERS_BY_IDS = Prepared(select(*USER_COLUMNS).where(User.id == any_(ids_param())))
_USERS_BY_NAMES = Prepared(
    select(*USER_COLUMNS).where(
        func.lower(User.username) == any_(bindparam("names", type_=ARRAY(String)))
    )
)
_COUNTS = Prepared(counters.live_counts("user", ids_param()))


def with_counts(users: FromClause) -> tuple[Join, list[ColumnElement[Any]]]:
    """``users`` joined to their live counts, and the columns ``user_with_counts`` reads: the
    record's, then the counts."""
    joined, counts = counters.with_live_counts("user", users, users.c.id)
    return joined, [*(users.c[name] for name in UserRecord._names), *counts]


def user_with_counts(values: Sequence[Any]) -> tuple[UserRecord, UserCounts]:
    """A user and their counts from the columns of ``with_counts``, in order."""
    return (
        UserRecord.of_values(values[:_USER_FIELDS]),
        UserCounts(*values[_USER_FIELDS:USER_WITH_COUNTS_FIELDS]),
    )


def _users_with_counts_by_names() -> Prepared:
    users = User.__table__
    joined, columns = with_counts(users)
    return Prepared(
        select(*columns)
        .select_from(joined)
        .where(func.lower(users.c.username) == any_(bindparam("names", type_=ARRAY(String))))
    )


async def users_by_ids(db: Database, ids: Sequence[int]) -> list[UserRecord | None]:
    """Users in the order asked, None where missing."""
    rows = await db.fetch(_USERS_BY_IDS, {"ids": list(ids)})
    by_id = {row[0]: UserRecord.of_values(row) for row in rows}
    return [by_id.get(i) for i in ids]


async def users_by_usernames(db: Database, usernames: Sequence[str]) -> list[UserRecord | None]:
    lowered = [name.lower() for name in usernames]
    rows = await db.fetch(_USERS_BY_NAMES, {"names": lowered})
    by_name = {row["username"].lower(): UserRecord.of_values(row) for row in rows}
    return [by_name.get(name) for name in lowered]


class UserCounts(NamedTuple):
    followers_count: int = 0
    following_count: int = 0
    tweets_count: int = 0
    likes_count: int = 0


_USER_FIELDS = len(UserRecord._names)
USER_WITH_COUNTS_FIELDS = _USER_FIELDS + len(counters.USER_FIELDS)
_USERS_WITH_COUNTS_BY_NAMES = _users_with_counts_by_names()


async def users_with_counts_by_usernames(
    db: Database, usernames: Sequence[str]
) -> list[tuple[UserRecord, UserCounts] | None]:
    """``users_by_usernames`` and each one's ``user_counts``, in one statement."""
    lowered = [name.lower() for name in usernames]
    by_name = {
        row["username"].lower(): user_with_counts(row)
        for row in await db.fetch(_USERS_WITH_COUNTS_BY_NAMES, {"names": lowered})
    }
    return [by_name.get(name) for name in lowered]


async def user_counts(db: Database, ids: Sequence[int]) -> list[UserCounts]:
    """Stored counts plus the deltas not yet flushed."""
    by_id = {row[0]: row for row in await db.fetch(_COUNTS, {"ids": list(ids)})}
    return [UserCounts(*by_id[i][1:]) if i in by_id else UserCounts() for i in ids]
