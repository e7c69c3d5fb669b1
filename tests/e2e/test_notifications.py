"""Notifications: made by the worker from outbox events, grouped, filtered, marked read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support import Account, Api, ok, post

Jobs = Callable[[], Awaitable[int]]

NOTIFICATIONS = """
query($first: Int, $after: String) {
  unreadNotificationsCount
  notifications(first: $first, after: $after) {
    edges { node { id kind read actorCount actors { username } tweet { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
MARK_READ = """
mutation($upTo: ID) { markNotificationsRead(upTo: $upTo) { unreadCount errors { code field } } }
"""


async def inbox(api: Api, account: Account) -> tuple[int, list[dict[str, Any]]]:
    data = await api.data(NOTIFICATIONS, {"first": 50}, account.token)
    return data["unreadNotificationsCount"], [e["node"] for e in data["notifications"]["edges"]]


def kinds(notes: list[dict[str, Any]]) -> list[str]:
    return [n["kind"] for n in notes]


async def test_every_kind(api: Api, run_jobs: Jobs) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    tweet = await post(api, ada, "original")
    await post(api, grace, "hi @ada")
    await post(api, grace, "reply", replyToId=tweet["id"])
    await post(api, grace, "quote", quoteOfId=tweet["id"])
    await ok(api, grace, "likeTweet", tweet["id"])
    await ok(api, grace, "retweet", tweet["id"])
    await ok(api, grace, "followUser", ada.id)
    await run_jobs()
    unread, notes = await inbox(api, ada)
    assert sorted(kinds(notes)) == ["FOLLOW", "LIKE", "MENTION", "QUOTE", "REPLY", "RETWEET"]
    assert unread == 6
    assert all(n["actors"] == [{"username": "grace"}] for n in notes)
    assert {n["kind"]: n["tweet"] for n in notes}["LIKE"] == {"id": tweet["id"]}


async def test_follow_requests_and_acceptance(api: Api, run_jobs: Jobs) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }", token=ada.token
    )
    await ok(api, grace, "followUser", ada.id)
    await run_jobs()
    assert kinds((await inbox(api, ada))[1]) == ["FOLLOW_REQUEST"]
    await ok(api, ada, "approveFollowRequest", grace.id)
    await run_jobs()
    assert kinds((await inbox(api, grace))[1]) == ["FOLLOW_ACCEPTED"]
    assert "FOLLOW" in kinds((await inbox(api, ada))[1])


async def test_likes_of_one_tweet_are_grouped(api: Api, run_jobs: Jobs) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "popular")
    fans = [await api.register(f"fan{i}") for i in range(7)]
    for fan in fans:
        await ok(api, fan, "likeTweet", tweet["id"])
        await run_jobs()
    await ok(api, fans[0], "unlikeTweet", tweet["id"])
    await ok(api, fans[0], "likeTweet", tweet["id"])  # liking again does not count twice
    await run_jobs()
    unread, notes = await inbox(api, ada)
    assert len(notes) == 1
    assert notes[0]["actorCount"] == 7
    assert [a["username"] for a in notes[0]["actors"]] == ["fan6", "fan5", "fan4", "fan3", "fan2"]
    assert unread == 1


async def test_never_to_oneself_nor_from_blocked_or_muted(api: Api, run_jobs: Jobs) -> None:
    ada = await api.register("ada")
    rude = await api.register("rude")
    loud = await api.register("loud")
    blocker = await api.register("blocker")
    tweet = await post(api, ada, "mine @ada")
    await ok(api, ada, "likeTweet", tweet["id"])
    await post(api, ada, "self reply", replyToId=tweet["id"])
    await ok(api, ada, "muteUser", loud.id)
    await ok(api, loud, "likeTweet", tweet["id"])
    await post(api, loud, "hey @ada")
    await ok(api, ada, "blockUser", rude.id)
    await post(api, rude, "hey @ada")
    await ok(api, blocker, "blockUser", ada.id)
    await post(api, blocker, "talking about @ada behind a block")
    await run_jobs()
    assert (await inbox(api, ada))[1] == []


async def test_processing_an_event_twice_changes_nothing(
    api: Api, app: Any, run_jobs: Jobs
) -> None:
    from starling.services import notifications

    ada = await api.register("ada")
    grace = await api.register("grace")
    tweet = await post(api, ada, "once")
    await ok(api, grace, "likeTweet", tweet["id"])
    await run_jobs()
    from schema.node import from_global_id
    from starling.events import TweetLiked

    event = TweetLiked(
        tweet_id=from_global_id(tweet["id"])[1],  # type: ignore[index]
        author_id=from_global_id(ada.id)[1],  # type: ignore[index]
        user_id=from_global_id(grace.id)[1],  # type: ignore[index]
    )
    assert await notifications.handle(app.state.core, event) == []
    _, notes = await inbox(api, ada)
    assert [(n["kind"], n["actorCount"]) for n in notes] == [("LIKE", 1)]


async def test_mark_read(api: Api, run_jobs: Jobs) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "hello")
    readers = [await api.register(f"r{i}") for i in range(3)]
    for reader in readers:
        await post(api, reader, f"hi @ada from {reader.username}")
        await run_jobs()
    unread, notes = await inbox(api, ada)
    assert unread == 3
    oldest = notes[-1]["id"]
    payload = (await api.data(MARK_READ, {"upTo": oldest}, ada.token))["markNotificationsRead"]
    assert payload == {"unreadCount": 2, "errors": []}
    payload = (await api.data(MARK_READ, {}, ada.token))["markNotificationsRead"]
    assert payload["unreadCount"] == 0
    _, notes = await inbox(api, ada)
    assert all(n["read"] for n in notes)
    await ok(api, readers[0], "likeTweet", tweet["id"])
    await run_jobs()
    assert (await inbox(api, ada))[0] == 1
    bad = (await api.data(MARK_READ, {"upTo": "nope"}, ada.token))["markNotificationsRead"]
    assert bad["errors"] == [{"code": "NOT_FOUND", "field": "upTo"}]
    assert await api.error_codes(MARK_READ, {}) == ["UNAUTHENTICATED"]
