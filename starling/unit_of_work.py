"""A write and what must happen after it, in one place.

Inside the transaction a service records its effects: events (written to the outbox with a
delivery per consumer), counter deltas (appended to ``counter_deltas`` just before the commit,
so they are durable with the change) and timeline pushes. After the commit the rest runs in
one fixed order, each step on its own, each failure logged and swallowed:

1. timeline pushes (the author sees their own tweet at once),
2. the live engagement message for tweets whose counts moved,
3. event deliveries enqueued for the workers.

A failure after the commit never turns a saved write into an error for the client: the relay
delivers events whose enqueue was lost, and the timelines consumer pushes the author's entry
again. Nothing a count needs happens after the commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from starling.consumers import consumers_of
from starling.core import Core
from starling.events import Event
from starling.storage import counters, outbox
from starling.storage.counters import Delta
from starling.storage.timelines import Entry

log = logging.getLogger(__name__)


@dataclass
class UnitOfWork:
    core: Core
    session: AsyncSession
    deliveries: list[outbox.Delivery] = field(default_factory=list)
    deltas: list[Delta] = field(default_factory=list)
    pushes: list[tuple[list[int], Entry]] = field(default_factory=list)

    async def emit(self, event: Event) -> None:
        """Record the event in this transaction; its consumers get it after the commit."""
        self.deliveries += await outbox.record(
            self.session, event, consumers_of(event.kind, self.core.settings)
        )

    def count(self, deltas: Sequence[Delta]) -> None:
        self.deltas.extend(deltas)

    def push_timeline(self, user_ids: list[int], entry: Entry) -> None:
        self.pushes.append((user_ids, entry))

    async def before_commit(self) -> None:
        await counters.record(self.session, self.deltas)

    async def after_commit(self) -> None:
        for user_ids, entry in self.pushes:
            await _isolated("timeline push", self.core.timelines.push(user_ids, entry))
        if changed := {d.object_id for d in self.deltas if d.kind == "tweet"}:
            await _isolated("engagement message", self.core.events.engagement_changed(changed))
        if self.deliveries:
            await _isolated("event dispatch", outbox.enqueue(self.core.queue, self.deliveries))


async def _isolated(step: str, effect: Awaitable[object]) -> None:
    try:
        await effect
    except Exception:
        log.exception("after commit: %s failed; the write stands and will be completed", step)


@contextlib.asynccontextmanager
async def unit_of_work(core: Core) -> AsyncIterator[UnitOfWork]:
    """A transaction on the primary; its recorded effects run once it has committed."""
    async with core.db.session() as session:
        work = UnitOfWork(core, session)
        yield work
        await work.before_commit()
    await work.after_commit()
