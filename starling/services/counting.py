"""Counter rules: what a change adds to which counts, and what each count is (to check and
repair them against the rows they count)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, text

from starling.db import Database
from starling.storage import counters
from starling.storage.counters import Delta, Kind


def conversation_deltas(
    *,
    reply_to_id: int | None,
    quote_of_id: int | None,
    retweet_of_id: int | None,
    author_protected: bool,
    amount: int,
) -> list[Delta]:
    """What one tweet adds to (or, with ``amount=-1``, takes from) the reply, quote and retweet
    counts of the tweets it points at. A protected account's tweets are not counted: a count
    anyone can read must not reveal a tweet only approved followers may see."""
    if author_protected:
        return []
    return [
        Delta("tweet", target_id, field, amount)
        for target_id, field in (
            (reply_to_id, "reply_count"),
            (quote_of_id, "quote_count"),
            (retweet_of_id, "retweet_count"),
        )
        if target_id is not None
    ]


# What each count is, recounted from the rows it counts. Kept in step with the deltas above
# and in the services: the fault tests compare every live count with these.
_ACTUAL: dict[Kind, str] = {
    "tweet": """
        SELECT t.id AS object_id,
          (SELECT count(*) FROM likes l WHERE l.tweet_id = t.id) AS like_count,
          (SELECT count(*) FROM tweets r JOIN users u ON u.id = r.author_id
            WHERE r.retweet_of_tweet_id = t.id AND r.deleted_at IS NULL AND NOT u.protected)
            AS retweet_count,
          (SELECT count(*) FROM tweets r JOIN users u ON u.id = r.author_id
            WHERE r.reply_to_tweet_id = t.id AND r.deleted_at IS NULL AND NOT u.protected)
            AS reply_count,
          (SELECT count(*) FROM tweets r JOIN users u ON u.id = r.author_id
            WHERE r.quote_of_tweet_id = t.id AND r.deleted_at IS NULL AND NOT u.protected)
            AS quote_count,
          (SELECT count(*) FROM bookmarks b WHERE b.tweet_id = t.id) AS bookmark_count
        FROM tweets t {scope}""",
    "user": """
        SELECT u.id AS object_id,
          (SELECT count(*) FROM followers f WHERE f.user_id = u.id) AS followers_count,
          (SELECT count(*) FROM following f WHERE f.user_id = u.id) AS following_count,
          (SELECT count(*) FROM tweets t WHERE t.author_id = u.id AND t.deleted_at IS NULL)
            AS tweets_count,
          (SELECT count(*) FROM likes l WHERE l.user_id = u.id) AS likes_count
        FROM users u {scope}""",
}


@dataclass(frozen=True)
class Drift:
    kind: Kind
    object_id: int
    field: str
    counted: int
    actual: int


def _actual_with_pending(kind: Kind, ids: Sequence[int] | None) -> tuple[str, dict[str, object]]:
    """A FROM clause: each object's recount ``a`` beside its pending deltas ``p``."""
    alias = "t" if kind == "tweet" else "u"
    scope = "" if ids is None else f"WHERE {alias}.id = ANY(:ids)"
    clause = (
        f"FROM ({_ACTUAL[kind].format(scope=scope)}) a "
        f"CROSS JOIN LATERAL (SELECT {counters.field_sums_sql(kind)} "
        f"FROM counter_deltas d WHERE d.kind = '{kind}' AND d.object_id = a.object_id) p"
    )
    return clause, ({} if ids is None else {"ids": list(ids)})


async def drift(db: Database, kind: Kind, ids: Sequence[int] | None = None) -> list[Drift]:
    """Every count (stored + pending) that differs from a recount of its rows."""
    source, params = _actual_with_pending(kind, ids)
    table, key = counters.TABLES[kind]
    fields = counters.FIELDS[kind]
    columns = ", ".join(f"s.{f} + p.{f} AS c_{f}, a.{f} AS a_{f}" for f in fields)
    statement = text(
        f"SELECT a.object_id, {columns} {source} JOIN {table.name} s ON s.{key} = a.object_id"
    )
    async with db.read_session() as session:
        rows = (await session.execute(statement, params)).mappings().all()
    return [
        Drift(kind, row["object_id"], f, row[f"c_{f}"], row[f"a_{f}"])
        for row in rows
        for f in fields
        if row[f"c_{f}"] != row[f"a_{f}"]
    ]


async def repair(db: Database, kind: Kind, ids: Sequence[int] | None = None) -> int:
    """Set stored counts so that stored + pending equals a recount; returns rows changed.

    One statement under the flusher's lock: the recount and the pending deltas come from one
    snapshot, and a change committing meanwhile brings its row and its delta together."""
    source, params = _actual_with_pending(kind, ids)
    table, key = counters.TABLES[kind]
    fields = counters.FIELDS[kind]
    statement = text(
        f"WITH target AS (SELECT a.object_id, {', '.join(f'a.{f} - p.{f} AS {f}' for f in fields)} "
        f"{source}) UPDATE {table.name} s SET {', '.join(f'{f} = t.{f}' for f in fields)} "
        f"FROM target t WHERE s.{key} = t.object_id "
        f"AND ({' OR '.join(f's.{f} <> t.{f}' for f in fields)}) RETURNING 1"
    )
    async with db.session() as session:
        await session.execute(select(func.pg_advisory_xact_lock(counters.FLUSH_LOCK)))
        return len((await session.execute(statement, params)).all())
