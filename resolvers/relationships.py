"""followUser, unfollowUser, follow requests, blockUser, unblockUser, muteUser, unmuteUser."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from resolvers.common import decode_id, returns_errors_in
from schema.connections import Connection
from schema.context import Info
from schema.payloads import FollowPayload, FollowStatus, RelationshipPayload
from schema.users import User, user_connection
from starling import models
from starling.core import Core
from starling.queries import graph as graph_queries
from starling.queries.pagination import page_request
from starling.services import relationships

FollowAction = Callable[[Core, int, int], Awaitable[tuple[models.User, relationships.FollowStatus]]]
UserAction = Callable[[Core, int, int], Awaitable[models.User]]


def _follow(action: FollowAction) -> Callable[[Info, strawberry.ID], Awaitable[FollowPayload]]:
    @returns_errors_in(FollowPayload)
    async def resolve(info: Info, id: strawberry.ID) -> FollowPayload:
        viewer_id = info.context.require_viewer()
        user, status = await action(info.context.core, viewer_id, decode_id(id, "User"))
        return FollowPayload(user=User.from_model(user), status=FollowStatus(status.value))

    return resolve


def _relationship(
    action: UserAction,
) -> Callable[[Info, strawberry.ID], Awaitable[RelationshipPayload]]:
    @returns_errors_in(RelationshipPayload)
    async def resolve(info: Info, id: strawberry.ID) -> RelationshipPayload:
        viewer_id = info.context.require_viewer()
        user = await action(info.context.core, viewer_id, decode_id(id, "User"))
        return RelationshipPayload(user=User.from_model(user))

    return resolve


follow_user = _follow(relationships.follow)
unfollow_user = _follow(relationships.unfollow)
approve_follow_request = _relationship(relationships.approve_follow_request)
reject_follow_request = _relationship(relationships.reject_follow_request)
block_user = _relationship(relationships.block)
unblock_user = _relationship(relationships.unblock)
mute_user = _relationship(relationships.mute)
unmute_user = _relationship(relationships.unmute)


async def follow_requests(
    info: Info, first: int | None = None, after: str | None = None
) -> Connection[User]:
    """Pending requests to follow the viewer."""
    viewer_id = info.context.require_viewer()
    page = await graph_queries.follow_requests(
        info.context.core.db, viewer_id, page_request(first, after)
    )
    return user_connection(info, page)
