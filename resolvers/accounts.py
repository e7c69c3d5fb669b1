"""Account mutations and the viewer/user queries."""

from __future__ import annotations

import strawberry

from resolvers.common import returns_errors_in
from resolvers.limits import Action, spend
from schema.accounts import (
    AuthPayload,
    LoginInput,
    LogoutPayload,
    RegisterInput,
    UpdateProfileInput,
    UpdateProfilePayload,
)
from schema.context import Info
from schema.node import db_id_of
from schema.users import User
from starling.services import accounts


@returns_errors_in(AuthPayload)
async def register(info: Info, input: RegisterInput) -> AuthPayload:
    await spend(info, Action.REGISTER)
    result = await accounts.register(
        info.context.core,
        username=input.username,
        email=input.email,
        password=input.password,
        display_name=input.display_name,
        user_agent=info.context.user_agent,
    )
    return AuthPayload(token=result.token, user=User.from_record(result.user))


@returns_errors_in(AuthPayload)
async def login(info: Info, input: LoginInput) -> AuthPayload:
    await spend(info, Action.LOGIN)
    result = await accounts.login(
        info.context.core,
        username_or_email=input.username_or_email,
        password=input.password,
        client_ip=info.context.client_ip,
        user_agent=info.context.user_agent,
    )
    return AuthPayload(token=result.token, user=User.from_record(result.user))


async def logout(info: Info) -> LogoutPayload:
    info.context.require_viewer()
    assert info.context.token is not None
    await accounts.logout(info.context.core, info.context.token)
    return LogoutPayload(success=True)


@returns_errors_in(UpdateProfilePayload)
async def update_profile(info: Info, input: UpdateProfileInput) -> UpdateProfilePayload:
    viewer_id = info.context.require_viewer()
    changes = {
        name: getattr(input, name)
        for name in accounts.PROFILE_FIELDS
        if getattr(input, name) is not strawberry.UNSET
    }
    for name in ("avatar_media_id", "banner_media_id"):
        if changes.get(name) is not None:
            # An id that is not a media's names none (0 is never an id): NOT_FOUND.
            changes[name] = db_id_of(changes[name], "Media") or 0
    user = await accounts.update_profile(info.context.core, viewer_id, changes)
    info.context.loaders.user_by_id.prime(user.id, user, force=True)
    return UpdateProfilePayload(user=User.from_record(user))


async def viewer(info: Info) -> User | None:
    if info.context.viewer_id is None:
        return None
    user = await info.context.loaders.user_by_id.load(info.context.viewer_id)
    return User.from_record(user) if user is not None else None


async def user(info: Info, username: str) -> User | None:
    found = await info.context.loaders.user_by_username.load(username.strip().lstrip("@"))
    return User.from_record(found) if found is not None else None
