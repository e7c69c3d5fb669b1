"""arq worker settings: the jobs, the cron schedule, and the clients they share.

Jobs take ids, load rows, call a service, and treat "row gone" as done; each may run twice.
"""

from __future__ import annotations

from typing import Any

from arq import cron, func

from starling.config import Settings
from starling.core import Core, queue_settings
from starling.services.media import MEDIA_QUEUE
from workers import events, maintenance, media, timelines, trends

FUNCTIONS = [
    maintenance.purge_expired_sessions,
    maintenance.flush_counters,
    maintenance.purge_deleted_tweets,
    maintenance.purge_delivered_events,
    maintenance.purge_unattached_media,
    # Deliveries keep their own attempts and schedule (starling.storage.outbox): arq runs each
    # job once and keeps no result, so a retry's job id is free as soon as a run ends.
    func(events.deliver_event, keep_result=0, max_tries=1),
    func(timelines.rebuild_home_timeline, keep_result=0),
    events.relay_events,
    trends.refresh_trends,
]


def cron_jobs(settings: Settings) -> list[Any]:
    return [
        cron(maintenance.purge_expired_sessions, minute={7}),
        # Counter deltas wait in counter_deltas about this long before reaching the stats rows.
        cron(
            maintenance.flush_counters,
            second=set(range(0, 60, settings.counter_flush_seconds)),
            unique=True,
        ),
        cron(maintenance.purge_deleted_tweets, minute={23}),
        cron(
            events.relay_events,
            second=set(range(0, 60, settings.outbox_relay_every_seconds)),
            unique=True,
        ),
        cron(maintenance.purge_delivered_events, minute={41}),
        cron(maintenance.purge_unattached_media, minute={53}, unique=True),
        _every(settings.trends_refresh_seconds, trends.refresh_trends),
    ]


def _every(seconds: int, job: Any) -> Any:
    """A cron job every ``seconds`` (a divisor of a minute, or whole minutes dividing an hour)."""
    if seconds < 60:
        return cron(job, second=set(range(0, 60, seconds)), unique=True)
    return cron(job, minute=set(range(0, 60, seconds // 60)), second={0}, unique=True)


def worker_options(settings: Settings, core: Core | None = None) -> dict[str, Any]:
    """Everything ``arq.Worker`` needs. A worker in its own process opens its own clients; one
    inside the API process (or a test) shares the ``core`` it is given."""
    return {
        "functions": FUNCTIONS,
        "cron_jobs": cron_jobs(settings),
        "redis_settings": queue_settings(settings),
        **_lifecycle(settings, core),
        "max_jobs": settings.worker_concurrency,
        # arq takes at most max_jobs per poll: with its default 0.5 s a worker tops out at
        # 2 x max_jobs jobs a second however quick they are (20/s with the defaults).
        "poll_delay": 0.05,
    }


def media_worker_options(settings: Settings, core: Core | None = None) -> dict[str, Any]:
    """A worker of the media queue: CPU-heavy jobs, a few at a time (each decodes in a thread)."""
    return {
        "functions": [media.process_media],
        "queue_name": MEDIA_QUEUE,
        "redis_settings": queue_settings(settings),
        **_lifecycle(settings, core),
        "max_jobs": settings.media_worker_concurrency,
        "poll_delay": 0.05,
    }


def _lifecycle(settings: Settings, core: Core | None) -> dict[str, Any]:
    lifecycle: dict[str, Any]
    if core is not None:
        lifecycle = {"ctx": {"core": core}}
    else:

        async def on_startup(ctx: dict[str, Any]) -> None:
            ctx["core"] = await Core.open(settings)

        async def on_shutdown(ctx: dict[str, Any]) -> None:
            await ctx["core"].close()

        lifecycle = {"on_startup": on_startup, "on_shutdown": on_shutdown}
    return lifecycle
