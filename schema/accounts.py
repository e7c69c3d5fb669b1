"""Inputs and payloads of the account mutations."""

from __future__ import annotations

import strawberry

from schema.errors import UserError
from schema.users import User


@strawberry.input
class RegisterInput:
    username: str = strawberry.field(description="1-15 letters, digits or underscores.")
    email: str
    password: str = strawberry.field(description="8-128 characters, not a common password.")
    display_name: str | None = strawberry.field(
        default=None, description="Defaults to the username."
    )


@strawberry.input
class LoginInput:
    username_or_email: str
    password: str


@strawberry.input(description="Only the fields sent change; null clears an optional field.")
class UpdateProfileInput:
    display_name: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    protected: bool | None = strawberry.UNSET
    region: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166-1 alpha-2 country code, e.g. GB."
    )
    avatar_media_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="One of your READY images (null removes it)."
    )
    banner_media_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="One of your READY images (null removes it)."
    )


@strawberry.type
class AuthPayload:
    token: str | None = strawberry.field(
        default=None, description="Send as `Authorization: Bearer <token>`."
    )
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    success: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateProfilePayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
