"""The User type. Plain fields are plain attributes; counts and viewer state go through loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.connections import Connection
from schema.context import Info
from schema.node import Node, to_global_id
from starling.queries import graph as graph_queries
from starling.queries import tweets as tweet_queries
from starling.queries.pagination import Page, page_request
from starling.records import UserRecord
from starling.visibility import Relationship, can_see_content_of

if TYPE_CHECKING:
    from schema.media import Media
    from schema.tweets import Tweet

TweetType = Annotated["Tweet", strawberry.lazy("schema.tweets")]
MediaType = Annotated["Media", strawberry.lazy("schema.media")]


@strawberry.type(description="A Starling account.")
class User(Node):
    id: strawberry.ID
    username: str
    display_name: str
    bio: str | None
    location: str | None
    website: str | None
    region: str | None
    verified: bool
    protected: bool
    created_at: datetime
    db_id: strawberry.Private[int]
    private_email: strawberry.Private[str]
    avatar_media_id: strawberry.Private[int | None] = None
    banner_media_id: strawberry.Private[int | None] = None

    @classmethod
    def from_record(cls, user: UserRecord) -> User:
        return cls(
            id=to_global_id("User", user.id),
            username=user.username,
            display_name=user.display_name,
            bio=user.bio,
            location=user.location,
            website=user.website,
            region=user.region,
            verified=user.verified,
            protected=user.protected,
            created_at=user.created_at,
            db_id=user.id,
            private_email=user.email,
            avatar_media_id=user.avatar_media_id,
            banner_media_id=user.banner_media_id,
        )

    @strawberry.field(description="The profile picture, with its variants (thumb for lists).")
    async def avatar(self, info: Info) -> MediaType | None:
        return await _media(info, self.avatar_media_id)

    @strawberry.field(description="The header image above the profile.")
    async def banner(self, info: Info) -> MediaType | None:
        return await _media(info, self.banner_media_id)

    @strawberry.field(description="The account's email; only its owner sees it.")
    def email(self, info: Info) -> str | None:
        return self.private_email if info.context.viewer_id == self.db_id else None

    @strawberry.field
    async def followers_count(self, info: Info) -> int:
        return (await info.context.loaders.user_counts.load(self.db_id)).followers_count

    @strawberry.field
    async def following_count(self, info: Info) -> int:
        return (await info.context.loaders.user_counts.load(self.db_id)).following_count

    @strawberry.field
    async def tweets_count(self, info: Info) -> int:
        return (await info.context.loaders.user_counts.load(self.db_id)).tweets_count

    @strawberry.field
    async def likes_count(self, info: Info) -> int:
        return (await info.context.loaders.user_counts.load(self.db_id)).likes_count

    async def _relationship(self, info: Info) -> Relationship:
        return await info.context.loaders.relationship.load(self.db_id)

    @strawberry.field
    async def viewer_is_following(self, info: Info) -> bool:
        return (await self._relationship(info)).viewer_follows

    @strawberry.field
    async def follows_viewer(self, info: Info) -> bool:
        return (await self._relationship(info)).follows_viewer

    @strawberry.field(description="The viewer asked to follow this protected account.")
    async def viewer_has_requested_follow(self, info: Info) -> bool:
        return (await self._relationship(info)).follow_requested

    @strawberry.field
    async def viewer_is_blocking(self, info: Info) -> bool:
        return (await self._relationship(info)).viewer_blocks

    @strawberry.field
    async def blocks_viewer(self, info: Info) -> bool:
        return (await self._relationship(info)).blocks_viewer

    @strawberry.field
    async def viewer_is_muting(self, info: Info) -> bool:
        return (await self._relationship(info)).viewer_mutes

    async def _content_visible(self, info: Info) -> bool:
        """Lists about a protected or blocking account are empty to those it keeps out."""
        return can_see_content_of(
            info.context.viewer_id, self.db_id, self.protected, await self._relationship(info)
        )

    @strawberry.field(description="Tweets and retweets, newest first.")
    async def tweets(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_replies: bool = False,
    ) -> Connection[TweetType]:
        from schema.tweets import tweet_connection

        page = await tweet_queries.profile_tweets(
            info.context.core.db,
            info.context.viewer_id,
            self.db_id,
            include_replies,
            page_request(first, after),
        )
        return await tweet_connection(info, page)

    @strawberry.field(description="Tweets this user liked, most recently liked first.")
    async def likes(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TweetType]:
        from schema.tweets import Tweet, tweet_connection

        request = page_request(first, after)
        if not await self._content_visible(info):
            return Connection[Tweet].empty()
        page = await tweet_queries.liked_tweets(
            info.context.core.db, info.context.viewer_id, self.db_id, request
        )
        return await tweet_connection(info, page)

    @strawberry.field(description="Most recent followers first.")
    async def followers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[User]:
        request = page_request(first, after)
        if not await self._content_visible(info):
            return Connection[User].empty()
        page = await graph_queries.followers(info.context.core.db, self.db_id, request)
        return user_connection(info, page)

    @strawberry.field(description="Most recently followed first.")
    async def following(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[User]:
        request = page_request(first, after)
        if not await self._content_visible(info):
            return Connection[User].empty()
        page = await graph_queries.following(info.context.core.db, self.db_id, request)
        return user_connection(info, page)


def user_connection(info: Info, page: Page[UserRecord]) -> Connection[User]:
    for user in page.items:
        info.context.loaders.user_by_id.prime(user.id, user)
    return Connection[User].from_page(page, User.from_record)


async def _media(info: Info, media_id: int | None) -> Media | None:
    from schema.media import Media

    if media_id is None:
        return None
    found = await info.context.loaders.media.load(media_id)
    return Media.from_record(found) if found is not None else None
