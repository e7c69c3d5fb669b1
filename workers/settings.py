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

FUNCTIONS = [maintenance.purge_expired_sessions]
CRON_JOBS = [cron(maintenance.purge_expired_sessions, minute={7}, run_at_startup=False)]


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
        "cron_jobs": CRON_JOBS,
        "redis_settings": redis_settings(settings),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
    }
