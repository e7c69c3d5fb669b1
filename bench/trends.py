"""Trends: how many events a second the counting consumer handles, and what a refresh costs.

On the bench data set (``bench.build_dataset``): the newest ``--events`` tweets that carry a
hashtag become ``tweet.posted`` events, handled by the trends consumer ``--concurrency`` at a
time, as a worker runs its jobs (arq's own cost per job, about 0.5 ms, is not included: see
the pipeline benchmark). The data set spreads its tweets over 30 days, so nothing trends in it;
``--burst`` then posts that many tweets through the services from distinct accounts on 20 topics
(counted the same way), so the refresh has trends to score and ``bench.load trends`` has lists
to read. Counting starts from empty trend keys and is idempotent, so the run can be repeated.

    .venv/bin/python -m bench.trends --events 20000 --concurrency 10 --burst 2000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from redis.asyncio import Redis
from sqlalchemy import text

from bench.common import add_target_arguments, sqlalchemy_url
from starling.config import Settings
from starling.core import Core
from starling.events import TweetPosted
from starling.services import trends, tweets


async def _clear_trend_keys(url: str) -> None:
    redis = Redis.from_url(url)
    try:
        async for key in redis.scan_iter(match="trends:*", count=10_000):
            await redis.delete(key)
    finally:
        await redis.aclose()


async def run(args: argparse.Namespace) -> None:
    # The data set's accounts were all created when it was built: as a day old they would
    # count as 0.2 each (the new-account rule), so the rule is off here.
    settings = Settings(
        database_url=sqlalchemy_url(args.database_url),
        redis_url=args.redis_url,
        trends_new_account_hours=0,
    )
    await _clear_trend_keys(args.redis_url)
    core = await Core.open(settings)
    try:
        rows = await core.db.rows(
            text(
                "SELECT t.id, t.author_id FROM tweets t WHERE t.retweet_of_tweet_id IS NULL "
                "AND EXISTS (SELECT 1 FROM tweet_hashtags h WHERE h.tweet_id = t.id) "
                "ORDER BY t.id DESC LIMIT :n"
            ),
            {"n": args.events},
        )
        events = [TweetPosted(tweet_id=row.id, author_id=row.author_id) for row in rows]
        queue: asyncio.Queue[TweetPosted] = asyncio.Queue()
        for event in events:
            queue.put_nowait(event)

        async def worker() -> None:
            while not queue.empty():
                await trends.handle(core, queue.get_nowait())

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"counted {len(events):,} tweet.posted events in {elapsed:.1f} s: "
            f"{len(events) / elapsed:,.0f} events/s, {cpu / len(events) * 1000:.2f} ms CPU each "
            f"(this process; PostgreSQL and Redis beside it)"
        )

        if args.burst:
            await _burst(core, args.burst)

        started = time.perf_counter()
        lists = await trends.refresh(core)
        elapsed = time.perf_counter() - started
        listed = {scope: len(found) for scope, found in lists.items()}
        print(f"refresh of {len(lists)} scopes in {elapsed * 1000:.0f} ms; listed: {listed}")
        for trend in lists.get("global", [])[:5]:
            print(f"  #{trend.name}: score {trend.score}, {trend.user_count} accounts")
    finally:
        await core.close()


async def _burst(core: Core, count: int) -> None:
    authors = await core.db.rows(
        text("SELECT id FROM users WHERE NOT protected ORDER BY random() LIMIT :n"),
        {"n": count},
    )
    rng = random.Random(7)
    started = time.perf_counter()
    for n, author in enumerate(authors):
        topic = min(int(rng.paretovariate(1.2)), 20)  # a few big topics, a tail of small ones
        posted = await tweets.post_tweet(
            core, author.id, text=f"burst {time.time_ns()} {n} #breaking{topic}"
        )
        await trends.handle(core, TweetPosted(tweet_id=posted.tweet.id, author_id=author.id))
    elapsed = time.perf_counter() - started
    print(f"burst: {len(authors):,} tweets posted and counted in {elapsed:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_target_arguments(parser)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--burst", type=int, default=0, help="tweets of a burst to post first")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
