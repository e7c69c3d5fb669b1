"""Shared by the benchmark scripts: the one database and Redis they touch, and a progress bar.

Every bench command works on one explicit target: ``--database-url`` (or ``BENCH_DATABASE_URL``;
default ``postgresql://postgres@127.0.0.1:5432/starling_bench``) and ``--redis-url`` (or
``BENCH_REDIS_URL``). ``STARLING_DATABASE_URL`` is never read here, so pointing a shell at a real
database cannot make a benchmark drop it. A command that (re)creates its database drops only one
that a bench command created: it marks what it creates with a comment and refuses anything else.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import asyncpg
from redis.asyncio import Redis

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/starling_bench"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
PASSWORD = "benchmark password 1"
MARK = "made by a Starling bench command; bench commands may drop it"


class NotABenchDatabase(SystemExit):
    pass


def add_target_arguments(
    parser: argparse.ArgumentParser,
    database_url: str = DATABASE_URL,
    redis_url: str = REDIS_URL,
) -> None:
    parser.add_argument(
        "--database-url",
        default=database_url,
        help=f"the benchmark database (BENCH_DATABASE_URL; default {database_url})",
    )
    parser.add_argument(
        "--redis-url", default=redis_url, help=f"the benchmark Redis (BENCH_REDIS_URL; {redis_url})"
    )


def plain(url: str) -> str:
    """asyncpg's form of a database URL (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def sqlalchemy_url(url: str) -> str:
    return plain(url).replace("postgresql://", "postgresql+asyncpg://", 1)


def database_name(url: str) -> str:
    return plain(url).rpartition("/")[2].partition("?")[0]


async def recreate_database(url: str) -> None:
    """A fresh, empty database at ``url``: created, or dropped and created again when a bench
    command made it. A database without the mark is never dropped."""
    name = database_name(url)
    head = plain(url).rpartition("/")[0]
    admin = await asyncpg.connect(f"{head}/postgres")
    try:
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and comment != MARK:
            raise NotABenchDatabase(
                f"refusing to drop database {name!r}: a bench command did not create it "
                "(no bench mark). Name another with --database-url, or drop it yourself."
            )
        quoted = '"' + name.replace('"', '""') + '"'
        if exists:
            await admin.execute(f"DROP DATABASE {quoted} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {quoted}")
        await admin.execute(f"COMMENT ON DATABASE {quoted} IS '{MARK}'")
    finally:
        await admin.close()


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = self.last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last > 0.2 or self.done >= self.total:
            self.last = now
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            rate = self.done / max(now - self.started, 1e-9)
            sys.stderr.write(
                f"\r{self.label:<22} [{bar:<30}] {share:6.1%} {self.done:>11,} {rate:>10,.0f}/s"
            )
            if self.done >= self.total:
                sys.stderr.write(f"  {now - self.started:6.1f}s\n")
            sys.stderr.flush()


async def redis_cpu_seconds(redis: Redis) -> float:
    """The Redis server's own CPU (user + system) so far: a bench takes the difference."""
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
