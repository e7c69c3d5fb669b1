"""The transactional outbox and its deliveries. Owns the ``outbox`` and ``outbox_deliveries``
tables and the ``deliver_event`` job ids.

An event is written in the write's transaction together with one delivery row per consumer
that declared its kind. Each delivery is its own job (``deliver_event(event_id, consumer)``)
with its own state: pending -> done, or -> dead after ``delivery_max_attempts`` failures.

- ``claim`` leases a due delivery (``due_at`` moves ``lease`` seconds ahead and ``attempts``
  goes up), so a worker killed mid-job leaves a delivery that falls due again when the lease
  ends.
- A failure makes the next attempt due after an exponential backoff with jitter.
- The relay enqueues due deliveries, oldest due first, so stuck or poisoned ones never starve
  newer ones. It skips a delivery whose job was enqueued less than ``redispatch`` seconds ago
  (it is probably waiting in the queue), and otherwise enqueues it under a fresh job id
  (``dispatches`` counts them): a job lost with Redis, or one arq still holds as in progress
  for a killed worker (arq keeps that key for the job's whole timeout, 5 minutes), never
  blocks a delivery.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import (
    BigInteger,
    Interval,
    Select,
    String,
    Text,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from starling.db import Database
from starling.events import Event
from starling.models import DeliveryState, OutboxDelivery, OutboxEvent
from starling.models.base import table_of

log = logging.getLogger(__name__)

JOB_NAME = "deliver_event"
RELAY_BATCH = 500


@dataclass(frozen=True)
class Delivery:
    event_id: int
    consumer: str
    dispatches: int = 0


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this worker, with its event."""

    event_id: int
    consumer: str
    attempts: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime


async def record(session: AsyncSession, event: Event, consumers: Sequence[str]) -> list[Delivery]:
    """Write the event and one pending delivery per consumer, in the caller's transaction; the
    caller enqueues them after the commit (dispatch 0)."""
    row = OutboxEvent(event=event.kind, payload=event.payload())
    session.add(row)
    await session.flush()
    if consumers:
        await session.execute(
            insert(OutboxDelivery), [{"event_id": row.id, "consumer": c} for c in consumers]
        )
    return [Delivery(row.id, consumer) for consumer in consumers]


def job_id(delivery: Delivery) -> str:
    return f"delivery:{delivery.event_id}:{delivery.consumer}:{delivery.dispatches}"


async def enqueue(queue: ArqRedis, deliveries: Sequence[Delivery]) -> None:
    """Enqueue deliveries. A job id arq already holds is ignored, so this is safe to repeat; a
    delivery that cannot be enqueued now (queue down) is left to the relay."""
    try:
        for delivery in deliveries:
            await queue.enqueue_job(
                JOB_NAME,
                delivery.event_id,
                delivery.consumer,
                _job_id=job_id(delivery),
            )
    except (RedisError, OSError):
        log.warning("outbox: enqueue failed, the relay will retry", exc_info=True)


# The per-delivery statements run once per job: built once, as Core statements (an ORM
# update would evaluate its criteria against the session on every call).
_DELIVERIES = table_of(OutboxDelivery)
_EVENTS = table_of(OutboxEvent)
_EVENT_ID = bindparam("key_event_id", type_=BigInteger)
_CONSUMER = bindparam("key_consumer", type_=String)
_ONE_DELIVERY = and_(_DELIVERIES.c.event_id == _EVENT_ID, _DELIVERIES.c.consumer == _CONSUMER)
_CLAIM = (
    update(_DELIVERIES)
    .where(
        _ONE_DELIVERY,
        _DELIVERIES.c.state == DeliveryState.PENDING,
        _DELIVERIES.c.due_at <= func.now(),
        _EVENTS.c.id == _DELIVERIES.c.event_id,
    )
    .values(
        attempts=_DELIVERIES.c.attempts + 1,
        due_at=func.now() + bindparam("lease", type_=Interval),
        updated_at=func.now(),
    )
    .returning(_DELIVERIES.c.attempts, _EVENTS.c.event, _EVENTS.c.payload, _EVENTS.c.created_at)
)
_DONE = (
    update(_DELIVERIES)
    .where(_ONE_DELIVERY)
    .values(state=DeliveryState.DONE, last_error=None, updated_at=func.now())
)
_FAILED = (
    update(_DELIVERIES)
    .where(_ONE_DELIVERY)
    .values(
        state=bindparam("new_state", type_=_DELIVERIES.c.state.type),
        due_at=func.now() + bindparam("delay", type_=Interval),
        dispatched_at=None,  # this job is over: the relay enqueues the next try when due
        last_error=bindparam("error_text", type_=Text),
        updated_at=func.now(),
    )
)


async def claim(db: Database, event_id: int, consumer: str, lease: float) -> Claimed | None:
    """Lease a due pending delivery, with its event (one statement); None when it is done,
    dead, gone or leased by another."""
    params = {"key_event_id": event_id, "key_consumer": consumer, "lease": timedelta(seconds=lease)}
    rows = await db.write(_CLAIM, params)
    if not rows:
        return None
    row = rows[0]
    return Claimed(event_id, consumer, row.attempts, row.event, row.payload, row.created_at)


def _key_of(claimed: Claimed) -> dict[str, Any]:
    return {"key_event_id": claimed.event_id, "key_consumer": claimed.consumer}


