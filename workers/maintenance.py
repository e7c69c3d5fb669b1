"""Housekeeping jobs: each a thin call into the core."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starling.core import Core
from starling.services import media, tweets
from starling.storage import counters, outbox, sessions


async def purge_expired_sessions(ctx: dict[str, Any]) -> int:
    return await sessions.purge_expired(ctx["core"])


async def flush_counters(ctx: dict[str, Any]) -> int:
    core: Core = ctx["core"]
    return await counters.flush(core.db)


async def purge_delivered_events(ctx: dict[str, Any]) -> int:
    core: Core = ctx["core"]
    return await outbox.purge_delivered(
        core.db, timedelta(hours=core.settings.delivered_event_retention_hours)
    )


async def purge_deleted_tweets(ctx: dict[str, Any]) -> int:
    return await tweets.purge_deleted(ctx["core"])


async def purge_unattached_media(ctx: dict[str, Any]) -> int:
    core: Core = ctx["core"]
    return await media.purge_unattached(
        core, timedelta(hours=core.settings.unattached_media_grace_hours)
    )
