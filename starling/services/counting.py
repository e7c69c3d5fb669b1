"""Recording counter changes: the delta in Redis, and a live update for anyone watching."""

from __future__ import annotations

from collections.abc import Sequence

from starling.core import Core
from starling.storage import counters
from starling.storage.counters import Delta


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


async def record(core: Core, deltas: Sequence[Delta]) -> None:
    """Call after the transaction that made the change commits."""
    if not deltas:
        return
    await counters.add(core.redis.main, deltas)
    await core.events.engagement_changed(d.object_id for d in deltas if d.kind == "tweet")
