"""Engagement counters: deltas appended in the write's transaction, flushed into the stats
tables in batches. Owns ``counter_deltas`` and the count columns of ``tweet_stats`` and
``user_stats``.

A like appends +1 for the tweet's ``like_count`` (and the liker's ``likes_count``) in the same
transaction as the like row, so a delta exists exactly when its change does: no crash or Redis
loss can drop one. Readers add the pending deltas to the stored counts in one statement (one
snapshot), so a count is right at once. The flusher deletes a batch of deltas and adds them to
the stats rows in one transaction, so a batch is applied exactly once whatever kills it; a hot
tweet's row is written once per flush instead of once per like, and writers never wait on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    FromClause,
    Join,
    Label,
    Select,
    Table,
    TextClause,
    any_,
    case,
    func,
    insert,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from starling.db import Database
from starling.models import CounterDelta, TweetStats, UserStats

Kind = Literal["tweet", "user"]
TWEET_FIELDS = ("like_count", "retweet_count", "reply_count", "quote_count", "bookmark_count")
USER_FIELDS = ("followers_count", "following_count", "tweets_count", "likes_count")
FIELDS: dict[Kind, tuple[str, ...]] = {"tweet": TWEET_FIELDS, "user": USER_FIELDS}
# (stats table, its key column) per kind.
TABLES: dict[Kind, tuple[Table, str]] = {
    "tweet": (TweetStats.__table__, "tweet_id"),  # type: ignore[dict-item]
    "user": (UserStats.__table__, "user_id"),  # type: ignore[dict-item]
}
# One flusher (or repair) at a time: a transaction-scoped advisory lock on this key.
FLUSH_LOCK = 0x636F756E74657273  # "counters"
FLUSH_BATCH = 20_000


@dataclass(frozen=True)
class Delta:
    kind: Kind
    object_id: int
    field: str
    amount: int


async def record(session: AsyncSession, deltas: Sequence[Delta]) -> None:
    """Append deltas in the caller's transaction, summed per counter first."""
    totals: Counter[tuple[Kind, int, str]] = Counter()
    for delta in deltas:
        if delta.field not in FIELDS[delta.kind]:
            raise ValueError(f"no counter {delta.kind}.{delta.field}")
        totals[(delta.kind, delta.object_id, delta.field)] += delta.amount
    rows = [
        {"kind": kind, "object_id": object_id, "field": name, "amount": amount}
        for (kind, object_id, name), amount in totals.items()
        if amount
    ]
    if rows:
        await session.execute(insert(CounterDelta), rows)


def field_sums_sql(kind: Kind) -> str:
    """SQL select-list summing a set of ``counter_deltas`` rows into one column per field."""
    return ", ".join(
        f"coalesce(sum(amount) FILTER (WHERE field = '{f}'), 0) AS {f}" for f in FIELDS[kind]
    )


def _pending_sums(kind: Kind, key: object) -> Select[*tuple[int, ...]]:
    """Per field, the sum of the deltas not yet flushed for the object ``key`` names."""
    return select(
        *(
            func.coalesce(
                func.sum(CounterDelta.amount).filter(CounterDelta.field == name), 0
            ).label(name)
            for name in FIELDS[kind]
        )
    ).where(CounterDelta.kind == kind, CounterDelta.object_id == key)


def live_counts(kind: Kind, ids: BindParameter[Sequence[int]]) -> Select[tuple[int, ...]]:
    """Stored counts plus pending deltas of the objects in ``ids``, in one statement (one
    snapshot: a flush is seen whole or not at all). Build once, reuse."""
    table, key_name = TABLES[kind]
    key = table.c[key_name]
    pending = _pending_sums(kind, key).lateral("pending")
    return (
        select(key, *((table.c[name] + pending.c[name]).label(name) for name in FIELDS[kind]))
        .select_from(table.join(pending, true()))
        .where(key == any_(ids))
    )


def with_live_counts(
    kind: Kind, objects: FromClause, key: ColumnElement[int]
) -> tuple[Join, list[Label[int]]]:
    """``objects`` joined to the stored counts and pending deltas of the object ``key`` names,
    and one column per field: what ``live_counts`` reads, read beside the objects themselves
    (0 where an object has no stats row)."""
    table, key_name = TABLES[kind]
    # Named by kind: a statement may read a user's counts beside its tweets'.
    pending = _pending_sums(kind, key).lateral(f"pending_{kind}")
    stored = table.c[key_name]
    joined = objects.outerjoin(table, stored == key).join(pending, true())
    columns = [
        case((stored.is_(None), 0), else_=table.c[name] + pending.c[name]).label(name)
        for name in FIELDS[kind]
    ]
    return joined, columns


async def flush(db: Database, batch: int = FLUSH_BATCH) -> int:
    """Move pending deltas into the stats rows; returns how many deltas were applied."""
    applied = 0
    while True:
        async with db.session() as session:
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(FLUSH_LOCK))):
                return applied  # another flusher is at it
            taken = int(await session.scalar(_FLUSH, {"limit": batch}) or 0)
        applied += taken
        if taken < batch:
            return applied


def _flush_statement() -> TextClause:
    """Delete the oldest deltas and add their sums to the stats rows: one statement, so the
    batch is applied exactly once or not at all."""
    parts = [
        "taken AS (DELETE FROM counter_deltas WHERE id IN "
        "(SELECT id FROM counter_deltas ORDER BY id LIMIT :limit) "
        "RETURNING kind, object_id, field, amount)"
    ]
    for kind, fields in FIELDS.items():
        table, key = TABLES[kind]
        sets = ", ".join(f"{f} = s.{f} + t.{f}" for f in fields)
        parts.append(
            f"{kind}_sums AS (SELECT object_id, {field_sums_sql(kind)} FROM taken "
            f"WHERE kind = '{kind}' GROUP BY object_id)"
        )
        parts.append(
            f"{kind}_updated AS (UPDATE {table.name} s SET {sets} "
            f"FROM {kind}_sums t WHERE s.{key} = t.object_id RETURNING 1)"
        )
    # PostgreSQL runs every data-modifying CTE to completion, read or not; deltas of a row
    # that is gone (a purged tweet) are simply dropped.
    return text(f"WITH {', '.join(parts)} SELECT count(*) FROM taken")


_FLUSH = _flush_statement()


async def pending_count(db: Database) -> int:
    async with db.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(CounterDelta)) or 0)
