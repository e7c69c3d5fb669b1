"""What a stranger must never learn of a hidden tweet: not through the undo mutations, not
through another tweet's fields, not through counts or notifications (issue 8, "Leaks")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from schema.node import from_global_id
from tests.support import Account, Api, act, fetch_tweet, ok, post

Jobs = Callable[[], Awaitable[int]]
UNDO = ("unlikeTweet", "unbookmarkTweet", "undoRetweet")
PROTECT = "mutation($p: Boolean!) { updateProfile(input: {protected: $p}) { errors { code } } }"


async def protect(api: Api, account: Account, protected: bool = True) -> None:
    data = await api.data(PROTECT, {"p": protected}, token=account.token)
    assert data["updateProfile"]["errors"] == []


async def hidden_tweet(api: Api, how: str) -> tuple[Account, dict]:
    """(a stranger, a tweet the stranger may not see), hidden in the way named."""
    author = await api.register("author")
    stranger = await api.register("stranger")
    tweet = await post(api, author, "secret words")
    if how == "protected":
        await protect(api, author)
    elif how == "blocked":
        await ok(api, author, "blockUser", stranger.id)
    elif how == "deleted":
        await ok(api, author, "deleteTweet", tweet["id"])
    assert await fetch_tweet(api, tweet["id"], stranger) is None
    return stranger, tweet


@pytest.mark.parametrize("how", ["protected", "blocked", "deleted"])
@pytest.mark.parametrize("mutation", UNDO)
async def test_undo_mutations_show_nothing_of_a_hidden_tweet(
    api: Api, mutation: str, how: str
) -> None:
    stranger, tweet = await hidden_tweet(api, how)
    body = await api.post(
        f"mutation($id: ID!) {{ {mutation}(id: $id) {{ tweet {{ id text author {{ username }} "
        "versions { text } } errors { code } } }",
        {"id": tweet["id"]},
        token=stranger.token,
    )
    assert "secret" not in str(body)
    assert body["data"][mutation] == {"tweet": None, "errors": [{"code": "NOT_FOUND"}]}


async def test_thirty_aliased_undos_read_nothing(api: Api) -> None:
    stranger, tweet = await hidden_tweet(api, "protected")
    aliases = " ".join(
        f'u{i}: unlikeTweet(id: "{tweet["id"]}") {{ tweet {{ text }} errors {{ code }} }}'
        for i in range(30)
    )
    body = await api.post(f"mutation {{ {aliases} }}", token=stranger.token)
    assert "secret" not in str(body)


async def test_undoing_a_like_of_a_tweet_that_became_hidden_works_and_shows_nothing(
    api: Api,
) -> None:
    author = await api.register("author")
    fan = await api.register("fan")
    tweet = await post(api, author, "secret words")
    await ok(api, fan, "likeTweet", tweet["id"])
    await ok(api, author, "blockUser", fan.id)
    payload = await act(api, fan, "unlikeTweet", tweet["id"])
    assert payload == {"tweet": None, "errors": []}
    likes = await api.data(
        'query { user(username: "author") { tweets { edges { node { likeCount } } } } }'
    )
    assert likes["user"]["tweets"]["edges"][0]["node"]["likeCount"] == 0


async def test_conversation_id_does_not_name_a_hidden_root(api: Api) -> None:
    author = await api.register("author")
    replier = await api.register("replier")
    stranger = await api.register("stranger")
    root = await post(api, author, "the root")
    reply = await post(api, replier, "a public reply", replyToId=root["id"])
    seen_by_author = await fetch_tweet(api, reply["id"], author)
    assert seen_by_author is not None
    assert seen_by_author["conversationId"] == root["id"]
    await protect(api, author)
    seen = await fetch_tweet(api, reply["id"], stranger)
    assert seen is not None
    assert seen["replyTo"] is None
    assert seen["conversationId"] != root["id"]
    decoded = from_global_id(seen["conversationId"])
    assert decoded is not None
    assert decoded[0] == "Conversation"
    # Stable, so a client can still group the thread.
    again = await fetch_tweet(api, reply["id"], stranger)
    assert again is not None
    assert again["conversationId"] == seen["conversationId"]


async def test_no_notification_of_a_tweet_the_recipient_may_not_see(
    api: Api, run_jobs: Jobs
) -> None:
    quiet = await api.register("quiet")
    friend = await api.register("friend")
    stranger = await api.register("stranger")
    await protect(api, quiet)
    await ok(api, friend, "followUser", quiet.id)
    await ok(api, quiet, "approveFollowRequest", friend.id)
    await post(api, quiet, "hello @stranger and @friend")
    public = await post(api, stranger, "a public tweet")
    await post(api, quiet, "a protected reply", replyToId=public["id"])
    await run_jobs()
    query = "{ notifications { edges { node { kind } } } }"
    stranger_notes = await api.data(query, token=stranger.token)
    friend_notes = await api.data(query, token=friend.token)
    assert stranger_notes["notifications"]["edges"] == []
    assert "MENTION" in [e["node"]["kind"] for e in friend_notes["notifications"]["edges"]]


COUNTS = "query($id: ID!) { tweet(id: $id) { replyCount quoteCount retweetCount } }"


async def counts(api: Api, tweet_id: str, viewer: Account) -> dict[str, int]:
    return (await api.data(COUNTS, {"id": tweet_id}, token=viewer.token))["tweet"]


async def test_counts_leave_out_tweets_of_protected_accounts(api: Api) -> None:
    author = await api.register("author")
    quiet = await api.register("quiet")
    stranger = await api.register("stranger")
    tweet = await post(api, author, "talk to me")
    await protect(api, quiet)
    await post(api, quiet, "a hidden reply", replyToId=tweet["id"])
    await post(api, quiet, "a hidden quote", quoteOfId=tweet["id"])
    await ok(api, quiet, "retweet", tweet["id"])
    zero = {"replyCount": 0, "quoteCount": 0, "retweetCount": 0}
    assert await counts(api, tweet["id"], stranger) == zero
    replies = await api.data(
        "query($id: ID!) { tweet(id: $id) { replies { edges { node { id } } } } }",
        {"id": tweet["id"]},
        token=stranger.token,
    )
    assert replies["tweet"]["replies"]["edges"] == []


async def test_counts_follow_a_change_of_protection(api: Api) -> None:
    author = await api.register("author")
    talker = await api.register("talker")
    stranger = await api.register("stranger")
    tweet = await post(api, author, "talk to me")
    await post(api, talker, "a reply", replyToId=tweet["id"])
    await post(api, talker, "a quote", quoteOfId=tweet["id"])
    await ok(api, talker, "retweet", tweet["id"])
    one = {"replyCount": 1, "quoteCount": 1, "retweetCount": 1}
    assert await counts(api, tweet["id"], stranger) == one
    await protect(api, talker)
    assert await counts(api, tweet["id"], stranger) == {k: 0 for k in one}
    await protect(api, talker)  # no change, no second subtraction
    assert await counts(api, tweet["id"], stranger) == {k: 0 for k in one}
    await protect(api, talker, False)
    assert await counts(api, tweet["id"], stranger) == one
