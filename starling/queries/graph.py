"""Read side for the social graph: relationships in one statement, and keyset-paginated lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, select

from starling.db import Database
from starling.models import Block, Follower, Following, FollowRequest, Mute, User
from starling.queries.common import (
    VIEWER,
    fetch_for_viewers,
    for_many_viewers,
    id_list,
    ids_param,
    newest_first_by_time,
)
from starling.queries.pagination import Page, PageRequest
from starling.records import USER_COLUMNS, UserRecord
from starling.visibility import NO_RELATIONSHIP, Relationship, follows


def _relationships(viewer: ColumnElement[int], *leading: ColumnElement[Any]) -> Select[Any]:
    other = id_list(ids_param())
    return select(
        *leading,
        other.c.id,
        follows(viewer, other.c.id).label("viewer_follows"),
        follows(other.c.id, viewer).label("follows_viewer"),
        exists()
        .where(FollowRequest.target_id == other.c.id, FollowRequest.requester_id == viewer)
        .label("follow_requested"),
        exists()
        .where(Block.blocker_id == viewer, Block.blocked_id == other.c.id)
        .label("viewer_blocks"),
        exists()
        .where(Block.blocker_id == other.c.id, Block.blocked_id == viewer)
        .label("blocks_viewer"),
        exists().where(Mute.muter_id == viewer, Mute.muted_id == other.c.id).label("viewer_mutes"),
    )


_RELATIONSHIPS = _relationships(VIEWER)
_RELATIONSHIPS_OF_VIEWERS = for_many_viewers(_relationships)


async def relationships(db: Database, viewer_id: int, ids: Sequence[int]) -> list[Relationship]:
    """How the viewer stands with each user: one statement for the batch."""
    rows = await db.rows(_RELATIONSHIPS, {"ids": list(ids), "viewer_id": viewer_id})
    by_id = {
        row.id: Relationship(
            viewer_follows=row.viewer_follows,
            follows_viewer=row.follows_viewer,
            follow_requested=row.follow_requested,
            viewer_blocks=row.viewer_blocks,
            blocks_viewer=row.blocks_viewer,
            viewer_mutes=row.viewer_mutes,
        )
        for row in rows
    }
    return [by_id.get(i, NO_RELATIONSHIP) for i in ids]


async def relationships_of(
    db: Database, viewer_ids: Sequence[int], ids: Sequence[int]
) -> dict[int, list[Relationship]]:
    """``relationships`` for each of many viewers (live delivery): one statement."""
    return await fetch_for_viewers(
        db, _RELATIONSHIPS_OF_VIEWERS, viewer_ids, ids, Relationship, NO_RELATIONSHIP
    )


async def followers(db: Database, user_id: int, request: PageRequest) -> Page[UserRecord]:
    statement = select(*USER_COLUMNS).join(
        Follower, and_(Follower.follower_id == User.id, Follower.user_id == user_id)
    )
    return await newest_first_by_time(
        db, UserRecord, statement, Follower.created_at, Follower.follower_id, request
    )


async def following(db: Database, user_id: int, request: PageRequest) -> Page[UserRecord]:
    statement = select(*USER_COLUMNS).join(
        Following, and_(Following.following_id == User.id, Following.user_id == user_id)
    )
    return await newest_first_by_time(
        db, UserRecord, statement, Following.created_at, Following.following_id, request
    )


async def follow_requests(db: Database, user_id: int, request: PageRequest) -> Page[UserRecord]:
    """Pending requests to follow ``user_id``, newest first."""
    statement = select(*USER_COLUMNS).join(
        FollowRequest,
        and_(FollowRequest.requester_id == User.id, FollowRequest.target_id == user_id),
    )
    return await newest_first_by_time(
        db, UserRecord, statement, FollowRequest.created_at, FollowRequest.requester_id, request
    )
