"""The transactional outbox: events written with the change that caused them, then relayed to
arq jobs. Owns the ``outbox`` table.

``record`` runs inside the write's transaction; ``dispatch`` enqueues after the commit with a job
id derived from the event id, so a retry or the relay cannot run an event twice at once. A crash
between commit and enqueue loses nothing: ``relay`` re-enqueues every event not yet processed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.db import Database
from starling.models import OutboxEvent

log = logging.getLogger(__name__)

JOB_NAME = "process_outbox_event"
RELAY_BATCH = 1000


async def record(session: AsyncSession, event: str, **payload: Any) -> OutboxEvent:
    row = OutboxEvent(event=event, payload=payload)
    session.add(row)
    await session.flush()
    return row


def job_id(event_id: int) -> str:
    return f"outbox:{event_id}"


async def dispatch(queue: ArqRedis, events: Sequence[OutboxEvent]) -> None:
    """Enqueue committed events. arq ignores a job id it already holds, so this is safe to repeat;
    an event that cannot be enqueued now (queue down) is left to the relay."""
    try:
        for event in events:
            await queue.enqueue_job(JOB_NAME, event.id, _job_id=job_id(event.id))
    except (RedisError, OSError):
        log.warning("outbox: enqueue failed, the relay will retry", exc_info=True)


async def relay(db: Database, queue: ArqRedis, older_than: timedelta) -> int:
    """Re-enqueue events committed more than ``older_than`` ago and not processed yet."""
    cutoff = datetime.now(UTC) - older_than
    async with db.session() as session:
        pending = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.processed_at.is_(None), OutboxEvent.created_at < cutoff)
                .order_by(OutboxEvent.id)
                .limit(RELAY_BATCH)
            )
        ).all()
        if pending:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([e.id for e in pending]))
                .values(attempts=OutboxEvent.attempts + 1, enqueued_at=datetime.now(UTC))
            )
    await dispatch(queue, pending)
    return len(pending)


async def claim(db: Database, event_id: int) -> OutboxEvent | None:
    """The event to process, or None when it is gone or already done."""
    async with db.read_session() as session:
        event = await session.get(OutboxEvent, event_id)
    if event is None or event.processed_at is not None:
        return None
    return event


async def mark_processed(db: Database, event_id: int) -> None:
    async with db.session() as session:
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id)
            .values(processed_at=datetime.now(UTC))
        )
