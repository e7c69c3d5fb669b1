"""Inputs and payloads of the tweet, engagement and relationship mutations."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.errors import UserError
from schema.tweets import Tweet
from schema.users import User


@strawberry.input
class PostTweetInput:
    text: str = strawberry.field(
        default="", description="Up to 280 weighted characters; may be empty only with media."
    )
    reply_to_id: strawberry.ID | None = None
    quote_of_id: strawberry.ID | None = None
    media_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retrying with the same key within an hour returns the same tweet.",
    )


@strawberry.input
class EditTweetInput:
    id: strawberry.ID
    text: str


@strawberry.type
class PostTweetPayload:
    tweet: Tweet | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EditTweetPayload:
    tweet: Tweet | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteTweetPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The tweet acted on (the original, when a retweet was given).")
class EngagementPayload:
    tweet: Tweet | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RetweetPayload:
    retweet: Tweet | None = None
    tweet: Tweet | None = strawberry.field(default=None, description="The original.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.enum
class FollowStatus(Enum):
    FOLLOWING = "following"
    REQUESTED = "requested"
    NOT_FOLLOWING = "not_following"


@strawberry.type
class FollowPayload:
    user: User | None = None
    status: FollowStatus | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RelationshipPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
