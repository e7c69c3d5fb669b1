"""Home timelines: hybrid fan-out by arq workers, the outbox, and the read path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from schema.node import to_global_id
from starling import ids
from starling.config import Settings
from starling.models import OutboxEvent
from starling.queries import home
from starling.storage import outbox
from tests.support import HOME, Account, Api, db_id, home_ids, ok, post, redis_ids, run_sql

Jobs = Callable[[], Awaitable[int]]


async def built_timeline(api: Api, app: Any, run_jobs: Jobs, viewer: Account) -> None:
    """The first read serves from PostgreSQL and asks a worker to build the Redis timeline."""
    await home_ids(api, viewer)
    await run_jobs()
    assert await redis_ids(app, viewer) is not None


async def test_home_timeline_needs_a_token(api: Api) -> None:
    assert await api.error_codes(HOME, {"first": 5}) == ["UNAUTHENTICATED"]


async def test_fan_out_to_followers(api: Api, app: Any, run_jobs: Jobs) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    stranger = await api.register("stranger")
    await ok(api, reader, "followUser", author.id)
    await built_timeline(api, app, run_jobs, reader)
    await built_timeline(api, app, run_jobs, stranger)

    tweet = await post(api, author, "hello followers")
    await run_jobs()

    assert await redis_ids(app, reader) == [db_id(tweet["id"])]
    assert await redis_ids(app, stranger) == []
    assert await home_ids(api, reader) == [tweet["id"]]
    assert await home_ids(api, stranger) == []


async def test_authors_see_their_own_tweet_at_once(api: Api, app: Any, run_jobs: Jobs) -> None:
    author = await api.register("author")
    await built_timeline(api, app, run_jobs, author)
    tweet = await post(api, author, "mine")
    # No job has run: the post itself wrote the author's timeline.
    assert await redis_ids(app, author) == [db_id(tweet["id"])]
    assert await home_ids(api, author) == [tweet["id"]]


async def test_a_new_user_is_served_from_postgres_and_then_from_redis(
    api: Api, app: Any, run_jobs: Jobs
) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    older = await post(api, author, "older")
    await ok(api, reader, "followUser", author.id)
    assert await redis_ids(app, reader) is None
    assert await home_ids(api, reader) == [older["id"]]  # never empty while it builds
    await run_jobs()
    assert await redis_ids(app, reader) == [db_id(older["id"])]
    newer = await post(api, author, "newer")
    await run_jobs()
    assert await home_ids(api, reader) == [newer["id"], older["id"]]


async def test_inactive_followers_are_skipped_and_rebuilt_on_return(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings
) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    await ok(api, reader, "followUser", author.id)
    await built_timeline(api, app, run_jobs, reader)
    await run_sql(
        test_settings,
        "UPDATE users SET last_active_at = now() - interval '8 days' WHERE username = 'reader'",
    )
    tweet = await post(api, author, "while you were away")
    await run_jobs()
    assert await redis_ids(app, reader) is None  # skipped, and the stale timeline forgotten

    assert await home_ids(api, reader) == [tweet["id"]]  # served from PostgreSQL meanwhile
    await run_jobs()
    assert await redis_ids(app, reader) == [db_id(tweet["id"])]


async def test_celebrities_are_merged_on_read(api: Api, app: Any, run_jobs: Jobs) -> None:
    celebrity = await api.register("celebrity")
    fans = [await api.register(f"fan{i}") for i in range(5)]  # the test threshold is 5
    for fan in fans:
        await ok(api, fan, "followUser", celebrity.id)
        await built_timeline(api, app, run_jobs, fan)
    friend = await api.register("friend")
    await ok(api, fans[0], "followUser", friend.id)
    await run_jobs()
    friend_tweet = await post(api, friend, "from a friend")
    star_tweet = await post(api, celebrity, "to the world")
    await run_jobs()

    assert await redis_ids(app, fans[0]) == [db_id(friend_tweet["id"])]  # not fanned out
    assert await home_ids(api, fans[0]) == [star_tweet["id"], friend_tweet["id"]]
    assert await home_ids(api, fans[1]) == [star_tweet["id"]]


async def test_deleted_tweets_leave_timelines(api: Api, app: Any, run_jobs: Jobs) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    await ok(api, reader, "followUser", author.id)
    await built_timeline(api, app, run_jobs, reader)
    kept = await post(api, author, "kept")
    gone = await post(api, author, "gone")
    await run_jobs()
    await ok(api, author, "deleteTweet", gone["id"])
    assert await home_ids(api, reader) == [kept["id"]]  # filtered before any job runs
    await run_jobs()
    assert await redis_ids(app, reader) == [db_id(kept["id"])]


async def test_unfollow_removes_and_follow_merges(api: Api, app: Any, run_jobs: Jobs) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    other = await api.register("other")
    await ok(api, reader, "followUser", author.id)
    await built_timeline(api, app, run_jobs, reader)
    theirs = await post(api, author, "theirs")
    earlier = await post(api, other, "earlier")
    await run_jobs()
    assert await home_ids(api, reader) == [theirs["id"]]

    await ok(api, reader, "unfollowUser", author.id)
    assert await home_ids(api, reader) == []  # at once
    await run_jobs()
    assert await redis_ids(app, reader) == []

    await ok(api, reader, "followUser", other.id)
    await run_jobs()
    assert await redis_ids(app, reader) == [db_id(earlier["id"])]
    assert await home_ids(api, reader) == [earlier["id"]]


async def test_blocks_and_mutes_filter_the_timeline(api: Api, app: Any, run_jobs: Jobs) -> None:
    reader = await api.register("reader")
    loud = await api.register("loud")
    rude = await api.register("rude")
    for account in (loud, rude):
        await ok(api, reader, "followUser", account.id)
    await built_timeline(api, app, run_jobs, reader)
    loud_tweet = await post(api, loud, "loud")
    await post(api, rude, "rude")
    await run_jobs()
    await ok(api, reader, "muteUser", rude.id)
    assert await home_ids(api, reader) == [loud_tweet["id"]]
    await ok(api, reader, "unmuteUser", rude.id)
    await ok(api, rude, "blockUser", reader.id)
    assert await home_ids(api, reader) == [loud_tweet["id"]]
    await run_jobs()
    assert await redis_ids(app, reader) == [db_id(loud_tweet["id"])]


async def test_retweets_of_a_tweet_near_the_top_are_not_repeated(
    api: Api, app: Any, run_jobs: Jobs
) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    sharers = [await api.register(f"sharer{i}") for i in range(2)]
    for account in (author, *sharers):
        await ok(api, reader, "followUser", account.id)
    await built_timeline(api, app, run_jobs, reader)
    tweet = await post(api, author, "worth sharing")
    await run_jobs()
    for sharer in sharers:
        await ok(api, sharer, "retweet", tweet["id"])
    await run_jobs()
    assert await redis_ids(app, reader) == [db_id(tweet["id"])]

    other = await api.register("other")
    elsewhere = await post(api, other, "not followed by the reader")
    first_share = (await ok(api, sharers[0], "retweet", elsewhere["id"]))["retweet"]
    await run_jobs()  # the first share arrives first; the second repeats it and is left out
    await ok(api, sharers[1], "retweet", elsewhere["id"])
    await run_jobs()
    assert await home_ids(api, reader) == [first_share["id"], tweet["id"]]


async def test_fan_out_is_idempotent_and_survives_a_killed_worker(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    author = await api.register("author")
    readers = [await api.register(f"reader{i}") for i in range(4)]
    for reader in readers:
        await ok(api, reader, "followUser", author.id)
        await built_timeline(api, app, run_jobs, reader)

    # The worker dies after the first batch of followers: simulated by an error in the middle
    # of the follower scan (batches of 2).
    real_batches = home.follower_batches

    async def dying_batches(*args: Any, **kwargs: Any) -> Any:
        async for index_and_batch in _enumerate(real_batches(*args, batch_size=2)):
            index, batch = index_and_batch
            if index == 1:
                raise ConnectionError("worker killed")
            yield batch

    monkeypatch.setattr(home, "follower_batches", dying_batches)
    tweet = await post(api, author, "half delivered")
    await run_jobs()
    delivered = [await redis_ids(app, r) for r in readers]
    assert sum(1 for ids_ in delivered if ids_ == [db_id(tweet["id"])]) == 2

    monkeypatch.setattr(home, "follower_batches", real_batches)
    core = app.state.core
    # The failed attempt is due again after its backoff; make it due now.
    await run_sql(test_settings, "UPDATE outbox_deliveries SET due_at = now()")
    assert await outbox.relay(core.db, core.queue, redispatch=10) >= 1
    await run_jobs()
    for reader in readers:
        assert await redis_ids(app, reader) == [db_id(tweet["id"])]  # complete, no duplicates

    # Running the same event once more changes nothing.
    event_id = await _event_id(test_settings, "tweet.posted")
    await run_sql(test_settings, "UPDATE outbox_deliveries SET state = 'pending', due_at = now()")
    await core.queue.enqueue_job(outbox.JOB_NAME, event_id, "timelines", _job_id="again")
    await run_jobs()
    for reader in readers:
        assert await redis_ids(app, reader) == [db_id(tweet["id"])]


async def test_outbox_relay_delivers_after_a_crash_between_commit_and_enqueue(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    await ok(api, reader, "followUser", author.id)
    await built_timeline(api, app, run_jobs, reader)

    async def crash(*args: Any, **kwargs: Any) -> None:  # the process dies right after COMMIT
        return None

    monkeypatch.setattr(outbox, "enqueue", crash)
    tweet = await post(api, author, "committed, never enqueued")
    monkeypatch.undo()
    assert await run_jobs() == 0
    assert await redis_ids(app, reader) == []

    core = app.state.core
    # Enqueued a moment ago as far as the rows know: the job may still be waiting in the queue.
    assert await outbox.relay(core.db, core.queue, redispatch=10) == 0
    await run_sql(
        test_settings, "UPDATE outbox_deliveries SET dispatched_at = now() - '11 s'::interval"
    )
    assert await outbox.relay(core.db, core.queue, redispatch=10) == 3  # timelines, ..., trends
    await run_jobs()
    assert await redis_ids(app, reader) == [db_id(tweet["id"])]
    assert await outbox.relay(core.db, core.queue, redispatch=0) == 0  # all delivered


async def test_paging_is_stable_while_tweets_arrive(api: Api, app: Any, run_jobs: Jobs) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    await ok(api, reader, "followUser", author.id)
    await built_timeline(api, app, run_jobs, reader)
    posted = [await post(api, author, f"tweet {i}") for i in range(15)]
    await run_jobs()

    data = await api.data(HOME, {"first": 6}, reader.token)
    seen = [e["node"]["id"] for e in data["homeTimeline"]["edges"]]
    cursor = data["homeTimeline"]["pageInfo"]["endCursor"]
    for i in range(5):  # new tweets land on top while the reader scrolls down
        await post(api, author, f"new {i}")
    await run_jobs()
    while True:
        data = await api.data(HOME, {"first": 6, "after": cursor}, reader.token)
        seen += [e["node"]["id"] for e in data["homeTimeline"]["edges"]]
        if not data["homeTimeline"]["pageInfo"]["hasNextPage"]:
            break
        cursor = data["homeTimeline"]["pageInfo"]["endCursor"]
    assert seen == [t["id"] for t in reversed(posted)]


async def test_pages_past_the_redis_window_come_from_postgres(
    api: Api, app: Any, run_jobs: Jobs
) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    await ok(api, reader, "followUser", author.id)
    await built_timeline(api, app, run_jobs, reader)
    posted = [await post(api, author, f"tweet {i}") for i in range(30)]
    await run_jobs()
    assert len(await redis_ids(app, reader) or []) == 20  # the test window
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        data = await api.data(HOME, {"first": 8, "after": cursor}, reader.token)
        seen += [e["node"]["id"] for e in data["homeTimeline"]["edges"]]
        cursor = data["homeTimeline"]["pageInfo"]["endCursor"]
    assert seen == [t["id"] for t in reversed(posted)]


async def test_many_tweets_in_the_same_millisecond_page_exactly(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings
) -> None:
    reader = await api.register("reader")
    author = await api.register("author")
    await ok(api, reader, "followUser", author.id)
    base = ids.lowest_id_at(ids.id_timestamp(db_id(author.id)))  # one millisecond, 19 ids
    for sequence in range(19):
        await run_sql(
            test_settings,
            "INSERT INTO tweets (id, author_id, text, conversation_id) "
            "VALUES (:id, :author, :text, :id)",
            id=base + 4000 + sequence,
            author=db_id(author.id),
            text=f"same ms {sequence}",
        )
    await home_ids(api, reader)
    await run_jobs()  # rebuilds the timeline from PostgreSQL
    assert len(await redis_ids(app, reader) or []) == 19
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        data = await api.data(HOME, {"first": 7, "after": cursor}, reader.token)
        seen += [e["node"]["id"] for e in data["homeTimeline"]["edges"]]
        cursor = data["homeTimeline"]["pageInfo"]["endCursor"]
    expected = [to_global_id("Tweet", base + 4000 + s) for s in reversed(range(19))]
    assert seen == expected


async def _enumerate(iterator: Any) -> Any:
    index = 0
    async for item in iterator:
        yield index, item
        index += 1


async def _event_id(settings: Settings, event: str) -> int:
    assert settings.database_url
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as connection:
        found = await connection.scalar(select(OutboxEvent.id).where(OutboxEvent.event == event))
    await engine.dispose()
    assert found is not None
    return int(found)
