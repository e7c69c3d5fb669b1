"""Fan-out at Redis speed: timeline entries one worker writes per second when every follower's
timeline is built, next to what Redis itself does (``redis-benchmark -t zadd -P 64``) in the
same run.

Builds its own database: ``--users`` active users, ``--authors`` of them each followed by
``--followers`` others (below the celebrity threshold, so every post is fanned out on write),
and a built home timeline of ``--entries`` entries for every user. With no worker running it
posts ``--tweets`` tweets through the real service (round-robin over the authors), then starts
one real ``starling worker`` process and times it until every tweet is in every follower's
timeline and the outbox is drained.

    .venv/bin/python -m bench.fanout --users 50000 --authors 20 --followers 8000 --tweets 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import psutil

from bench.common import (
    Progress,
    add_target_arguments,
    plain,
    redis_cpu_seconds,
    sqlalchemy_url,
)
from bench.pipeline import fresh_database, wait_drained
from starling.config import Settings
from starling.core import Core
from starling.services import tweets
from starling.storage import keys
from starling.storage.timelines import SENTINEL

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/starling_fanout_bench"
REDIS_URL = "redis://127.0.0.1:6379/7"  # its own: the run flushes it
STARLING = Path(sys.executable).parent / "starling"


async def _graph(url: str, users: int, authors: int, followers: int) -> list[int]:
    """Users (all active), and ``followers`` random followers for each of the first
    ``authors`` users. Returns the authors' ids."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO users (username, email, password_hash, display_name, last_active_at) "
            "SELECT 'u' || g, 'u' || g || '@bench.test', 'x', 'User ' || g, now() "
            "FROM generate_series(1, $1) g",
            users,
        )
        await connection.execute("INSERT INTO user_stats (user_id) SELECT id FROM users")
        author_ids = [
            row["id"]
            for row in await connection.fetch("SELECT id FROM users ORDER BY id LIMIT $1", authors)
        ]
        await connection.execute(
            "INSERT INTO following (user_id, following_id) "
            "SELECT f.id, a.id FROM unnest($1::bigint[]) a(id) CROSS JOIN LATERAL "
            "(SELECT id FROM users WHERE id <> a.id ORDER BY random() LIMIT $2) f",
            author_ids,
            followers,
        )
        await connection.execute(
            "INSERT INTO followers (user_id, follower_id) "
            "SELECT following_id, user_id FROM following"
        )
        await connection.execute(
            "UPDATE user_stats s SET followers_count = n FROM "
            "(SELECT user_id, count(*) AS n FROM followers GROUP BY user_id) c "
            "WHERE s.user_id = c.user_id"
        )
        await connection.execute("ANALYZE")
        return author_ids
    finally:
        await connection.close()


async def _build_timelines(core: Core, url: str, entries: int) -> None:
    """A built timeline of ``entries`` made-up entries for every user (ids below any real one)."""
    connection = await asyncpg.connect(url)
    try:
        user_ids = [row["id"] for row in await connection.fetch("SELECT id FROM users")]
    finally:
        await connection.close()
    filler = {str(n): n for n in range(1, entries + 1)}
    filler[SENTINEL.decode()] = 0
    progress = Progress("building timelines", len(user_ids))
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        async with core.redis.main.pipeline(transaction=False) as pipe:
            for user_id in chunk:
                pipe.zadd(keys.home_timeline(user_id), filler)
            await pipe.execute()
        progress.advance(len(chunk))


async def _in_timelines(core: Core, tweet_ids: list[int], follower_ids: list[int]) -> int:
    """How many of (tweet, follower) pairs are in the follower's timeline."""
    async with core.redis.main.pipeline(transaction=False) as pipe:
        for tweet_id, follower_id in zip(tweet_ids, follower_ids, strict=True):
            pipe.zscore(keys.home_timeline(follower_id), str(tweet_id))
        return sum(score is not None for score in await pipe.execute())


async def _plain_zadd_cost(core: Core, follower_ids: list[int], writes: int) -> float:
    """Redis CPU microseconds per ZADD when the same timelines get plain pipelined ZADDs (no
    script, no checks): the floor for what a fan-out entry costs Redis with this data."""
    before = await redis_cpu_seconds(core.redis.main)
    score = 2**52  # above every real id; removed again below
    done = 0
    while done < writes:
        async with core.redis.main.pipeline(transaction=False) as pipe:
            for follower_id in follower_ids[: writes - done]:
                pipe.zadd(keys.home_timeline(follower_id), {f"probe:{done}": score})
            done += len(await pipe.execute())
    cost = (await redis_cpu_seconds(core.redis.main) - before) * 1e6 / writes
    async with core.redis.main.pipeline(transaction=False) as pipe:
        for follower_id in follower_ids:
            pipe.zremrangebyscore(keys.home_timeline(follower_id), score, score)
        await pipe.execute()
    return cost


