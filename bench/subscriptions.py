"""How many live subscription sockets one API process holds, their memory, and delivery latency.

    .venv/bin/python -m bench.subscriptions setup --sockets 10000
    STARLING_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/starling_bench_ws \\
      STARLING_REDIS_URL=redis://127.0.0.1:6379/6 STARLING_CELEBRITY_FOLLOWER_THRESHOLD=1000000 \\
      .venv/bin/starling serve --no-worker --port 8900 &      # and a worker with the same env
    .venv/bin/python -m bench.subscriptions run --sockets 10000 --url ws://127.0.0.1:8900/graphql \\
      --server-pid <pid of the API process>

``setup`` makes one author and N followers (all active) with login tokens. ``run`` opens N
graphql-transport-ws sockets with Node (``bench/drivers/sockets.cjs``: Python's client cost more
CPU per socket than the server), each subscribed to homeTimeline (``--document per-viewer``
selects a per-viewer field too), reads the API process's CPU while they open and its memory
before and after, then posts one tweet from the author and times its arrival on every socket. Sessions are read from PostgreSQL on
first use and cached in Redis for five minutes: flush the Redis database before a run to measure
the slower, uncached opening.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from argon2 import PasswordHasher
from redis.asyncio import Redis

from bench.common import (
    DATA_DIR,
    PASSWORD,
    Progress,
    add_target_arguments,
    database_name,
    plain,
    recreate_database,
)
from server.migrate import upgrade
from starling import ids
from starling.storage import keys

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/starling_bench_ws"
REDIS_URL = "redis://127.0.0.1:6379/6"
TOKENS = DATA_DIR / "ws_tokens.tsv"
# The sockets are opened and held by Node (sockets.cjs; ``npm ci`` there on first use).
DRIVERS_DIR = Path(__file__).resolve().parent / "drivers"
DOCUMENTS = {
    # Nothing per viewer: one execution per event serves every socket (server/live.py).
    "shared": "subscription { homeTimeline { id text author { username } } }",
    # viewerHasLiked: executed for each socket.
    "per-viewer": "subscription { homeTimeline { id text viewerHasLiked author { username } } }",
}


async def setup(args: argparse.Namespace) -> None:
    await recreate_database(args.database_url)
    await asyncio.to_thread(upgrade, args.database_url)
    connection = await asyncpg.connect(plain(args.database_url))
    now = datetime.now(UTC)
    first = ids.lowest_id_at(now - timedelta(days=10))
    user_ids = [first + i for i in range(args.sockets + 1)]  # index 0 is the author
    password_hash = PasswordHasher().hash(PASSWORD)
    await connection.copy_records_to_table(
        "users",
        records=[
            (uid, f"w{i}", f"w{i}@bench.example", password_hash, f"W {i}", now)
            for i, uid in enumerate(user_ids)
        ],
        columns=["id", "username", "email", "password_hash", "display_name", "last_active_at"],
    )
    author = user_ids[0]
    followers = user_ids[1:]
    await connection.copy_records_to_table(
        "following", records=[(f, author) for f in followers], columns=["user_id", "following_id"]
    )
    await connection.copy_records_to_table(
        "followers", records=[(author, f) for f in followers], columns=["user_id", "follower_id"]
    )
    await connection.copy_records_to_table(
        "user_stats",
        records=[(author, len(followers), 0)] + [(f, 0, 1) for f in followers],
        columns=["user_id", "followers_count", "following_count"],
    )
    DATA_DIR.mkdir(exist_ok=True)
    sessions = []
    progress = Progress("tokens", len(user_ids))
    with TOKENS.open("w") as out:
        for uid in user_ids:
            token = "stl_" + secrets.token_urlsafe(24)
            sessions.append((uid, hashlib.sha256(token.encode()).digest(), now + timedelta(days=1)))
            out.write(f"{uid}\t{token}\n")
            progress.advance()
    await connection.copy_records_to_table(
        "sessions", records=sessions, columns=["user_id", "token_hash", "expires_at"]
    )
    await connection.execute("ANALYZE")
    await connection.close()
    print(
        f"set up {database_name(args.database_url)}: 1 author, {len(followers):,} followers, tokens in {TOKENS}"
    )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def run(args: argparse.Namespace) -> None:
    author_token = TOKENS.read_text().splitlines()[0].split("\t")[1]
    before = rss_kib(args.server_pid)
    driver = await asyncio.create_subprocess_exec(
        "node",
        str(DRIVERS_DIR / "sockets.cjs"),
        args.url,
        str(TOKENS),
        str(args.sockets),
        str(args.connect_concurrency),
        DOCUMENTS[args.document],
        str(args.wait),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 24,  # the latencies come as one line
    )
    assert driver.stdin is not None
    assert driver.stdout is not None

    async def line() -> dict[str, Any]:
        assert driver.stdout is not None
        message: dict[str, Any] = json.loads(
            await driver.stdout.readline() or b'{"error":"exited"}'
        )
        if "error" in message:
            raise SystemExit(f"the socket driver failed: {message['error']}")
        return message

    await line()  # opening
    api_cpu_before = cpu_seconds(args.server_pid)
    opened = await line()
    api_cpu = cpu_seconds(args.server_pid) - api_cpu_before
    sockets = opened["opened"]
    redis = Redis.from_url(args.redis_url)
    while await redis.zcard("presence") < sockets:  # noqa: ASYNC110 - the server's state
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    after = rss_kib(args.server_pid)

    # When the worker's fan-out told the API processes (the rest is the API's delivery).
    announced: list[float] = []
    announcements = redis.pubsub(ignore_subscribe_messages=True)
    await announcements.subscribe(keys.HOME_DELIVERIES)

    async def listen() -> None:
        while True:
            if await announcements.get_message(timeout=1.0) is not None:
                announced.append(time.monotonic())

    listener = asyncio.create_task(listen())
    http_url = args.url.replace("ws://", "http://")
    async with httpx.AsyncClient(timeout=30) as http:
        driver.stdin.write(b"posting\n")
        await driver.stdin.drain()
        posted_at = time.monotonic()
        response = await http.post(
            http_url,
            json={
                "query": "mutation($t: String!) { postTweet(input: {text: $t}) "
                "{ tweet { id } errors { code } } }",
                "variables": {"t": f"to everyone at {time.time()}"},
            },
            headers={"authorization": f"Bearer {author_token}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["postTweet"]["errors"] == [], response.text
    latencies = sorted(ms / 1000 for ms in (await line())["latenciesMs"])
    await driver.wait()
    listener.cancel()
    await announcements.aclose()
    await redis.aclose()
    per_socket_ms = api_cpu / max(sockets, 1) * 1000
    print(
        f"sockets={sockets:,} opened in {opened['seconds']:.1f}s "
        f"({sockets / opened['seconds']:,.0f}/s); "
        f"API process CPU {api_cpu:.1f}s = {per_socket_ms:.3f} ms per socket "
        f"({1000 / max(per_socket_ms, 1e-9):,.0f} sockets per CPU-second); "
        f"load driver CPU {opened['cpuSeconds']:.1f}s\n"
        f"API process RSS {before / 1024:.0f} MiB"
        f" -> {after / 1024:.0f} MiB = {(after - before) / max(sockets, 1):.1f} KiB per socket"
    )
    if not latencies:
        print("one tweet fanned out to all: no deliveries")
        return
    print(
        f"one tweet fanned out to all: delivered to {len(latencies):,}/{sockets:,} sockets; "
        f"latency first={latencies[0] * 1000:.0f}ms p50={statistics.median(latencies) * 1000:.0f}ms "
        f"p99={latencies[int(0.99 * (len(latencies) - 1))] * 1000:.0f}ms max={latencies[-1] * 1000:.0f}ms"
        f"\nfan-out announced it in {len(announced)} message(s), the first "
        f"{(announced[0] - posted_at) * 1000 if announced else float('nan'):.0f}ms after the post"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=["setup", "run"])
    add_target_arguments(parser, DATABASE_URL)
    parser.set_defaults(redis_url=REDIS_URL)
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--url", default="ws://127.0.0.1:8900/graphql")
    parser.add_argument("--server-pid", type=int, help="the API process (run: required)")
    parser.add_argument("--connect-concurrency", type=int, default=200)
    parser.add_argument("--wait", type=float, default=60)
    parser.add_argument("--document", choices=sorted(DOCUMENTS), default="shared")
    args = parser.parse_args()
    if args.step == "run" and args.server_pid is None:
        parser.error("run needs --server-pid: the API process's memory and CPU are measured")
    if args.step == "run" and not (DRIVERS_DIR / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=DRIVERS_DIR, check=True)
    asyncio.run(setup(args) if args.step == "setup" else run(args))


if __name__ == "__main__":
    main()
