"""Redis CPU per timeline entry of the fan-out push script, this checkout's against another
revision's, in interleaved rounds (Redis' own CPU counter, so neither the worker nor PostgreSQL
is in the figure; this machine's speed drifts, and interleaving pairs the two in each round).

    .venv/bin/python -m bench.timeline_push --base f4d56b6~3 --rounds 12

Fills its own Redis database (db 7 by default, flushed before and after) with ``--timelines``
built timelines of ``--entries`` entries, then pushes four new entries into every one of them
with each script per round, in batches of 5,000 followers as the worker does.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
from pathlib import Path

import redis.asyncio as aioredis

from bench.common import redis_cpu_seconds
from starling.storage.timelines import _PUSH

BATCH = 5_000
SIZE = 800


def _script_at(revision: str) -> str:
    source = subprocess.run(
        ["git", "show", f"{revision}:starling/storage/timelines.py"],
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = re.search(r'_PUSH = """(.*?)"""', source, re.S)
    if found is None:
        raise SystemExit(f"no _PUSH script in starling/storage/timelines.py at {revision}")
    return found.group(1)


async def run(args: argparse.Namespace) -> None:
    redis = aioredis.Redis.from_url(args.redis_url)
    try:
        await redis.flushdb()
        for start in range(0, args.timelines, 1_000):
            pipeline = redis.pipeline(transaction=False)
            for user in range(start, min(start + 1_000, args.timelines)):
                entries = {str(10**6 + i): 10**6 + i for i in range(args.entries)}
                pipeline.zadd(f"bench:tl:{user}", {"0": 0, **entries})
            await pipeline.execute()
        batches = [
            ",".join(str(u) for u in range(start, min(start + BATCH, args.timelines)))
            for start in range(0, args.timelines, BATCH)
        ]
        scripts = {args.base: _script_at(args.base), "this checkout": _PUSH}
        costs: dict[str, list[float]] = {name: [] for name in scripts}
        tweet = 2 * 10**6
        for _ in range(args.rounds):
            for name, source in scripts.items():
                push = redis.register_script(source)
                before = await redis_cpu_seconds(redis)
                written = 0
                for _ in range(4):
                    tweet += 1
                    for batch in batches:
                        written += int(
                            await push(args=[tweet, tweet, "0", SIZE, 40, "bench:tl:", batch])
                        )
                costs[name].append((await redis_cpu_seconds(redis) - before) * 1e6 / written)
            print(" | ".join(f"{name}: {c[-1]:.2f} us" for name, c in costs.items()), flush=True)
        base, this = costs[args.base], costs["this checkout"]
        lower = sum(t < b for b, t in zip(base, this, strict=True))
        print(
            f"Redis CPU per entry, mean of {args.rounds} rounds: {args.base} "
            f"{statistics.mean(base):.2f} us, this checkout {statistics.mean(this):.2f} us "
            f"(lower in {lower} of {args.rounds} rounds)"
        )
    finally:
        await redis.flushdb()
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--timelines", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7", help="flushed")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
