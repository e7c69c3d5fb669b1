"""One registry per request; each loader batches the keys asked for in one tick into one query.

Loaders are viewer-aware: the tweet loader applies the visibility rule for this request's viewer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import TypeVar

from strawberry.dataloader import DataLoader

from starling.core import Core
from starling.queries import graph, media, tweets, users
from starling.queries.tweets import TweetCounts, TweetViewerState
from starling.queries.users import UserCounts
from starling.records import MediaRecord, TweetRecord, TweetVersionRecord, UserRecord
from starling.visibility import NO_RELATIONSHIP, Relationship

K = TypeVar("K")
V = TypeVar("V")


def _loader(load: Callable[[list[K]], Awaitable[Sequence[V]]]) -> DataLoader[K, V]:
    async def load_list(keys: list[K]) -> list[V]:
        return list(await load(keys))

    return DataLoader(load_fn=load_list)


class Loaders:
    def __init__(self, core: Core, viewer_id: int | None = None) -> None:
        self._core = core
        self._db = core.db
        self.viewer_id = viewer_id

    # --- users -------------------------------------------------------------------------------

    @cached_property
    def user_by_id(self) -> DataLoader[int, UserRecord | None]:
        return _loader(lambda ids: users.users_by_ids(self._db, ids))

    @cached_property
    def user_by_username(self) -> DataLoader[str, UserRecord | None]:
        async def load(names: list[str]) -> list[UserRecord | None]:
            found = await users.users_by_usernames(self._db, names)
            for user in found:
                if user is not None:
                    self.user_by_id.prime(user.id, user)
            return found

        return DataLoader(load_fn=load, cache_key_fn=str.lower)

    @cached_property
    def user_counts(self) -> DataLoader[int, UserCounts]:
        return _loader(lambda ids: users.user_counts(self._db, ids))

    @cached_property
    def relationship(self) -> DataLoader[int, Relationship]:
        """How the viewer stands with each user (nothing, for an anonymous viewer)."""

        async def load(ids: list[int]) -> list[Relationship]:
            if self.viewer_id is None:
                return [NO_RELATIONSHIP] * len(ids)
            return await graph.relationships(self._db, self.viewer_id, ids)

        return DataLoader(load_fn=load)

    # --- tweets ------------------------------------------------------------------------------

    @cached_property
    def tweet(self) -> DataLoader[int, TweetRecord | None]:
        """Tweets the viewer may see; None for missing, deleted or hidden ones."""
        return _loader(lambda ids: tweets.visible_tweets_by_ids(self._db, self.viewer_id, ids))

    @cached_property
    def tweet_media(self) -> DataLoader[int, list[MediaRecord]]:
        """Each tweet's media, in the order it was attached."""
        return _loader(lambda ids: media.media_of_tweets(self._db, ids))

    @cached_property
    def media(self) -> DataLoader[int, MediaRecord | None]:
        return _loader(lambda ids: media.media_by_ids(self._db, ids))

    @cached_property
    def engagement_velocity(self) -> DataLoader[int, float]:
        """Likes and retweets a minute, recently (Redis, one pipeline for the batch)."""
        return _loader(lambda ids: self._core.velocity.per_minute(ids, time.time()))

    def prime_tweets(self, records: Sequence[TweetRecord]) -> None:
        """Tweets a list query already read (with the same visibility rule)."""
        for tweet in records:
            self.tweet.prime(tweet.id, tweet)

    @cached_property
    def tweet_counts(self) -> DataLoader[int, TweetCounts]:
        return _loader(lambda ids: tweets.tweet_counts(self._db, ids))

    @cached_property
    def tweet_viewer_state(self) -> DataLoader[int, TweetViewerState]:
        async def load(ids: list[int]) -> list[TweetViewerState]:
            if self.viewer_id is None:
                return [TweetViewerState()] * len(ids)
            return await tweets.viewer_tweet_states(self._db, self.viewer_id, ids)

        return DataLoader(load_fn=load)

    @cached_property
    def hashtags(self) -> DataLoader[int, list[str]]:
        return _loader(lambda ids: tweets.hashtags_by_tweet_ids(self._db, ids))

    @cached_property
    def mentions(self) -> DataLoader[int, list[UserRecord]]:
        async def load(ids: list[int]) -> list[list[UserRecord]]:
            found = await tweets.mentioned_users_by_tweet_ids(self._db, ids)
            for users_of_tweet in found:
                for user in users_of_tweet:
                    self.user_by_id.prime(user.id, user)
            return found

        return DataLoader(load_fn=load)

    @cached_property
    def versions(self) -> DataLoader[int, list[TweetVersionRecord]]:
        return _loader(lambda ids: tweets.versions_by_tweet_ids(self._db, ids))
