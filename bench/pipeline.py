"""Event pipeline throughput: how many events per second one worker process drains.

Builds a small graph in its own database (users following 50 others each), then, with no worker
running, writes a backlog through the real services: tweets (``tweet.posted``: fan-out to the
followers' timelines and a notification check) and likes (``tweet.liked``: a like
notification). Then it starts one real ``starling worker`` process and times it until every
delivery is done and the arq queue is empty.

    .venv/bin/python -m bench.pipeline --users 1000 --tweets 2000 --likes 8000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import psutil

from bench.common import add_target_arguments, plain, recreate_database, sqlalchemy_url
from starling.config import Settings
from starling.core import Core
from starling.errors import DomainError
from starling.services import engagement, tweets
from starling.storage import outbox

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/starling_pipeline_bench"
STARLING = Path(sys.executable).parent / "starling"


async def fresh_database(url: str) -> None:
    await recreate_database(url)
    from server.migrate import upgrade

    await asyncio.to_thread(upgrade, sqlalchemy_url(url))


async def _graph(url: str, users: int, follows_each: int) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO users (username, email, password_hash, display_name) "
            "SELECT 'u' || g, 'u' || g || '@bench.test', 'x', 'User ' || g "
            "FROM generate_series(1, $1) g",
            users,
        )
        await connection.execute("INSERT INTO user_stats (user_id) SELECT id FROM users")
        await connection.execute(
            "INSERT INTO following (user_id, following_id) "
            "SELECT a.id, b.id FROM users a CROSS JOIN LATERAL "
            "(SELECT id FROM users WHERE id <> a.id ORDER BY random() LIMIT $1) b",
            follows_each,
        )
        await connection.execute(
            "INSERT INTO followers (user_id, follower_id) "
            "SELECT following_id, user_id FROM following"
        )
        return [row["id"] for row in await connection.fetch("SELECT id FROM users")]
    finally:
        await connection.close()


async def _backlog(core: Core, user_ids: list[int], posts: int, likes: int) -> list[int]:
    rng = random.Random(7)
    gate = asyncio.Semaphore(16)

    async def post(n: int) -> int:
        async with gate:
            posted = await tweets.post_tweet(
                core, rng.choice(user_ids), text=f"bench tweet {n} #pipeline"
            )
            return posted.tweet.id

    tweet_ids = list(await asyncio.gather(*(post(n) for n in range(posts))))

    async def like(user_id: int, tweet_id: int) -> None:
        async with gate:
            with contextlib.suppress(DomainError):  # liked twice by the random draw
                await engagement.like(core, user_id, tweet_id)

    await asyncio.gather(*(like(rng.choice(user_ids), rng.choice(tweet_ids)) for _ in range(likes)))
    return tweet_ids


async def _deliveries(url: str) -> tuple[int, int, dict[str, int]]:
    connection = await asyncpg.connect(url)
    try:
        events = await connection.fetchval("SELECT count(*) FROM outbox")
        deliveries = await connection.fetchval("SELECT count(*) FROM outbox_deliveries")
        by_kind = {
            row["event"]: row["n"]
            for row in await connection.fetch(
                "SELECT event, count(*) AS n FROM outbox GROUP BY event ORDER BY event"
            )
        }
        return events, deliveries, by_kind
    finally:
        await connection.close()


async def run(args: argparse.Namespace) -> None:
    url = plain(args.database_url)
    await fresh_database(url)
    user_ids = await _graph(url, args.users, args.follows)
    settings = Settings(database_url=sqlalchemy_url(url), redis_url=args.redis_url)
    core = await Core.open(settings)
    try:
        await core.redis.main.flushdb()
        started = time.monotonic()
        await _backlog(core, user_ids, args.tweets, args.likes)
        written = time.monotonic() - started
        events, deliveries, by_kind = await _deliveries(url)
        print(f"backlog: {events:,} events, {deliveries:,} deliveries, written in {written:.1f} s")
        print("  " + ", ".join(f"{kind} {n:,}" for kind, n in by_kind.items()))

        env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
        env.update(
            STARLING_DATABASE_URL=str(settings.database_url), STARLING_REDIS_URL=args.redis_url
        )
        worker = await asyncio.create_subprocess_exec(
            str(STARLING),
            "worker",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            first_done, drained = await wait_drained(core, deliveries)
            cpu = psutil.Process(worker.pid).cpu_times()
        finally:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), timeout=30)
        busy = drained - first_done
        print(
            f"drained by one worker in {drained:.1f} s ({drained - busy:.1f} s of it starting up): "
            f"{events / busy:,.0f} events/s, {deliveries / busy:,.0f} deliveries/s; "
            f"worker CPU {cpu.user + cpu.system:.1f} s "
            f"({(cpu.user + cpu.system) * 1000 / deliveries:.1f} ms per delivery)"
        )
    finally:
        await core.close()


async def wait_drained(
    core: Core, deliveries: int, on_first_done: Callable[[], None] | None = None
) -> tuple[float, float]:
    """Seconds from now until the first delivery finished and until none is pending and the
    arq queue is empty. ``on_first_done`` is called when the first delivery is seen done."""
    started = time.monotonic()
    first_done: float | None = None
    while True:
        pending = (await outbox.state(core.db)).pending
        now = time.monotonic() - started
        if first_done is None and pending < deliveries:
            first_done = now
            if on_first_done is not None:
                on_first_done()
        if pending == 0 and await core.queue.zcard("arq:queue") == 0:
            return first_done or now, now
        await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_target_arguments(parser, DATABASE_URL)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--follows", type=int, default=50, help="accounts each user follows")
    parser.add_argument("--tweets", type=int, default=2000)
    parser.add_argument("--likes", type=int, default=8000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