async def done(db: Database, claimed: Claimed) -> None:
    await db.write(_DONE, _key_of(claimed))


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, so retries of many
    failed deliveries spread out instead of arriving together."""
    ceiling = min(cap, base * 2.0 ** (attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


async def failed(
    db: Database,
    claimed: Claimed,
    error: BaseException,
    *,
    max_attempts: int,
    backoff_base: float,
    backoff_cap: float,
) -> bool:
    """Record a failed attempt: the next one falls due after the backoff (the relay enqueues
    it), or the delivery is dead-lettered after the last. True when it is now dead."""
    dead = claimed.attempts >= max_attempts
    delay = backoff_seconds(claimed.attempts, backoff_base, backoff_cap)
    description = f"{type(error).__name__}: {error}"[:2000]
    await db.write(
        _FAILED,
        {
            **_key_of(claimed),
            "new_state": DeliveryState.DEAD if dead else DeliveryState.PENDING,
            "delay": timedelta(seconds=delay),
            "error_text": description,
        },
    )
    return dead


async def relay(db: Database, queue: ArqRedis, redispatch: float) -> int:
    """Enqueue due deliveries that no job is likely waiting for, oldest due first."""
    due = (
        select(OutboxDelivery.event_id, OutboxDelivery.consumer)
        .where(
            OutboxDelivery.state == DeliveryState.PENDING,
            OutboxDelivery.due_at <= func.now(),
            or_(
                OutboxDelivery.dispatched_at.is_(None),
                OutboxDelivery.dispatched_at < func.now() - timedelta(seconds=redispatch),
            ),
        )
        .order_by(OutboxDelivery.due_at)
        .limit(RELAY_BATCH)
        .with_for_update(skip_locked=True)
    )
    return await _dispatch(db, queue, due)


async def _dispatch(db: Database, queue: ArqRedis, chosen: Select[int, str]) -> int:
    """Mark the chosen deliveries dispatched (a fresh job id each) and enqueue them."""
    async with db.session() as session:
        rows = (
            await session.execute(
                update(OutboxDelivery)
                .where(tuple_(OutboxDelivery.event_id, OutboxDelivery.consumer).in_(chosen))
                .values(dispatched_at=func.now(), dispatches=OutboxDelivery.dispatches + 1)
                .returning(
                    OutboxDelivery.event_id, OutboxDelivery.consumer, OutboxDelivery.dispatches
                )
            )
        ).all()
    await enqueue(queue, [Delivery(r.event_id, r.consumer, r.dispatches) for r in rows])
    return len(rows)


@dataclass(frozen=True)
class DeadDelivery:
    event_id: int
    consumer: str
    kind: str
    attempts: int
    last_error: str | None
    updated_at: datetime


async def dead_letters(db: Database, limit: int = 100) -> list[DeadDelivery]:
    async with db.read_session() as session:
        rows = (
            await session.execute(
                select(
                    OutboxDelivery.event_id,
                    OutboxDelivery.consumer,
                    OutboxEvent.event,
                    OutboxDelivery.attempts,
                    OutboxDelivery.last_error,
                    OutboxDelivery.updated_at,
                )
                .join(OutboxEvent, OutboxEvent.id == OutboxDelivery.event_id)
                .where(OutboxDelivery.state == DeliveryState.DEAD)
                .order_by(OutboxDelivery.updated_at.desc())
                .limit(limit)
            )
        ).all()
    return [DeadDelivery(*row) for row in rows]


async def retry(db: Database, queue: ArqRedis, event_id: int, consumer: str | None) -> int:
    """Give dead deliveries of an event (one consumer's, or all) a fresh set of attempts."""
    condition = [
        OutboxDelivery.event_id == event_id,
        OutboxDelivery.state == DeliveryState.DEAD,
    ]
    if consumer is not None:
        condition.append(OutboxDelivery.consumer == consumer)
    async with db.session() as session:
        await session.execute(
            update(OutboxDelivery)
            .where(and_(*condition))
            .values(
                state=DeliveryState.PENDING,
                attempts=0,
                due_at=func.now(),
                dispatched_at=None,
                updated_at=func.now(),
            )
        )
    condition[1] = OutboxDelivery.state == DeliveryState.PENDING
    revived = select(OutboxDelivery.event_id, OutboxDelivery.consumer).where(and_(*condition))
    return await _dispatch(db, queue, revived)


@dataclass(frozen=True)
class PipelineState:
    pending: int
    due: int
    dead: int
    retrying: int
    oldest_due_seconds: float


async def state(db: Database) -> PipelineState:
    """Figures for /metrics, in one statement. Only pending and dead rows are read (the two
    partial indexes serve the OR, through a BitmapOr), never the done rows kept for a day."""
    async with db.read_session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE state = 'pending') AS pending, "
                    "count(*) FILTER (WHERE state = 'pending' AND due_at <= now()) AS due, "
                    "count(*) FILTER (WHERE state = 'dead') AS dead, "
                    "count(*) FILTER (WHERE state = 'pending' AND attempts > 0) AS retrying, "
                    "coalesce(extract(epoch FROM now() - min(due_at) FILTER "
                    "(WHERE state = 'pending' AND due_at <= now())), 0) AS oldest "
                    "FROM outbox_deliveries WHERE state = 'pending' OR state = 'dead'"
                )
            )
        ).one()
    return PipelineState(row.pending, row.due, row.dead, row.retrying, float(row.oldest))


async def purge_delivered(db: Database, older_than: timedelta) -> int:
    """Drop events every consumer is done with, once older than ``older_than`` (kept a while
    so an operator can see what happened)."""
    cutoff = datetime.now(UTC) - older_than
    async with db.session() as session:
        result = await session.execute(
            text(
                "DELETE FROM outbox o WHERE o.created_at < :cutoff AND NOT EXISTS ("
                "SELECT 1 FROM outbox_deliveries d WHERE d.event_id = o.id "
                "AND d.state <> 'done') RETURNING o.id"
            ),
            {"cutoff": cutoff},
        )
        return len(result.all())
