"""The event pipeline: a delivery per (event, consumer), retries with backoff, dead letters that
delay nothing else, a relay that completes whatever the after-commit step could not, and the
operator's commands for dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text

from starling.config import Settings
from starling.consumers import CONSUMERS, Consumer
from starling.core import Core
from starling.events import Event, TweetPosted
from starling.services import counting
from starling.storage import outbox
from tests.support import STARLING, Api, db_id, home_ids, ok, post, redis_ids

# How soon these tests' relay enqueues again a delivery whose job has not started (10 s live).
REDISPATCH = 0.2


async def work_off(core: Core, abandoned: frozenset[str] = frozenset()) -> None:
    """Run a real arq worker and the relay until no delivery is pending and the queue is empty
    but for ``abandoned`` jobs (held by the in-progress key of a worker that died). arq drops
    a job from the queue only when it has finished, so an empty queue means nothing runs."""
    from arq.worker import Worker

    from workers.settings import worker_options

    options = {**worker_options(core.settings, core), "cron_jobs": [], "poll_delay": 0.01}
    worker = Worker(**options, handle_signals=False)
    running = asyncio.create_task(worker.async_run())
    try:
        async with asyncio.timeout(30):
            while True:
                await outbox.relay(core.db, core.queue, REDISPATCH)
                if not (await outbox.state(core.db)).pending:
                    queued = {j.decode() for j in await core.queue.zrange("arq:queue", 0, -1)}
                    if queued <= abandoned:
                        return
                await asyncio.sleep(0.02)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.close()


def fast_retries(core: Core, attempts: int = 3) -> Core:
    settings = core.settings.model_copy(
        update={
            "delivery_max_attempts": attempts,
            "delivery_backoff_seconds": 0.02,
            "delivery_backoff_cap_seconds": 0.05,
        }
    )
    return dataclasses.replace(core, settings=settings)


async def deliveries_of(core: Core, tweet_id: int) -> dict[str, tuple[str, int]]:
    async with core.db.read_session() as session:
        rows = await session.execute(
            text(
                "SELECT d.consumer, d.state, d.attempts FROM outbox_deliveries d "
                "JOIN outbox o ON o.id = d.event_id "
                "WHERE o.event = 'tweet.posted' AND (o.payload->>'tweet_id')::bigint = :id"
            ),
            {"id": tweet_id},
        )
        return {row.consumer: (row.state, row.attempts) for row in rows}


async def test_a_poison_event_is_dead_lettered_after_its_retries_and_delays_nothing(
    api: Api, app: Any, monkeypatch: pytest.MonkeyPatch, test_settings: Settings
) -> None:
    core = fast_retries(app.state.core, attempts=3)
    poisoned: set[int] = set()
    tries: list[int] = []

    async def picky(_: Core, event: Event) -> None:
        assert isinstance(event, TweetPosted)
        if event.tweet_id in poisoned:
            tries.append(event.tweet_id)
            raise RuntimeError("cannot digest this one")

    monkeypatch.setitem(CONSUMERS, "picky", Consumer("picky", frozenset({TweetPosted.kind}), picky))
    ada, grace = await api.register("ada"), await api.register("grace")
    await ok(api, grace, "followUser", ada.id)
    await home_ids(api, grace)  # the first read has a worker build grace's Redis timeline
    await work_off(core)
    bad = await post(api, ada, "the poison")
    poisoned.add(db_id(bad["id"]))
    good = await post(api, ada, "posted after it")
    await work_off(core)

    assert tries == [db_id(bad["id"])] * 3
    assert await deliveries_of(core, db_id(bad["id"])) == {
        "picky": ("dead", 3),
        "timelines": ("done", 1),
        "notifications": ("done", 1),
        "trends": ("done", 1),
    }
    assert await deliveries_of(core, db_id(good["id"])) == {
        "picky": ("done", 1),
        "timelines": ("done", 1),
        "notifications": ("done", 1),
        "trends": ("done", 1),
    }
    assert await redis_ids(app, grace) == [db_id(good["id"]), db_id(bad["id"])]
    [dead] = await outbox.dead_letters(core.db)
    assert (dead.consumer, dead.kind, dead.attempts) == ("picky", "tweet.posted", 3)
    assert dead.last_error == "RuntimeError: cannot digest this one"

    env = {
        **os.environ,
        "STARLING_DATABASE_URL": str(test_settings.database_url),
        "STARLING_REDIS_URL": str(test_settings.redis_url),
    }
    listed = await run(env, "events", "failed")
    assert listed.splitlines()[0].split("\t")[:4] == [
        str(dead.event_id),
        "picky",
        "tweet.posted",
        "3 tries",
    ]
    poisoned.clear()  # the consumer is fixed; the operator retries its dead delivery
    assert "1 deliveries queued again" in await run(
        env, "events", "retry", str(dead.event_id), "--consumer", "picky"
    )
    await work_off(core)
    assert (await deliveries_of(core, db_id(bad["id"])))["picky"] == ("done", 1)
    assert await outbox.dead_letters(core.db) == []


async def run(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        str(STARLING),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_retries_back_off_exponentially_with_jitter() -> None:
    for attempt in range(1, 12):
        ceiling = min(300.0, 1.0 * 2 ** (attempt - 1))
        delays = [outbox.backoff_seconds(attempt, 1.0, 300.0) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered, not synchronised


async def test_a_failure_after_the_commit_never_fails_the_write_and_the_relay_completes_it(
    api: Api, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    core: Core = app.state.core
    ada, grace = await api.register("ada"), await api.register("grace")

    await home_ids(api, grace)  # the first read has a worker build grace's Redis timeline
    await work_off(core)

    async def redis_down(*_: Any, **__: Any) -> Any:
        raise RedisConnectionError("Redis went away")

    with monkeypatch.context() as broken:
        broken.setattr(core.queue, "enqueue_job", redis_down)
        broken.setattr(core.timelines, "push", redis_down)
        broken.setattr(core.events, "engagement_changed", redis_down)
        await ok(api, grace, "followUser", ada.id)
        tweet = await post(api, ada, "saved whatever Redis does")
        liked = await ok(api, grace, "likeTweet", tweet["id"])
        assert liked["tweet"]["likeCount"] == 1
    assert await core.queue.zrange("arq:queue", 0, -1) == []  # nothing reached the queue

    await work_off(core)
    assert await redis_ids(app, grace) == [db_id(tweet["id"])]
    assert await redis_ids(app, ada) in (None, [db_id(tweet["id"])])
    notes = await api.data(
        "{ notifications(first: 10) { edges { node { kind } } } }", token=ada.token
    )
    assert sorted(e["node"]["kind"] for e in notes["notifications"]["edges"]) == ["FOLLOW", "LIKE"]


async def test_after_redis_loses_everything_the_relay_delivers_again_within_seconds(
    api: Api, app: Any, test_settings: Settings
) -> None:
    core: Core = app.state.core
    ada, grace = await api.register("ada"), await api.register("grace")
    await ok(api, grace, "followUser", ada.id)
    await work_off(core)
    tweet = await post(api, ada, "queued, then Redis is flushed")
    await ok(api, grace, "likeTweet", tweet["id"])
    redis = Redis.from_url(str(test_settings.redis_url))
    await redis.flushdb()
    await redis.aclose()

    await work_off(core)
    assert await outbox.state(core.db) == outbox.PipelineState(0, 0, 0, 0, 0.0)
    notes = await api.data(
        "{ notifications(first: 10) { edges { node { kind } } } }", token=ada.token
    )
    assert sorted(e["node"]["kind"] for e in notes["notifications"]["edges"]) == ["FOLLOW", "LIKE"]
    assert await counting.drift(core.db, "tweet") == []
    assert await counting.drift(core.db, "user") == []


async def test_a_job_a_killed_worker_left_in_progress_never_holds_its_delivery(
    api: Api, app: Any
) -> None:
    core: Core = app.state.core
    ada = await api.register("ada")
    tweet = await post(api, ada, "taken by a worker that died")
    [event_id] = [d.event_id for d in await _open_deliveries(core) if d.consumer == "timelines"]
    # What a worker killed right after taking the job leaves: arq's in-progress key, which
    # makes every worker skip the job until it expires (the job's timeout, 5 minutes).
    stuck = outbox.job_id(outbox.Delivery(event_id, "timelines"))
    await core.queue.set(f"arq:in-progress:{stuck}", b"1", px=300_000)
    await work_off(core, abandoned=frozenset({stuck}))
    assert (await deliveries_of(core, db_id(tweet["id"])))["timelines"] == ("done", 1)


async def _open_deliveries(core: Core) -> list[Any]:
    async with core.db.read_session() as session:
        return list(
            await session.execute(
                text("SELECT event_id, consumer FROM outbox_deliveries WHERE state = 'pending'")
            )
        )
