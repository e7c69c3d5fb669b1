"""Search types: the sort, autocomplete suggestions and hashtags."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.connections import Connection
from schema.context import Info
from starling.queries import hashtags as hashtag_queries
from starling.queries.pagination import page_request

if TYPE_CHECKING:
    from schema.tweets import Tweet
    from schema.users import User

TweetType = Annotated["Tweet", strawberry.lazy("schema.tweets")]
UserType = Annotated["User", strawberry.lazy("schema.users")]


@strawberry.enum(
    description="TOP: relevance, engagement and recency together. LATEST: newest first."
)
class SearchSort(Enum):
    TOP = "top"
    LATEST = "latest"


@strawberry.type(description="An account whose username starts with the prefix.")
class UserSuggestion:
    user: UserType


@strawberry.type(description="A hashtag starting with the prefix, by its use in the last 7 days.")
class HashtagSuggestion:
    name: str
    tweet_count: int


Suggestion = Annotated[UserSuggestion | HashtagSuggestion, strawberry.union("Suggestion")]


@strawberry.type(description="A hashtag (lower-cased, without '#') and the tweets that use it.")
class Hashtag:
    name: str
    tweet_count: int = strawberry.field(description="Tweets that ever used it, deleted or not.")

    @strawberry.field(description="Tweets using it that the viewer may see, newest first.")
    async def tweets(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TweetType]:
        from schema.tweets import tweet_connection

        page = await hashtag_queries.tweets_with(
            info.context.core.db, info.context.viewer_id, self.name, page_request(first, after)
        )
        return await tweet_connection(info, page)
