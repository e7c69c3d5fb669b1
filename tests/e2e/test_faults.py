"""Fault injection with real processes: an API process and a worker process (``starling serve
--no-worker`` and ``starling worker``), driven over HTTP, killed with SIGKILL, frozen with
SIGSTOP, and Redis flushed under load. Afterwards every home timeline, counter and notification
must be exact within 30 s of recovery, checked against the rows in PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from starling.config import Settings
from starling.core import Core
from starling.services import counting
from starling.storage import outbox
from tests.support import (
    POST_TWEET,
    REGISTER,
    STARLING,
    STRONG_PASSWORD,
    db_id,
    free_port,
    service_env,
    wait_ready,
)

RECOVERY_SECONDS = 30

LIKE = "mutation($id: ID!) { likeTweet(id: $id) { errors { code } } }"
FOLLOW = "mutation($id: ID!) { followUser(id: $id) { errors { code } } }"


@dataclass
class Processes:
    """The API and the worker as separate OS processes, each startable and killable."""

    env: dict[str, str]
    logs: Path
    port: int = field(default_factory=free_port)
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    starts: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self, name: str) -> None:
        command = {
            "api": [str(STARLING), "serve", "--no-worker", "--port", str(self.port)],
            "worker": [str(STARLING), "worker"],
        }[name]
        log_path = self.logs / f"{name}{next(self.starts)}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.running[name] = process
        if name == "api":
            wait_ready(f"http://127.0.0.1:{self.port}", process, log_path)

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def signal(self, name: str, signum: int) -> None:
        self.running[name].send_signal(signum)

    def stop_all(self) -> None:
        for process in self.running.values():
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGINT)
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()

    def log_text(self) -> str:
        return "\n".join(p.read_text()[-4000:] for p in sorted(self.logs.glob("*.log")))


@pytest.fixture
def processes(test_settings: Settings, tmp_path: Path, app: Any) -> Iterator[Processes]:
    env = service_env(test_settings, tmp_path)
    running = Processes(env, tmp_path)
    running.start("api")
    running.start("worker")
    yield running
    running.stop_all()


@dataclass
class User:
    id: str
    token: str


class Load:
    """Clients of the API process: accounts, follows, posts, likes (errors from a dying API are
    expected and counted, never retried: the test checks what the database kept)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(timeout=30)
        self.failed = 0
        self.answered = 0
        self.tweets: list[str] = []

    async def call(self, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self.http.post(
                self.url, json={"query": query, "variables": variables}, headers=headers
            )
            body = response.json()
        except (httpx.TransportError, ValueError):
            self.failed += 1
            return None
        self.answered += 1
        if body.get("errors"):
            self.failed += 1
            return None
        return body["data"]

    async def register(self, name: str) -> User:
        account = {"username": name, "email": f"{name}@example.com", "password": STRONG_PASSWORD}
        data = await self.call(REGISTER, {"input": account})
        payload = data["register"]
        assert payload["errors"] == [], payload
        return User(payload["user"]["id"], payload["token"])

    async def people(self, prefix: str, count: int) -> list[User]:
        return await gather_limited(self.register(f"{prefix}{i}") for i in range(count))

    async def post(self, author: User, words: str) -> None:
        data = await self.call(POST_TWEET, {"input": {"text": words}}, author.token)
        if data and data["postTweet"]["tweet"]:
            self.tweets.append(data["postTweet"]["tweet"]["id"])

    async def like(self, fan: User, tweet_id: str) -> None:
        await self.call(LIKE, {"id": tweet_id}, fan.token)

    async def close(self) -> None:
        await self.http.aclose()


async def gather_limited(work: Any, limit: int = 16) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in work))


@dataclass
class World:
    authors: list[User]
    followers: list[User]


