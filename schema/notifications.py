"""Notifications and the live engagement type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.context import Info
from schema.errors import UserError
from schema.node import Node, to_global_id
from starling import models
from starling.records import NotificationRecord

if TYPE_CHECKING:
    from schema.tweets import Tweet
    from schema.users import User

TweetType = Annotated["Tweet", strawberry.lazy("schema.tweets")]
UserType = Annotated["User", strawberry.lazy("schema.users")]

NotificationKind = strawberry.enum(models.NotificationKind, name="NotificationKind")


@strawberry.type(
    description="Something that happened to the viewer. Likes, retweets and follows of one "
    "target within 12 hours are grouped: actorCount counts them, actors lists the latest."
)
class Notification(Node):
    id: strawberry.ID
    kind: NotificationKind  # type: ignore[valid-type]
    created_at: datetime
    updated_at: datetime
    read: bool
    actor_count: int
    actor_ids: strawberry.Private[list[int]]
    tweet_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, notification: NotificationRecord) -> Notification:
        return cls(
            id=to_global_id("Notification", notification.id),
            kind=notification.kind,
            created_at=notification.created_at,
            updated_at=notification.updated_at,
            read=notification.read_at is not None,
            actor_count=notification.actor_count,
            actor_ids=list(notification.actor_ids),
            tweet_id=notification.tweet_id,
        )

    @strawberry.field(description="The latest actors, newest first.")
    async def actors(self, info: Info) -> list[UserType]:
        from schema.users import User

        found = await info.context.loaders.user_by_id.load_many(self.actor_ids)
        return [User.from_record(user) for user in found if user is not None]

    @strawberry.field(description="The tweet it is about, if any and if the viewer may see it.")
    async def tweet(self, info: Info) -> TweetType | None:
        from schema.tweets import visible_tweet

        return await visible_tweet(info, self.tweet_id)


@strawberry.type
class MarkReadPayload:
    unread_count: int | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Live counts of one tweet.")
class TweetEngagement:
    tweet_id: strawberry.ID
    like_count: int
    retweet_count: int
    reply_count: int
    quote_count: int
