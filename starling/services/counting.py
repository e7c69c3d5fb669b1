"""Counter rules: what a change adds to which counts."""

from __future__ import annotations

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
