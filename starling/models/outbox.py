"""The transactional outbox: events written with the change that caused them, relayed to jobs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, snowflake_pk, timestamp_now


class OutboxEvent(Base):
    """One event (``starling.events``): its kind and versioned payload."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_created", "created_at"),)

    id: Mapped[snowflake_pk]
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[timestamp_now]


class DeliveryState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class OutboxDelivery(Base):
    """One consumer's delivery of one event, with its own attempts and schedule."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        Index("ix_outbox_deliveries_due", "due_at", postgresql_where=text("state = 'pending'")),
        Index("ix_outbox_deliveries_dead", "updated_at", postgresql_where=text("state = 'dead'")),
    )

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True
    )
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # When it may run next: after a failure's backoff, or when a running attempt's lease ends.
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    # When a job for it was last enqueued (None: no job can be waiting), and how many times:
    # each dispatch gets a fresh job id, so arq keys a killed worker left never block it.
    dispatched_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    dispatches: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
