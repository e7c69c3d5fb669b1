"""The Tweet type and its edit history. Every nested read goes through a dataloader."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from schema.connections import Connection
from schema.context import Info
from schema.node import Node, to_global_id
from schema.selection import subfield_names
from starling.queries import tweets as tweet_queries
from starling.queries.pagination import Page, page_request
from starling.queries.tweets import TweetCounts, TweetViewerState
from starling.records import TweetRecord, UserRecord

if TYPE_CHECKING:
    from schema.media import Media
    from schema.users import User

UserType = Annotated["User", strawberry.lazy("schema.users")]
MediaType = Annotated["Media", strawberry.lazy("schema.media")]


@strawberry.type(description="One text of a tweet; every edit adds a version.")
class TweetVersion:
    number: int
    text: str
    created_at: datetime


COUNT_FIELDS = {"likeCount", "retweetCount", "replyCount", "quoteCount", "bookmarkCount"}
VIEWER_FIELDS = {"viewerHasLiked", "viewerHasRetweeted", "viewerHasBookmarked"}


@dataclass(frozen=True)
class Prefetched:
    """What a list resolver already loaded for a tweet in one batch, so the fields that show it
    are plain (no coroutine per field). Anything missing is loaded through the dataloaders."""

    author: UserRecord | None = None
    counts: TweetCounts | None = None
    viewer_state: TweetViewerState | None = None


@strawberry.type(description="A tweet, reply, quote or retweet (a retweet has empty text).")
class Tweet(Node):
    id: strawberry.ID
    text: str
    created_at: datetime
    edited_at: datetime | None
    db_id: strawberry.Private[int]
    conversation_root_id: strawberry.Private[int]
    author_id: strawberry.Private[int]
    reply_to_id: strawberry.Private[int | None]
    quote_of_id: strawberry.Private[int | None]
    retweet_of_id: strawberry.Private[int | None]
    prefetched: strawberry.Private[Prefetched | None] = None

    @classmethod
    def from_record(cls, tweet: TweetRecord, prefetched: Prefetched | None = None) -> Tweet:
        return cls(
            id=to_global_id("Tweet", tweet.id),
            text=tweet.text,
            created_at=tweet.created_at,
            edited_at=tweet.edited_at,
            db_id=tweet.id,
            conversation_root_id=tweet.conversation_id,
            author_id=tweet.author_id,
            reply_to_id=tweet.reply_to_tweet_id,
            quote_of_id=tweet.quote_of_tweet_id,
            retweet_of_id=tweet.retweet_of_tweet_id,
            prefetched=prefetched,
        )

    @strawberry.field
    def author(self, info: Info) -> UserType:
        from schema.users import User

        if self.prefetched is not None and self.prefetched.author is not None:
            return User.from_record(self.prefetched.author)
        return self._load_author(info)  # type: ignore[return-value]

    async def _load_author(self, info: Info) -> User:
        from schema.users import User

        author = await info.context.loaders.user_by_id.load(self.author_id)
        assert author is not None  # tweets go with their author (ON DELETE CASCADE)
        return User.from_record(author)

    @strawberry.field(
        description="The id of the conversation's first tweet when the viewer may see that "
        "tweet; otherwise an opaque id that still groups the conversation but names no tweet."
    )
    def conversation_id(self, info: Info) -> strawberry.ID:
        if self.conversation_root_id == self.db_id:
            return self.id
        return self._conversation_id(info)  # type: ignore[return-value]

    async def _conversation_id(self, info: Info) -> strawberry.ID:
        if await info.context.loaders.tweet.load(self.conversation_root_id) is not None:
            return to_global_id("Tweet", self.conversation_root_id)
        return sealed_conversation_id(
            info.context.core.settings.secret_key, self.conversation_root_id
        )

    @strawberry.field(description="The tweet this replies to, if the viewer may see it.")
    async def reply_to(self, info: Info) -> Tweet | None:
        return await visible_tweet(info, self.reply_to_id)

    @strawberry.field(description="The quoted tweet, if the viewer may see it.")
    async def quoted(self, info: Info) -> Tweet | None:
        return await visible_tweet(info, self.quote_of_id)

    @strawberry.field(description="For a retweet, the tweet retweeted.")
    async def retweet_of(self, info: Info) -> Tweet | None:
        return await visible_tweet(info, self.retweet_of_id)

    @strawberry.field(description="Lower-cased, without '#'.")
    async def hashtags(self, info: Info) -> list[str]:
        return await info.context.loaders.hashtags.load(self.db_id)

    @strawberry.field
    async def mentions(self, info: Info) -> list[UserType]:
        from schema.users import User

        return [
            User.from_record(user) for user in await info.context.loaders.mentions.load(self.db_id)
        ]

    @strawberry.field
    def like_count(self, info: Info) -> int:
        return self._count(info, "like_count")

    @strawberry.field
    def retweet_count(self, info: Info) -> int:
        return self._count(info, "retweet_count")

    @strawberry.field
    def reply_count(self, info: Info) -> int:
        return self._count(info, "reply_count")

    @strawberry.field
    def quote_count(self, info: Info) -> int:
        return self._count(info, "quote_count")

    @strawberry.field
    def bookmark_count(self, info: Info) -> int:
        return self._count(info, "bookmark_count")

    @strawberry.field(description="Images attached, in order.")
    async def media(self, info: Info) -> list[MediaType]:
        from schema.media import Media

        return [
            Media.from_record(m) for m in await info.context.loaders.tweet_media.load(self.db_id)
        ]

    @strawberry.field(
        description="Likes and retweets a minute over the last 10 minutes: how fast it is "
        "taking off now."
    )
    async def engagement_velocity(self, info: Info) -> float:
        return await info.context.loaders.engagement_velocity.load(self.db_id)

    @strawberry.field
    def viewer_has_liked(self, info: Info) -> bool:
        return self._viewer_state(info, "liked")

    @strawberry.field
    def viewer_has_retweeted(self, info: Info) -> bool:
        return self._viewer_state(info, "retweeted")

    @strawberry.field
    def viewer_has_bookmarked(self, info: Info) -> bool:
        return self._viewer_state(info, "bookmarked")

    def _count(self, info: Info, name: str) -> int:
        if self.prefetched is not None and self.prefetched.counts is not None:
            return int(getattr(self.prefetched.counts, name))
        return _attribute(info.context.loaders.tweet_counts.load(self.db_id), name)  # type: ignore[return-value]

    def _viewer_state(self, info: Info, name: str) -> bool:
        if self.prefetched is not None and self.prefetched.viewer_state is not None:
            return bool(getattr(self.prefetched.viewer_state, name))
        return _attribute(info.context.loaders.tweet_viewer_state.load(self.db_id), name)  # type: ignore[return-value]

    @strawberry.field(description="Edit history, oldest first.")
    async def versions(self, info: Info) -> list[TweetVersion]:
        versions = await info.context.loaders.versions.load(self.db_id)
        return [
            TweetVersion(number=v.number, text=v.text, created_at=v.created_at) for v in versions
        ]

    @strawberry.field(description="Direct replies, oldest first; muted accounts left out.")
    async def replies(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Tweet]:
        page = await tweet_queries.replies(
            info.context.core.db, info.context.viewer_id, self.db_id, page_request(first, after)
        )
        return await tweet_connection(info, page)


def sealed_conversation_id(secret_key: str, root_id: int) -> strawberry.ID:
    """A stable id for a conversation whose first tweet is hidden from the viewer: keyed, so it
    cannot be turned back into the tweet's id."""
    digest = hmac.digest(secret_key.encode(), root_id.to_bytes(8, "big"), "sha256")
    return to_global_id("Conversation", int.from_bytes(digest[:8], "big") >> 1 or 1)


