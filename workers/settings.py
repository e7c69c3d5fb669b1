"""arq worker settings: the jobs, the cron schedule, and the clients they share.

Jobs take ids, load rows, call a service, and treat "row gone" as done; each may run twice.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import cron
from arq.connections import RedisSettings

from starling.config import Settings
from starling.core import Core
from workers import maintenance

log = logging.getLogger(__name__)

FUNCTIONS = [
    maintenance.purge_expired_sessions,
    maintenance.flush_counters,
    maintenance.purge_deleted_tweets,
]


def cron_jobs(settings: Settings) -> list[Any]:
    return [
        cron(maintenance.purge_expired_sessions, minute={7}),
        # Counter deltas wait in Redis at most this long before reaching PostgreSQL.
        cron(
            maintenance.flush_counters,
            second=set(range(0, 60, settings.counter_flush_seconds)),
            unique=True,
        ),
        cron(maintenance.purge_deleted_tweets, minute={23}),
    ]


def redis_settings(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(settings.redis_url_for("queue"))


def worker_options(settings: Settings) -> dict[str, Any]:
    """Everything ``arq.Worker`` needs, for the CLI and for the API's in-process worker."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["core"] = Core.open(settings)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await ctx["core"].close()

    return {
        "functions": FUNCTIONS,
        "cron_jobs": cron_jobs(settings),
        "redis_settings": redis_settings(settings),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
    }
