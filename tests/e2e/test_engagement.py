"""Likes, retweets, bookmarks: idempotent, atomic under concurrency, counts right at once."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from starling.config import Settings
from starling.models import TweetStats, UserStats
from starling.storage import counters
from tests.support import Api, act, db_id, error_codes_of, fetch_tweet, ok, post, profile_ids

BOOKMARKS = "{ bookmarks { edges { node { id } } } }"


async def stored_stats(settings: Settings, model: Any, key: Any) -> Any:
    assert settings.database_url
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as connection:
        row = (await connection.execute(select(model).where(key))).one()
    await engine.dispose()
    return row


async def test_liking_twice_counts_once(api: Api) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "like me")
    first = await ok(api, ada, "likeTweet", tweet["id"])
    second = await ok(api, ada, "likeTweet", tweet["id"])
    assert (
        first["tweet"]
        == second["tweet"]
        == {
            "id": tweet["id"],
            "likeCount": 1,
            "viewerHasLiked": True,
        }
    )
    assert (await api.data('{ user(username: "ada") { likesCount } }'))["user"]["likesCount"] == 1
    unliked = await ok(api, ada, "unlikeTweet", tweet["id"])
    assert unliked["tweet"] == {"id": tweet["id"], "likeCount": 0, "viewerHasLiked": False}
    again = await ok(api, ada, "unlikeTweet", tweet["id"])
    assert again["tweet"]["likeCount"] == 0


async def test_fifty_concurrent_likes_by_one_user_count_once(api: Api) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "click click click")
    results = await asyncio.gather(*(act(api, ada, "likeTweet", tweet["id"]) for _ in range(50)))
    assert all(r["errors"] == [] for r in results)
    assert (await fetch_tweet(api, tweet["id"]))["likeCount"] == 1


async def test_two_hundred_concurrent_likes_count_two_hundred_now_and_after_flush(
    api: Api, app: Any, test_settings: Settings
) -> None:
    author = await api.register("author")
    tweet = await post(api, author, "viral")
    fans = await asyncio.gather(*(api.register(f"fan{i}") for i in range(200)))

    results = await asyncio.gather(*(act(api, fan, "likeTweet", tweet["id"]) for fan in fans))
    assert all(r["errors"] == [] for r in results)
    assert (await fetch_tweet(api, tweet["id"]))["likeCount"] == 200
    assert (await stored_stats(test_settings, TweetStats, TweetStats.tweet_id > 0)).like_count == 0

    core = app.state.core
    assert await counters.flush(core.db) == 2 * 200 + 1  # each like twice, and the post
    stats = await stored_stats(test_settings, TweetStats, TweetStats.tweet_id > 0)
    assert stats.like_count == 200
    assert await counters.pending_count(core.db) == 0
    assert (await fetch_tweet(api, tweet["id"]))["likeCount"] == 200
    fan_stats = await stored_stats(
        test_settings, UserStats, UserStats.user_id == int(db_id(fans[0].id))
    )
    assert fan_stats.likes_count == 1


async def test_likes_during_a_flush_are_not_lost(api: Api, app: Any) -> None:
    author = await api.register("author")
    tweet = await post(api, author, "busy")
    fans = await asyncio.gather(*(api.register(f"fan{i}") for i in range(60)))
    core = app.state.core

    async def flush_repeatedly() -> None:
        for _ in range(10):
            await counters.flush(core.db)
            await asyncio.sleep(0)

    await asyncio.gather(
        flush_repeatedly(), *(act(api, fan, "likeTweet", tweet["id"]) for fan in fans)
    )
    assert (await fetch_tweet(api, tweet["id"]))["likeCount"] == 60
    await counters.flush(core.db)
    assert (await fetch_tweet(api, tweet["id"]))["likeCount"] == 60


async def test_retweet_is_one_per_user_and_undoable(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    tweet = await post(api, ada, "share me")
    first = await ok(api, grace, "retweet", tweet["id"])
    second = await ok(api, grace, "retweet", tweet["id"])
    assert first["retweet"]["id"] == second["retweet"]["id"]
    assert first["retweet"]["retweetOf"] == {"id": tweet["id"]}
    assert second["tweet"] == {"id": tweet["id"], "retweetCount": 1, "viewerHasRetweeted": True}
    via_retweet = await ok(api, ada, "retweet", first["retweet"]["id"])
    assert via_retweet["tweet"]["id"] == tweet["id"]  # retweeting a retweet retweets the original
    assert await profile_ids(api, "grace") == [first["retweet"]["id"]]
    assert (await api.data('{ user(username: "grace") { tweetsCount } }'))["user"][
        "tweetsCount"
    ] == 1

    undone = await ok(api, grace, "undoRetweet", tweet["id"])
    assert undone["tweet"] == {"id": tweet["id"], "retweetCount": 1, "viewerHasRetweeted": False}
    assert await profile_ids(api, "grace") == []
    again = await ok(api, grace, "retweet", tweet["id"])
    assert again["tweet"]["retweetCount"] == 2


async def test_concurrent_retweets_make_one(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    tweet = await post(api, ada, "once")
    results = await asyncio.gather(*(act(api, grace, "retweet", tweet["id"]) for _ in range(10)))
    assert len({r["retweet"]["id"] for r in results}) == 1
    assert (await fetch_tweet(api, tweet["id"]))["retweetCount"] == 1


async def test_protected_tweets_cannot_be_retweeted_even_by_followers(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }", token=ada.token
    )
    await ok(api, grace, "followUser", ada.id)
    await ok(api, ada, "approveFollowRequest", grace.id)
    tweet = await post(api, ada, "for friends")
    assert error_codes_of(await act(api, grace, "retweet", tweet["id"])) == {
        ("CANNOT_RETWEET_PROTECTED", "id")
    }
    await ok(api, grace, "likeTweet", tweet["id"])  # liking is fine


async def test_engaging_with_hidden_or_missing_tweets_is_not_found(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    tweet = await post(api, ada, "blocked")
    await ok(api, ada, "blockUser", grace.id)
    for mutation in ("likeTweet", "retweet", "bookmarkTweet"):
        assert error_codes_of(await act(api, grace, mutation, tweet["id"])) == {("NOT_FOUND", "id")}
        assert error_codes_of(await act(api, grace, mutation, "nope")) == {("NOT_FOUND", "id")}
    assert (await fetch_tweet(api, tweet["id"], ada))["likeCount"] == 0


async def test_bookmarks(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    older = await post(api, ada, "older")
    newer = await post(api, ada, "newer")
    await ok(api, grace, "bookmarkTweet", older["id"])
    await ok(api, grace, "bookmarkTweet", newer["id"])
    twice = await ok(api, grace, "bookmarkTweet", older["id"])
    assert twice["tweet"] == {"id": older["id"], "bookmarkCount": 1, "viewerHasBookmarked": True}
    marks = await api.data(BOOKMARKS, token=grace.token)
    assert [e["node"]["id"] for e in marks["bookmarks"]["edges"]] == [newer["id"], older["id"]]
    await ok(api, grace, "unbookmarkTweet", older["id"])
    marks = await api.data(BOOKMARKS, token=grace.token)
    assert [e["node"]["id"] for e in marks["bookmarks"]["edges"]] == [newer["id"]]
    assert await api.error_codes(BOOKMARKS) == ["UNAUTHENTICATED"]
