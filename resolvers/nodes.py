"""node(id:) and nodes(ids:): refetch any object by its global id."""

from __future__ import annotations

import asyncio

import strawberry

from schema.context import Info
from schema.media import Media
from schema.node import Node, from_global_id
from schema.notifications import Notification
from schema.tweets import Tweet
from schema.users import User
from starling.errors import DomainError, ErrorCode
from starling.queries import notifications as notification_queries

MAX_NODES = 100


async def node(info: Info, id: strawberry.ID) -> Node | None:
    decoded = from_global_id(id)
    if decoded is None:
        return None
    type_name, db_id = decoded
    if type_name == "User":
        user = await info.context.loaders.user_by_id.load(db_id)
        return User.from_record(user) if user is not None else None
    if type_name == "Tweet":
        tweet = await info.context.loaders.tweet.load(db_id)
        return Tweet.from_record(tweet) if tweet is not None else None
    if type_name == "Media" and info.context.viewer_id is not None:
        # Only its owner (others see media through the tweets that carry it).
        found_media = await info.context.loaders.media.load(db_id)
        if found_media is not None and found_media.owner_id == info.context.viewer_id:
            return Media.from_record(found_media)
        return None
    if type_name == "Notification" and info.context.viewer_id is not None:
        found = await notification_queries.by_id(
            info.context.core.db, info.context.viewer_id, db_id
        )
        return Notification.from_record(found) if found is not None else None
    return None


async def nodes(info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
    if len(ids) > MAX_NODES:
        raise DomainError(ErrorCode.BAD_USER_INPUT, f"At most {MAX_NODES} ids.", "ids")
    return list(await asyncio.gather(*(node(info, i) for i in ids)))