def _redis_zadd_rate(redis_url: str) -> float:
    """ZADD/s that ``redis-benchmark -t zadd -P 64`` measures against the same server."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise SystemExit("redis-benchmark is not installed (Debian: apt-get install redis-tools)")
    parsed = urlparse(redis_url)
    output = subprocess.run(
        [
            binary,
            "-h",
            parsed.hostname or "127.0.0.1",
            "-p",
            str(parsed.port or 6379),
            "-t",
            "zadd",
            "-P",
            "64",
            "-n",
            "2000000",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"ZADD: ([\d.]+) requests per second", output.replace("\r", "\n"))
    if match is None:
        raise SystemExit(f"could not read redis-benchmark's output: {output!r}")
    return float(match.group(1))


async def run(args: argparse.Namespace) -> None:
    url = plain(args.database_url)
    await fresh_database(url)
    author_ids = await _graph(url, args.users, args.authors, args.followers)
    settings = Settings(
        database_url=sqlalchemy_url(url),
        redis_url=args.redis_url,
        celebrity_follower_threshold=args.followers + 1,
    )
    core = await Core.open(settings)
    try:
        await core.redis.main.flushdb()
        await _build_timelines(core, url, args.entries)
        posted = []
        for n in range(args.tweets):
            author_id = author_ids[n % len(author_ids)]
            result = await tweets.post_tweet(core, author_id, text=f"fan-out bench tweet {n}")
            posted.append((result.tweet.id, author_id))
        connection = await asyncpg.connect(url)
        try:
            followers_of = {
                author_id: [
                    row["follower_id"]
                    for row in await connection.fetch(
                        "SELECT follower_id FROM followers WHERE user_id = $1", author_id
                    )
                ]
                for author_id in author_ids
            }
            deliveries = await connection.fetchval("SELECT count(*) FROM outbox_deliveries")
        finally:
            await connection.close()
        expected = sum(len(followers_of[author_id]) for _, author_id in posted)
        print(
            f"{args.users:,} users with built timelines of {args.entries} entries; "
            f"{args.tweets} tweets by {args.authors} authors of {args.followers:,} followers: "
            f"{expected:,} timeline entries to write"
        )

        env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
        env.update(
            STARLING_DATABASE_URL=str(settings.database_url),
            STARLING_REDIS_URL=args.redis_url,
            STARLING_CELEBRITY_FOLLOWER_THRESHOLD=str(settings.celebrity_follower_threshold),
        )
        redis_cpu_before = await redis_cpu_seconds(core.redis.main)
        worker = await asyncio.create_subprocess_exec(
            str(STARLING), "worker", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        process = psutil.Process(worker.pid)
        # Start-up (imports, connections) is about 2 s of the worker's CPU: the rate is about
        # the CPU spent once deliveries run.
        cpu_at_first: list[float] = []
        try:
            first_done, drained = await wait_drained(
                core, deliveries, lambda: cpu_at_first.append(sum(process.cpu_times()[:2]))
            )
            cpu = sum(process.cpu_times()[:2])
            redis_cpu = await redis_cpu_seconds(core.redis.main) - redis_cpu_before
        finally:
            worker.terminate()
            await asyncio.wait_for(worker.wait(), timeout=30)
        # Every posted tweet reached every follower (a sample of 20,000 pairs is checked).
        pairs = [(t, f) for t, a in posted for f in followers_of[a]][:: max(1, expected // 20000)]
        found = await _in_timelines(core, [t for t, _ in pairs], [f for _, f in pairs])
        if found != len(pairs):
            raise SystemExit(f"only {found:,} of {len(pairs):,} sampled entries were written")
        busy = drained - first_done
        rate = expected / busy
        zadd = _redis_zadd_rate(args.redis_url)
        everyone = sorted({f for followers in followers_of.values() for f in followers})
        plain_cost = await _plain_zadd_cost(core, everyone, min(expected, 200_000))
        print(
            f"one worker: {expected:,} entries in {busy:.2f} s after the first delivery "
            f"({drained:.1f} s with start-up) = {rate:,.0f} entries/s; "
            f"worker CPU {cpu:.1f} s ({(cpu - cpu_at_first[0]) * 1e6 / expected:.2f} us per "
            f"entry after the first delivery), Redis CPU {redis_cpu:.1f} s "
            f"({redis_cpu * 1e6 / expected:.2f} us per entry; plain pipelined ZADDs into the "
            f"same timelines: {plain_cost:.2f} us)"
        )
        print(f"redis-benchmark -t zadd -P 64: {zadd:,.0f} ZADD/s")
        print(f"ratio: {rate / zadd:.1%} of Redis' pipelined ZADD rate")
    finally:
        await core.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_target_arguments(parser, DATABASE_URL, os.environ.get("BENCH_REDIS_URL", REDIS_URL))
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--authors", type=int, default=20)
    parser.add_argument("--followers", type=int, default=8_000, help="followers of each author")
    parser.add_argument("--entries", type=int, default=100, help="entries in each built timeline")
    parser.add_argument("--tweets", type=int, default=100)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
