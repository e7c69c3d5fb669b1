"""Counters are exact: deltas are written with the change, a flush applies a batch exactly once
(even when killed mid-way), and every count matches a recount of the rows it counts."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from starling.config import Settings
from starling.services import counting, tweets
from starling.storage import counters
from tests.support import Api, db_id, fetch_tweet, ok, post, run_sql


async def assert_exact(core: Any) -> None:
    assert await counting.drift(core.db, "tweet") == []
    assert await counting.drift(core.db, "user") == []


async def test_every_count_matches_a_recount_after_a_mixed_workload(api: Api, app: Any) -> None:
    core = app.state.core
    ada, grace, linus, quiet = [await api.register(n) for n in ("ada", "grace", "linus", "quiet")]
    root = await post(api, ada, "root")
    for fan in (grace, linus, quiet):
        await ok(api, fan, "likeTweet", root["id"])
        await ok(api, fan, "bookmarkTweet", root["id"])
        await ok(api, fan, "followUser", ada.id)
        await ok(api, fan, "retweet", root["id"])
    await ok(api, linus, "unlikeTweet", root["id"])
    await ok(api, linus, "undoRetweet", root["id"])
    reply = await post(api, grace, "a reply", replyToId=root["id"])
    await post(api, quiet, "a quote", quoteOfId=root["id"])
    await post(api, quiet, "a protected reply", replyToId=root["id"])
    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }",
        token=quiet.token,
    )
    await ok(api, ada, "blockUser", linus.id)
    await ok(api, grace, "deleteTweet", reply["id"])
    await assert_exact(core)
    counted = await fetch_tweet(api, root["id"])
    assert counted is not None
    assert (counted["likeCount"], counted["retweetCount"], counted["replyCount"]) == (2, 1, 0)

    assert await counters.flush(core.db) > 0
    assert await counters.pending_count(core.db) == 0
    await assert_exact(core)
    assert await fetch_tweet(api, root["id"]) == counted


async def test_purging_a_deleted_tweet_takes_its_likes_and_retweets_from_their_users(
    api: Api, app: Any, test_settings: Settings
) -> None:
    core = app.state.core
    ada, grace = await api.register("ada"), await api.register("grace")
    doomed = await post(api, ada, "soon gone")
    await ok(api, grace, "likeTweet", doomed["id"])
    await ok(api, grace, "retweet", doomed["id"])
    await ok(api, ada, "deleteTweet", doomed["id"])
    await run_sql(
        test_settings,
        "UPDATE tweets SET deleted_at = now() - interval '400 days' WHERE id = :id",
        id=db_id(doomed["id"]),
    )
    assert await tweets.purge_deleted(core) == 1
    await assert_exact(core)
    counts = await api.data('{ user(username: "grace") { likesCount tweetsCount } }')
    assert counts["user"] == {"likesCount": 0, "tweetsCount": 0}


async def test_repair_sets_drifted_counts_right_and_keeps_pending_deltas(
    api: Api, app: Any, test_settings: Settings
) -> None:
    core = app.state.core
    ada, grace = await api.register("ada"), await api.register("grace")
    tweet = await post(api, ada, "count me")
    await ok(api, grace, "likeTweet", tweet["id"])
    await run_sql(test_settings, "UPDATE tweet_stats SET like_count = 40, reply_count = -3")
    drifted = await counting.drift(core.db, "tweet")
    assert {(d.field, d.counted, d.actual) for d in drifted} == {
        ("like_count", 41, 1),
        ("reply_count", -3, 0),
    }
    assert await counting.repair(core.db, "tweet") == 1
    await assert_exact(core)
    assert await counters.pending_count(core.db) > 0  # the like's delta still waits for a flush
    assert (await fetch_tweet(api, tweet["id"]) or {})["likeCount"] == 1


FLUSH_IN_A_PROCESS = """
import asyncio, sys
from starling.db import Database
from starling.storage import counters

async def main() -> None:
    db = Database.from_urls(sys.argv[1])
    await counters.flush(db)

asyncio.run(main())
"""


async def test_a_flush_killed_mid_way_applies_nothing_and_the_next_applies_everything_once(
    api: Api, app: Any, test_settings: Settings
) -> None:
    core = app.state.core
    author = await api.register("author")
    tweet = await post(api, author, "liked while the flusher dies")
    fans = await asyncio.gather(*(api.register(f"fan{i}") for i in range(30)))
    await asyncio.gather(*(ok(api, fan, "likeTweet", tweet["id"]) for fan in fans))
    assert test_settings.database_url
    engine = create_async_engine(test_settings.database_url)
    try:
        async with engine.connect() as blocker:
            # Hold the tweet's stats row so the flusher stops inside its one statement.
            await blocker.execute(
                text("SELECT 1 FROM tweet_stats WHERE tweet_id = :id FOR UPDATE"),
                {"id": db_id(tweet["id"])},
            )
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                FLUSH_IN_A_PROCESS,
                test_settings.database_url,
                env={**os.environ, "PYTHONPATH": os.getcwd()},
            )
            try:
                for _ in range(200):
                    # A fresh connection each time: activity is a snapshot per transaction.
                    async with engine.connect() as watcher:
                        waiting = await watcher.scalar(
                            text(
                                "SELECT count(*) FROM pg_stat_activity "
                                "WHERE wait_event_type = 'Lock' AND query LIKE 'WITH taken AS%'"
                            )
                        )
                    if waiting:
                        break
                    await asyncio.sleep(0.05)
                assert waiting == 1, "the flusher never reached the locked row"
                process.send_signal(signal.SIGKILL)
                await asyncio.wait_for(process.wait(), 10)
            finally:
                if process.returncode is None:
                    process.kill()
            await blocker.rollback()
        # The killed backend's transaction rolls back once PostgreSQL notices the lost client.
        for _ in range(200):
            async with engine.connect() as connection:
                busy = await connection.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'WITH taken AS%'")
                )
            if not busy:
                break
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()

    assert await counters.pending_count(core.db) == 2 * 30 + 1
    await assert_exact(core)
    assert await counters.flush(core.db) == 2 * 30 + 1
    assert await counters.flush(core.db) == 0
    await assert_exact(core)
    assert (await fetch_tweet(api, tweet["id"]) or {})["likeCount"] == 30