async def a_world(load: Load, core: Core, authors: int = 4, followers: int = 40) -> World:
    """Followers who follow every author, their home timelines built (empty) in Redis."""
    world = World(await load.people("author", authors), await load.people("reader", followers))
    await gather_limited(
        load.call(FOLLOW, {"id": author.id}, reader.token)
        for reader in world.followers
        for author in world.authors
    )
    assert load.failed == 0
    for reader in world.followers:
        await core.timelines.finish_rebuild(db_id(reader.id), [])
    return world


async def inexact(core: Core, world: World, *, timelines_in_redis: bool = True) -> list[str]:
    """What differs from the truth in PostgreSQL; empty when everything is exact."""
    problems: list[str] = []
    state = await outbox.state(core.db)
    if state.pending or state.dead:
        async with core.db.read_session() as session:
            open_rows = (
                await session.execute(
                    text(
                        "SELECT event_id, consumer, state, attempts, due_at - now() AS due_in, "
                        "last_error FROM outbox_deliveries WHERE state <> 'done' LIMIT 3"
                    )
                )
            ).all()
        problems.append(f"deliveries pending {state.pending}, dead {state.dead}: {open_rows}")
    for kind in ("tweet", "user"):
        drifted = await counting.drift(core.db, kind)  # type: ignore[arg-type]
        if drifted:
            problems.append(f"{len(drifted)} {kind} counts drifted, e.g. {drifted[0]}")
    async with core.db.read_session() as session:
        missing_likes = await session.scalar(
            text(
                "SELECT count(*) FROM likes l JOIN tweets t ON t.id = l.tweet_id "
                "WHERE l.user_id <> t.author_id AND NOT EXISTS (SELECT 1 FROM notifications n "
                "JOIN notification_actors a ON a.notification_id = n.id "
                "WHERE n.recipient_id = t.author_id AND n.kind = 'like' "
                "AND n.tweet_id = l.tweet_id AND a.actor_id = l.user_id)"
            )
        )
        extra_likes = await session.scalar(
            text(
                "SELECT count(*) FROM notifications n "
                "JOIN notification_actors a ON a.notification_id = n.id WHERE n.kind = 'like' "
                "AND NOT EXISTS (SELECT 1 FROM likes l "
                "WHERE l.tweet_id = n.tweet_id AND l.user_id = a.actor_id)"
            )
        )
        wrong_actor_counts = await session.scalar(
            text(
                "SELECT count(*) FROM notifications n WHERE n.actor_count <> "
                "(SELECT count(*) FROM notification_actors a WHERE a.notification_id = n.id)"
            )
        )
        authored = (
            await session.execute(
                text(
                    "SELECT t.id FROM tweets t WHERE t.deleted_at IS NULL "
                    "AND t.author_id = ANY(:authors)"
                ),
                {"authors": [db_id(a.id) for a in world.authors]},
            )
        ).scalars()
        expected = set(authored)
    if missing_likes or extra_likes or wrong_actor_counts:
        problems.append(
            f"like notifications: {missing_likes} missing, {extra_likes} extra, "
            f"{wrong_actor_counts} with a wrong actor count"
        )
    if timelines_in_redis:
        for reader in world.followers:
            entries = await core.timelines.entries(db_id(reader.id))
            have = {e.tweet_id for e in entries}
            if have != expected:
                problems.append(
                    f"timeline of {reader.id}: {len(expected - have)} missing, "
                    f"{len(have - expected)} extra"
                )
                break
    return problems


async def until_exact(core: Core, world: World, processes: Processes, **options: Any) -> float:
    """Seconds until everything is exact; fails after RECOVERY_SECONDS with what is not."""
    started = time.monotonic()
    while True:
        problems = await inexact(core, world, **options)
        took = time.monotonic() - started
        if not problems:
            return took
        if took > RECOVERY_SECONDS:
            pytest.fail(
                f"not exact {took:.0f} s after recovery: {problems}\n{processes.log_text()}"
            )
        await asyncio.sleep(0.5)


async def deliveries_done(core: Core) -> tuple[int, int]:
    async with core.db.read_session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FROM outbox_deliveries"
                )
            )
        ).one()
    return int(row[0]), int(row[1])


