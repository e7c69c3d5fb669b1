"""The User type. Plain fields are plain attributes; counts and viewer state go through loaders."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.context import Info
from schema.node import Node, to_global_id
from starling import models


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

    @classmethod
    def from_model(cls, user: models.User) -> User:
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
        )

    @strawberry.field(description="The account's email; only its owner sees it.")
    def email(self, info: Info) -> str | None:
        return self.private_email if info.context.viewer_id == self.db_id else None

    @strawberry.field
    async def followers_count(self, info: Info) -> int:
        return (await info.context.loaders.user_stats.load(self.db_id)).followers_count

    @strawberry.field
    async def following_count(self, info: Info) -> int:
        return (await info.context.loaders.user_stats.load(self.db_id)).following_count

    @strawberry.field
    async def tweets_count(self, info: Info) -> int:
        return (await info.context.loaders.user_stats.load(self.db_id)).tweets_count

    @strawberry.field
    async def likes_count(self, info: Info) -> int:
        return (await info.context.loaders.user_stats.load(self.db_id)).likes_count
