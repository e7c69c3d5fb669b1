"""Notifications, grouped like Mastodon: likes, retweets and follows on one target form a group."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ARRAY, BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, snowflake_pk, text_enum, timestamp_now


class NotificationKind(StrEnum):
    MENTION = "mention"
    REPLY = "reply"
    QUOTE = "quote"
    LIKE = "like"
    RETWEET = "retweet"
    FOLLOW = "follow"
    FOLLOW_REQUEST = "follow_request"
    FOLLOW_ACCEPTED = "follow_accepted"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_recipient_recent", "recipient_id", text("id DESC")),
        Index(
            "ix_notifications_unread",
            "recipient_id",
            postgresql_where=text("read_at IS NULL"),
        ),
        Index("ix_notifications_group", "recipient_id", "group_key", text("updated_at DESC")),
    )

    id: Mapped[snowflake_pk]
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(text_enum(NotificationKind, "notif_kind"))
    # e.g. "like:<tweet id>"; notifications sharing a key within the grouping window are merged.
    group_key: Mapped[str] = mapped_column(String(64))
    tweet_id: Mapped[int | None] = mapped_column(BigInteger)
    # Latest actors first, capped; actor_count counts them all.
    actor_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    actor_count: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]
    read_at: Mapped[datetime | None]


class NotificationActor(Base):
    """Everyone who acted in a group, so an actor counts once however often they act."""

    __tablename__ = "notification_actors"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[timestamp_now]
