"""Batching for live deliveries, shared by every subscription in one API process.

When a tweet is fanned out, every local subscriber it concerns wakes at once. Asked one by one,
"does this tweet belong in my timeline?" would be a query per socket; here the questions of one
tick are grouped by tweet and answered with one query per tweet (and the tweet and its author are
read once).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from starling.db import Database
from starling.queries import home, tweets, users
from starling.records import TweetRecord, UserRecord


@dataclass(frozen=True)
class Delivery:
    """One tweet for every viewer asking about it in one batch: what is rendered from it for
    one of them (by a selection that reads nothing per viewer) is kept here for the others."""

    tweet: TweetRecord
    author: UserRecord | None
    rendered: dict[Any, Any] = field(default_factory=dict, compare=False)


class LiveDeliveries:
    def __init__(self, db: Database) -> None:
        self._db = db
        # No cache: each event is a fresh question (blocks and follows change).
        self._loader: DataLoader[tuple[int, int], Delivery | None] = DataLoader(
            load_fn=self._load, cache=False
        )

    async def home_tweet(self, tweet_id: int, viewer_id: int) -> Delivery | None:
        """The tweet, if it belongs in the viewer's home timeline."""
        return await self._loader.load((tweet_id, viewer_id))

    async def _load(self, keys: list[tuple[int, int]]) -> list[Delivery | None]:
        viewers_by_tweet: dict[int, list[int]] = defaultdict(list)
        for tweet_id, viewer_id in keys:
            viewers_by_tweet[tweet_id].append(viewer_id)
        tweet_ids = list(viewers_by_tweet)
        # Read whatever their visibility: viewers_who_get applies the rule for each viewer.
        found = {
            row.id: TweetRecord.of(row)
            for row in await self._db.rows(tweets.TWEETS_BY_IDS, {"ids": tweet_ids})
        }
        author_ids = list({row.author_id for row in found.values()})
        authors = dict(zip(author_ids, await users.users_by_ids(self._db, author_ids), strict=True))
        allowed = dict(
            zip(
                tweet_ids,
                await asyncio.gather(
                    *(home.viewers_who_get(self._db, t, v) for t, v in viewers_by_tweet.items())
                ),
                strict=True,
            )
        )
        deliveries = {t: Delivery(found[t], authors.get(found[t].author_id)) for t in found}
        return [deliveries[t] if t in found and v in allowed[t] else None for t, v in keys]
