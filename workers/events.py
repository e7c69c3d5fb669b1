"""Event deliveries: one job per (event, consumer), and the relay that enqueues what is due."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starling import metrics
from starling.consumers import CONSUMERS
from starling.core import Core
from starling.events import decode
from starling.storage import outbox

log = logging.getLogger(__name__)

# A lease outlives the job's timeout, so a running delivery is never handed out twice.
LEASE_MARGIN_SECONDS = 5


async def deliver_event(ctx: dict[str, Any], event_id: int, consumer: str) -> str:
    """Run one consumer on one event. A failure is recorded for a later attempt (or the dead
    letters), never raised: arq's own retries would bypass the backoff and the cap."""
    core: Core = ctx["core"]
    settings = core.settings
    claimed = await outbox.claim(
        core.db, event_id, consumer, settings.delivery_timeout_seconds + LEASE_MARGIN_SECONDS
    )
    if claimed is None:
        return "not due"  # done, dead, gone, or leased by another run
    started = time.perf_counter()
    try:
        async with asyncio.timeout(settings.delivery_timeout_seconds):
            await CONSUMERS[consumer].handle(core, decode(claimed.kind, claimed.payload))
    except Exception as error:
        dead = await outbox.failed(
            core.db,
            claimed,
            error,
            max_attempts=settings.delivery_max_attempts,
            backoff_base=settings.delivery_backoff_seconds,
            backoff_cap=settings.delivery_backoff_cap_seconds,
        )
        log.warning(
            "delivery %s/%s attempt %d failed%s",
            event_id,
            consumer,
            claimed.attempts,
            ": dead-lettered" if dead else "",
            exc_info=True,
        )
        outcome = "dead" if dead else "retry"
    else:
        await outbox.done(core.db, claimed)
        outcome = "done"
        lag = (datetime.now(UTC) - claimed.created_at).total_seconds()
        metrics.EVENT_LAG_SECONDS.labels(consumer).observe(lag)
    metrics.DELIVERY_SECONDS.labels(consumer).observe(time.perf_counter() - started)
    metrics.DELIVERIES.labels(consumer, outcome).inc()
    return outcome


async def relay_events(ctx: dict[str, Any]) -> int:
    core: Core = ctx["core"]
    return await outbox.relay(core.db, core.queue, core.settings.delivery_redispatch_seconds)