@pytest.fixture
async def load(processes: Processes) -> AsyncIterator[Load]:
    client = Load(processes.url)
    yield client
    await client.close()


async def test_a_worker_killed_mid_fan_out(processes: Processes, load: Load, app: Any) -> None:
    core: Core = app.state.core
    world = await a_world(load, core)
    await until_exact(core, world, processes)
    processes.signal("worker", signal.SIGSTOP)
    await gather_limited(
        load.post(world.authors[i % len(world.authors)], f"tweet {i}") for i in range(240)
    )
    before, total = await deliveries_done(core)
    processes.signal("worker", signal.SIGCONT)
    for _ in range(2000):
        done, total = await deliveries_done(core)
        if done > before + 20:
            break
        await asyncio.sleep(0.005)
    processes.kill("worker")
    done, total = await deliveries_done(core)
    assert done < total, "the worker finished before it could be killed"
    processes.start("worker")
    took = await until_exact(core, world, processes)
    print(f"worker killed with {total - done} of {total} deliveries open: exact after {took:.1f} s")


async def test_the_api_killed_under_load(processes: Processes, load: Load, app: Any) -> None:
    core: Core = app.state.core
    world = await a_world(load, core, followers=30)
    for i, author in enumerate(world.authors):
        await load.post(author, f"to be liked {i}")
    targets = list(load.tweets)
    fans = world.followers
    work = [load.like(fan, tweet) for fan in fans for tweet in targets]
    work += [load.post(world.authors[i % 4], f"under load {i}") for i in range(60)]
    random.Random(9).shuffle(work)

    async def kill_midway() -> None:
        for _ in range(6000):
            if load.answered >= len(work) // 3:
                break
            await asyncio.sleep(0.005)
        processes.kill("api")

    await asyncio.gather(gather_limited(work, 32), kill_midway())
    assert load.failed > 0, "the API finished before it could be killed"
    processes.start("api")
    took = await until_exact(core, world, processes)
    print(f"API killed under load ({load.failed} requests cut off): exact after {took:.1f} s")


async def test_redis_flushed_under_load(
    processes: Processes, load: Load, app: Any, test_settings: Settings
) -> None:
    core: Core = app.state.core
    world = await a_world(load, core, followers=30)

    async def flush_midway() -> None:
        await asyncio.sleep(0.5)
        redis = Redis.from_url(str(test_settings.redis_url))
        await redis.flushdb()
        await redis.aclose()

    work = [load.post(world.authors[i % 4], f"during the flush {i}") for i in range(120)]
    await asyncio.gather(gather_limited(work, 16), flush_midway())
    likes = [load.like(fan, tweet) for fan in world.followers[:10] for tweet in load.tweets[:10]]
    await gather_limited(likes)
    # The flush forgot every home timeline: they are rebuilt from PostgreSQL when read.
    took = await until_exact(core, world, processes, timelines_in_redis=False)
    for reader in world.followers:
        await load.call("{ homeTimeline(first: 1) { edges { cursor } } }", {}, reader.token)
    took += await until_exact(core, world, processes)
    print(f"Redis flushed under load: exact after {took:.1f} s")


async def test_a_worker_stopped_for_a_minute_under_load(
    processes: Processes, load: Load, app: Any
) -> None:
    core: Core = app.state.core
    world = await a_world(load, core, followers=30)
    await load.post(world.authors[0], "before the stop")
    await until_exact(core, world, processes)
    processes.signal("worker", signal.SIGSTOP)
    stopped = time.monotonic()
    while time.monotonic() - stopped < 60:
        batch = [load.post(world.authors[i % 4], f"while stopped {i}") for i in range(10)]
        batch += [load.like(fan, load.tweets[0]) for fan in world.followers[:3]]
        await gather_limited(batch)
        await asyncio.sleep(1)
    processes.signal("worker", signal.SIGCONT)
    took = await until_exact(core, world, processes)
    print(f"worker stopped 60 s with {len(load.tweets)} tweets posted: exact after {took:.1f} s")
