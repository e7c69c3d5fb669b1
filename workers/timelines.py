"""Jobs that act on what happened: outbox events (timelines, notifications, live events),
timeline rebuilds, the outbox relay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starling.core import Core
from starling.services import home_timeline, notifications, timeline_events
from starling.storage import outbox


async def process_outbox_event(ctx: dict[str, Any], event_id: int) -> None:
    core: Core = ctx["core"]
    event = await outbox.claim(core.db, event_id)
    if event is None:
        return  # gone or already processed
    await timeline_events.handle(core, event.event, event.payload)
    await notifications.handle(core, event.event, event.payload)
    await outbox.mark_processed(core.db, event_id)


async def rebuild_home_timeline(ctx: dict[str, Any], user_id: int) -> int:
    return await home_timeline.rebuild(ctx["core"], user_id)


async def relay_outbox(ctx: dict[str, Any]) -> int:
    core: Core = ctx["core"]
    return await outbox.relay(
        core.db, core.queue, timedelta(seconds=core.settings.outbox_relay_after_seconds)
    )
