"""followUser, unfollowUser, follow requests, blockUser, unblockUser, muteUser, unmuteUser."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from resolvers.common import viewer_acts_on
from resolvers.limits import Action
from schema.connections import Connection
from schema.context import Info
from schema.payloads import FollowPayload, FollowStatus, RelationshipPayload
from schema.users import User, user_connection
from starling.core import Core
from starling.queries import graph as graph_queries
from starling.queries.pagination import page_request
from starling.records import UserRecord
from starling.services import relationships


def _follow(
    action: Callable[[Core, int, int], Awaitable[tuple[UserRecord, relationships.FollowStatus]]],
    budget: Action | None = None,
) -> Callable[[Info, strawberry.ID], Awaitable[FollowPayload]]:
    async def wrap(
        info: Info, result: tuple[UserRecord, relationships.FollowStatus]
    ) -> FollowPayload:
        return FollowPayload(user=User.from_record(result[0]), status=FollowStatus(result[1].value))

    return viewer_acts_on("User", FollowPayload, action, wrap, budget)


def _relationship(
    action: Callable[[Core, int, int], Awaitable[UserRecord]],
) -> Callable[[Info, strawberry.ID], Awaitable[RelationshipPayload]]:
    async def wrap(info: Info, user: UserRecord) -> RelationshipPayload:
        return RelationshipPayload(user=User.from_record(user))

    return viewer_acts_on("User", RelationshipPayload, action, wrap)


follow_user = _follow(relationships.follow, Action.FOLLOW)
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
