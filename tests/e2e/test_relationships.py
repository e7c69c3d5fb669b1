"""Follow, follow requests, block and mute."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from starling.config import Settings
from starling.models import Follower, Following
from tests.support import Account, Api, act, error_codes_of, fetch_tweet, ok, post, profile_ids

RELATION = """
query($username: String!) {
  user(username: $username) {
    followersCount followingCount viewerIsFollowing followsViewer viewerHasRequestedFollow
    viewerIsBlocking blocksViewer viewerIsMuting
  }
}
"""
FOLLOWERS = """
query($username: String!, $first: Int, $after: String) {
  user(username: $username) {
    followers(first: $first, after: $after) {
      edges { cursor node { username } } pageInfo { hasNextPage endCursor }
    }
    following(first: $first) { edges { node { username } } }
  }
}
"""
REQUESTS = "{ followRequests { edges { node { username } } } }"


async def relation(api: Api, username: str, viewer: Account) -> dict:
    return (await api.data(RELATION, {"username": username}, viewer.token))["user"]


async def protect(api: Api, account: Account) -> None:
    payload = await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }",
        token=account.token,
    )
    assert payload["updateProfile"]["errors"] == []


async def test_follow_and_unfollow(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    payload = await ok(api, ada, "followUser", grace.id)
    assert payload == {"user": {"username": "grace"}, "status": "FOLLOWING", "errors": []}
    assert (await ok(api, ada, "followUser", grace.id))["status"] == "FOLLOWING"
    seen_by_ada = await relation(api, "grace", ada)
    assert seen_by_ada["viewerIsFollowing"] is True
    assert seen_by_ada["followsViewer"] is False
    assert seen_by_ada["followersCount"] == 1
    assert (await relation(api, "ada", grace))["followsViewer"] is True
    assert (await relation(api, "ada", grace))["followingCount"] == 1

    assert (await ok(api, ada, "unfollowUser", grace.id))["status"] == "NOT_FOLLOWING"
    assert (await ok(api, ada, "unfollowUser", grace.id))["status"] == "NOT_FOLLOWING"
    after = await relation(api, "grace", ada)
    assert (after["viewerIsFollowing"], after["followersCount"]) == (False, 0)


async def test_follow_errors(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    assert error_codes_of(await act(api, ada, "followUser", ada.id)) == {
        ("CANNOT_FOLLOW_SELF", "id")
    }
    assert error_codes_of(await act(api, ada, "followUser", "bogus")) == {("NOT_FOUND", "id")}
    await ok(api, grace, "blockUser", ada.id)
    assert error_codes_of(await act(api, ada, "followUser", grace.id)) == {("BLOCKED", "id")}
    assert error_codes_of(await act(api, grace, "followUser", ada.id)) == {("BLOCKED", "id")}


async def test_concurrent_follows_count_once(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    await asyncio.gather(*(act(api, ada, "followUser", grace.id) for _ in range(20)))
    assert (await relation(api, "grace", ada))["followersCount"] == 1


async def test_protected_accounts_approve_followers(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    alan = await api.register("alan")
    await protect(api, grace)
    assert (await ok(api, ada, "followUser", grace.id))["status"] == "REQUESTED"
    assert (await ok(api, alan, "followUser", grace.id))["status"] == "REQUESTED"
    assert (await relation(api, "grace", ada))["viewerHasRequestedFollow"] is True
    assert (await relation(api, "grace", ada))["followersCount"] == 0
    pending = await api.data(REQUESTS, token=grace.token)
    assert [e["node"]["username"] for e in pending["followRequests"]["edges"]] == ["alan", "ada"]

    await ok(api, grace, "approveFollowRequest", ada.id)
    await ok(api, grace, "rejectFollowRequest", alan.id)
    assert error_codes_of(await act(api, grace, "approveFollowRequest", alan.id)) == {
        ("NOT_FOUND", "id")
    }
    assert (await api.data(REQUESTS, token=grace.token))["followRequests"]["edges"] == []
    assert (await relation(api, "grace", ada))["viewerIsFollowing"] is True
    assert (await relation(api, "grace", alan))["viewerIsFollowing"] is False


async def test_unfollow_withdraws_a_request(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    await protect(api, grace)
    await ok(api, ada, "followUser", grace.id)
    await ok(api, ada, "unfollowUser", grace.id)
    assert (await api.data(REQUESTS, token=grace.token))["followRequests"]["edges"] == []


async def test_block_ends_follows_both_ways(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    await ok(api, ada, "followUser", grace.id)
    await ok(api, grace, "followUser", ada.id)
    await ok(api, ada, "blockUser", grace.id)
    seen = await relation(api, "grace", ada)
    assert seen["viewerIsBlocking"] is True
    assert (seen["viewerIsFollowing"], seen["followsViewer"], seen["followersCount"]) == (
        False,
        False,
        0,
    )
    assert (await relation(api, "ada", grace))["blocksViewer"] is True
    await ok(api, ada, "unblockUser", grace.id)
    assert (await relation(api, "grace", ada))["viewerIsBlocking"] is False
    assert error_codes_of(await act(api, ada, "blockUser", ada.id)) == {("CANNOT_BLOCK_SELF", "id")}


async def test_mute_hides_replies_but_not_the_profile(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    root = await post(api, ada, "root")
    reply = await post(api, grace, "noise", replyToId=root["id"])
    await ok(api, ada, "muteUser", grace.id)
    assert (await relation(api, "grace", ada))["viewerIsMuting"] is True
    query = "query($id: ID!) { tweet(id: $id) { replies { edges { node { id } } } } }"
    muted_view = await api.data(query, {"id": root["id"]}, ada.token)
    assert muted_view["tweet"]["replies"]["edges"] == []
    public_view = await api.data(query, {"id": root["id"]})
    assert [e["node"]["id"] for e in public_view["tweet"]["replies"]["edges"]] == [reply["id"]]
    assert await profile_ids(api, "grace", ada, replies=True) == [reply["id"]]
    assert await fetch_tweet(api, reply["id"], ada) is not None
    await ok(api, ada, "unmuteUser", grace.id)
    again = await api.data(query, {"id": root["id"]}, ada.token)
    assert len(again["tweet"]["replies"]["edges"]) == 1
    assert error_codes_of(await act(api, ada, "muteUser", ada.id)) == {("CANNOT_MUTE_SELF", "id")}


async def test_followers_page_with_stable_cursors(api: Api) -> None:
    star = await api.register("star")
    fans = [await api.register(f"fan{i}") for i in range(5)]
    for fan in fans:
        await ok(api, fan, "followUser", star.id)
    first = (await api.data(FOLLOWERS, {"username": "star", "first": 2}))["user"]["followers"]
    assert [e["node"]["username"] for e in first["edges"]] == ["fan4", "fan3"]
    assert first["pageInfo"]["hasNextPage"] is True
    late = await api.register("latecomer")
    await ok(api, late, "followUser", star.id)  # arrives while paging: must not shift pages
    rest = (
        await api.data(
            FOLLOWERS, {"username": "star", "first": 10, "after": first["pageInfo"]["endCursor"]}
        )
    )["user"]["followers"]
    assert [e["node"]["username"] for e in rest["edges"]] == ["fan2", "fan1", "fan0"]
    assert rest["pageInfo"]["hasNextPage"] is False
    following = (await api.data(FOLLOWERS, {"username": "fan0", "first": 5}))["user"]["following"]
    assert [e["node"]["username"] for e in following["edges"]] == ["star"]


async def test_dual_follow_tables_always_agree(api: Api, test_settings: Settings) -> None:
    users = [await api.register(f"u{i}") for i in range(6)]
    rng = random.Random(7)
    actions = []
    for _ in range(120):
        a, b = rng.sample(users, 2)
        mutation = rng.choice(
            ["followUser", "followUser", "unfollowUser", "blockUser", "unblockUser"]
        )
        actions.append(act(api, a, mutation, b.id))
    await asyncio.gather(*actions)

    assert test_settings.database_url
    engine = create_async_engine(test_settings.database_url)
    async with engine.connect() as connection:
        followers = set(
            (await connection.execute(select(Follower.user_id, Follower.follower_id))).all()
        )
        following = set(
            (await connection.execute(select(Following.following_id, Following.user_id))).all()
        )
    await engine.dispose()
    assert followers == following
    for user in users:
        counts = await relation(api, user.username, user)
        assert counts["followersCount"] == sum(1 for target, _ in followers if _db(user) == target)
        assert counts["followingCount"] == sum(1 for _, source in followers if _db(user) == source)


def _db(account: Account) -> int:
    from schema.node import from_global_id

    decoded = from_global_id(account.id)
    assert decoded is not None
    return decoded[1]