async def visible_tweet(info: Info, tweet_id: int | None) -> Tweet | None:
    """The tweet if the viewer may see it (the one read rule, batched), else None."""
    if tweet_id is None:
        return None
    tweet = await info.context.loaders.tweet.load(tweet_id)
    return Tweet.from_record(tweet) if tweet is not None else None


async def _attribute(pending: Awaitable[Any], name: str) -> Any:
    return getattr(await pending, name)


async def tweet_connection(info: Info, page: Page[TweetRecord]) -> Connection[Tweet]:
    """A page of tweets, with what the query shows of each loaded in one batch per kind."""
    loaders = info.context.loaders
    loaders.prime_tweets(page.items)
    wanted = subfield_names(info, ("edges", "node"))
    ids = [tweet.id for tweet in page.items]
    authors, counts, states = await asyncio.gather(
        _maybe(
            "author" in wanted,
            lambda: loaders.user_by_id.load_many([t.author_id for t in page.items]),
        ),
        _maybe(bool(wanted & COUNT_FIELDS), lambda: loaders.tweet_counts.load_many(ids)),
        _maybe(bool(wanted & VIEWER_FIELDS), lambda: loaders.tweet_viewer_state.load_many(ids)),
    )
    prefetched = {
        tweet.id: Prefetched(
            author=authors[i] if authors else None,
            counts=counts[i] if counts else None,
            viewer_state=states[i] if states else None,
        )
        for i, tweet in enumerate(page.items)
    }
    return Connection[Tweet].from_page(page, lambda t: Tweet.from_record(t, prefetched[t.id]))


async def _maybe(wanted: bool, load: Callable[[], Awaitable[list[Any]]]) -> list[Any] | None:
    return await load() if wanted else None
