"""Read side for notifications: the viewer's list (most recently updated first), unread count."""

from __future__ import annotations

from sqlalchemy import BigInteger, bindparam, func, select

from starling.db import Database
from starling.models import Notification
from starling.queries.common import newest_first_by_time
from starling.queries.pagination import Page, PageRequest
from starling.records import NOTIFICATION_COLUMNS, NotificationRecord

UNREAD_CAP = 1000
_BY_ID = select(*NOTIFICATION_COLUMNS).where(
    Notification.id == bindparam("id", type_=BigInteger),
    Notification.recipient_id == bindparam("user_id", type_=BigInteger),
)


async def notifications(
    db: Database, user_id: int, request: PageRequest
) -> Page[NotificationRecord]:
    statement = select(*NOTIFICATION_COLUMNS).where(Notification.recipient_id == user_id)
    return await newest_first_by_time(
        db, NotificationRecord, statement, Notification.updated_at, Notification.id, request
    )


async def by_id(db: Database, user_id: int, notification_id: int) -> NotificationRecord | None:
    rows = await db.rows(_BY_ID, {"id": notification_id, "user_id": user_id})
    return NotificationRecord.of(rows[0]) if rows else None


async def unread_count(db: Database, user_id: int) -> int:
    """Unread notifications, counted up to a cap (clients show "999+")."""
    unread = (
        select(Notification.id)
        .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
        .limit(UNREAD_CAP)
        .subquery()
    )
    async with db.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(unread)) or 0)
