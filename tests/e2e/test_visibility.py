"""One visibility rule, on every read path: tweet, node, nodes, profile tweets, replies, quotes,
replyTo, retweetOf, likes, bookmarks, followers and following."""

from __future__ import annotations

import pytest

from tests.support import Account, Api, fetch_tweet, ok, post, profile_ids

PATHS = """
query($id: ID!, $ids: [ID!]!, $author: String!) {
  node(id: $id) { id }
  nodes(ids: $ids) { id }
  user(username: $author) {
    tweets(includeReplies: true) { edges { node { id } } }
    likes { edges { node { id } } }
    followers { edges { node { username } } }
    following { edges { node { username } } }
  }
}
"""
LINKS = """
query($id: ID!) { tweet(id: $id) {
  quoted { id } replyTo { id } retweetOf { id }
  replies { edges { node { id } } }
} }
"""


async def protect(api: Api, account: Account) -> None:
    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }",
        token=account.token,
    )


async def setup_author(api: Api) -> tuple[Account, Account, dict]:
    """An author with a tweet, a like, a follower and a followee."""
    author = await api.register("author")
    friend = await api.register("friend")
    tweet = await post(api, author, "hello")
    await ok(api, author, "likeTweet", tweet["id"])
    await ok(api, friend, "followUser", author.id)
    await ok(api, author, "followUser", friend.id)
    return author, friend, tweet


async def read_paths(api: Api, tweet_id: str, viewer: Account | None) -> dict:
    data = await api.data(
        PATHS,
        {"id": tweet_id, "ids": [tweet_id], "author": "author"},
        viewer.token if viewer else None,
    )
    user = data["user"]
    return {
        "tweet": await fetch_tweet(api, tweet_id, viewer) is not None,
        "node": data["node"] is not None,
        "nodes": data["nodes"] != [None],
        "profile": bool(user["tweets"]["edges"]),
        "likes": bool(user["likes"]["edges"]),
        "followers": bool(user["followers"]["edges"]),
        "following": bool(user["following"]["edges"]),
    }


ALL_VISIBLE = dict.fromkeys(
    ["tweet", "node", "nodes", "profile", "likes", "followers", "following"], True
)
NONE_VISIBLE = dict.fromkeys(ALL_VISIBLE, False)


async def test_public_accounts_are_visible_to_everyone(api: Api) -> None:
    _, _friend, tweet = await setup_author(api)
    stranger = await api.register("stranger")
    assert await read_paths(api, tweet["id"], None) == ALL_VISIBLE
    assert await read_paths(api, tweet["id"], stranger) == ALL_VISIBLE


@pytest.mark.parametrize("viewer_kind", ["anonymous", "stranger", "pending"])
async def test_protected_accounts_hide_from_non_followers(api: Api, viewer_kind: str) -> None:
    author, _friend, tweet = await setup_author(api)
    await protect(api, author)
    viewer = None
    if viewer_kind != "anonymous":
        viewer = await api.register("viewer")
    if viewer_kind == "pending":
        assert viewer is not None
        assert (await ok(api, viewer, "followUser", author.id))["status"] == "REQUESTED"
    assert await read_paths(api, tweet["id"], viewer) == NONE_VISIBLE


async def test_protected_accounts_show_to_themselves_and_approved_followers(api: Api) -> None:
    author, friend, tweet = await setup_author(api)
    await protect(api, author)  # friend followed before: still approved
    assert await read_paths(api, tweet["id"], author) == ALL_VISIBLE
    assert await read_paths(api, tweet["id"], friend) == ALL_VISIBLE
    late = await api.register("late")
    await ok(api, late, "followUser", author.id)
    await ok(api, author, "approveFollowRequest", late.id)
    assert await read_paths(api, tweet["id"], late) == ALL_VISIBLE


@pytest.mark.parametrize("who_blocks", ["author", "viewer"])
async def test_blocks_hide_both_ways(api: Api, who_blocks: str) -> None:
    author, _, tweet = await setup_author(api)
    viewer = await api.register("viewer")
    if who_blocks == "author":
        await ok(api, author, "blockUser", viewer.id)
    else:
        await ok(api, viewer, "blockUser", author.id)
    assert await read_paths(api, tweet["id"], viewer) == NONE_VISIBLE
    assert await read_paths(api, tweet["id"], None) == ALL_VISIBLE


async def test_links_to_hidden_tweets_are_null(api: Api) -> None:
    author = await api.register("author")
    other = await api.register("other")
    viewer = await api.register("viewer")
    original = await post(api, author, "original")
    quote = await post(api, other, "look", quoteOfId=original["id"])
    reply = await post(api, other, "reply", replyToId=original["id"])
    public = (await api.data(LINKS, {"id": quote["id"]}, viewer.token))["tweet"]
    assert public["quoted"] == {"id": original["id"]}

    await ok(api, author, "blockUser", viewer.id)
    hidden_quote = (await api.data(LINKS, {"id": quote["id"]}, viewer.token))["tweet"]
    assert hidden_quote["quoted"] is None
    hidden_reply = (await api.data(LINKS, {"id": reply["id"]}, viewer.token))["tweet"]
    assert hidden_reply["replyTo"] is None
    # The other side of the block cannot see the viewer's replies either.
    mine = await post(api, viewer, "mine")
    theirs = await post(api, other, "theirs", replyToId=mine["id"])
    await ok(api, viewer, "blockUser", other.id)
    thread = (await api.data(LINKS, {"id": mine["id"]}, viewer.token))["tweet"]
    assert thread["replies"]["edges"] == []
    assert await fetch_tweet(api, theirs["id"], viewer) is None


async def test_retweets_of_hidden_tweets_are_hidden(api: Api) -> None:
    author = await api.register("author")
    sharer = await api.register("sharer")
    viewer = await api.register("viewer")
    original = await post(api, author, "original")
    the_retweet = (await ok(api, sharer, "retweet", original["id"]))["retweet"]
    assert await profile_ids(api, "sharer", viewer) == [the_retweet["id"]]
    await ok(api, author, "blockUser", viewer.id)
    assert await profile_ids(api, "sharer", viewer) == []
    assert await fetch_tweet(api, the_retweet["id"], viewer) is None
    assert await fetch_tweet(api, the_retweet["id"], sharer) is not None


async def test_bookmarks_of_tweets_that_became_hidden_drop_out(api: Api) -> None:
    author = await api.register("author")
    viewer = await api.register("viewer")
    tweet = await post(api, author, "keep this")
    await ok(api, viewer, "bookmarkTweet", tweet["id"])
    await protect(api, author)
    marks = await api.data("{ bookmarks { edges { node { id } } } }", token=viewer.token)
    assert marks["bookmarks"]["edges"] == []
