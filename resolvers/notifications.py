"""notifications, unreadNotificationsCount, markNotificationsRead."""

from __future__ import annotations

import strawberry

from resolvers.common import decode_id, returns_errors_in
from schema.connections import Connection
from schema.context import Info
from schema.notifications import MarkReadPayload, Notification
from starling.queries import notifications as notification_queries
from starling.queries.pagination import page_request
from starling.services import notifications


async def notifications_page(
    info: Info, first: int | None = None, after: str | None = None
) -> Connection[Notification]:
    viewer_id = info.context.require_viewer()
    page = await notification_queries.notifications(
        info.context.core.db, viewer_id, page_request(first, after)
    )
    return Connection[Notification].from_page(page, Notification.from_record)


async def unread_notifications_count(info: Info) -> int:
    viewer_id = info.context.require_viewer()
    return await notification_queries.unread_count(info.context.core.db, viewer_id)


@returns_errors_in(MarkReadPayload)
async def mark_notifications_read(
    info: Info, up_to: strawberry.ID | None = None
) -> MarkReadPayload:
    viewer_id = info.context.require_viewer()
    up_to_id = decode_id(up_to, "Notification", "upTo") if up_to is not None else None
    unread = await notifications.mark_read(info.context.core, viewer_id, up_to_id)
    return MarkReadPayload(unread_count=unread)
