"""The Tweet type and its edit history. Every nested read goes through a dataloader."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.connections import Connection
from schema.context import Info
from schema.node import Node, to_global_id
from starling import models
from starling.queries import tweets as tweet_queries
from starling.queries.pagination import page_request

if TYPE_CHECKING:
    from schema.users import User

UserType = Annotated["User", strawberry.lazy("schema.users")]


@strawberry.type(description="One text of a tweet; every edit adds a version.")
class TweetVersion:
    number: int
    text: str
    created_at: datetime


@strawberry.type(description="A tweet, reply, quote or retweet (a retweet has empty text).")
class Tweet(Node):
    id: strawberry.ID
    text: str
    created_at: datetime
    edited_at: datetime | None
    conversation_id: strawberry.ID
    db_id: strawberry.Private[int]
    author_id: strawberry.Private[int]
    reply_to_id: strawberry.Private[int | None]
    quote_of_id: strawberry.Private[int | None]
    retweet_of_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, tweet: models.Tweet) -> Tweet:
        return cls(
            id=to_global_id("Tweet", tweet.id),
            text=tweet.text,
            created_at=tweet.created_at,
            edited_at=tweet.edited_at,
            conversation_id=to_global_id("Tweet", tweet.conversation_id),
            db_id=tweet.id,
            author_id=tweet.author_id,
            reply_to_id=tweet.reply_to_tweet_id,
            quote_of_id=tweet.quote_of_tweet_id,
            retweet_of_id=tweet.retweet_of_tweet_id,
        )

    @strawberry.field
    async def author(self, info: Info) -> UserType:
        from schema.users import User

        author = await info.context.loaders.user_by_id.load(self.author_id)
        assert author is not None  # tweets go with their author (ON DELETE CASCADE)
        return User.from_model(author)

    @strawberry.field(description="The tweet this replies to, if the viewer may see it.")
    async def reply_to(self, info: Info) -> Tweet | None:
        return await _visible(info, self.reply_to_id)

    @strawberry.field(description="The quoted tweet, if the viewer may see it.")
    async def quoted(self, info: Info) -> Tweet | None:
        return await _visible(info, self.quote_of_id)

    @strawberry.field(description="For a retweet, the tweet retweeted.")
    async def retweet_of(self, info: Info) -> Tweet | None:
        return await _visible(info, self.retweet_of_id)

    @strawberry.field(description="Lower-cased, without '#'.")
    async def hashtags(self, info: Info) -> list[str]:
        return await info.context.loaders.hashtags.load(self.db_id)

    @strawberry.field
    async def mentions(self, info: Info) -> list[UserType]:
        from schema.users import User

        return [
            User.from_model(user) for user in await info.context.loaders.mentions.load(self.db_id)
        ]

    @strawberry.field
    async def like_count(self, info: Info) -> int:
        return (await info.context.loaders.tweet_counts.load(self.db_id)).like_count

    @strawberry.field
    async def retweet_count(self, info: Info) -> int:
        return (await info.context.loaders.tweet_counts.load(self.db_id)).retweet_count

    @strawberry.field
    async def reply_count(self, info: Info) -> int:
        return (await info.context.loaders.tweet_counts.load(self.db_id)).reply_count

    @strawberry.field
    async def quote_count(self, info: Info) -> int:
        return (await info.context.loaders.tweet_counts.load(self.db_id)).quote_count

    @strawberry.field
    async def bookmark_count(self, info: Info) -> int:
        return (await info.context.loaders.tweet_counts.load(self.db_id)).bookmark_count

    @strawberry.field
    async def viewer_has_liked(self, info: Info) -> bool:
        return (await info.context.loaders.tweet_viewer_state.load(self.db_id)).liked

    @strawberry.field
    async def viewer_has_retweeted(self, info: Info) -> bool:
        return (await info.context.loaders.tweet_viewer_state.load(self.db_id)).retweeted

    @strawberry.field
    async def viewer_has_bookmarked(self, info: Info) -> bool:
        return (await info.context.loaders.tweet_viewer_state.load(self.db_id)).bookmarked

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
        return tweet_connection(info, page)


async def _visible(info: Info, tweet_id: int | None) -> Tweet | None:
    if tweet_id is None:
        return None
    tweet = await info.context.loaders.tweet.load(tweet_id)
    return Tweet.from_model(tweet) if tweet is not None else None


def tweet_connection(info: Info, page: tweet_queries.Page[models.Tweet]) -> Connection[Tweet]:
    info.context.loaders.prime_tweets(page.items)
    return Connection[Tweet].from_page(page, Tweet.from_model)
