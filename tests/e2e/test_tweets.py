"""postTweet, editTweet, deleteTweet end to end."""

from __future__ import annotations

import asyncio

import pytest

from starling.config import Settings
from tests.support import (
    Api,
    act,
    error_codes_of,
    fetch_tweet,
    ok,
    post,
    post_payload,
    profile_ids,
    run_sql,
)

EDIT = """
mutation($id: ID!, $text: String!) {
  editTweet(input: {id: $id, text: $text}) {
    tweet { id text editedAt hashtags mentions { username } versions { number text } }
    errors { code field message }
  }
}
"""


async def test_post_a_tweet_with_hashtags_and_mentions(api: Api) -> None:
    ada = await api.register("ada")
    await api.register("Grace")
    tweet = await post(api, ada, "Hello @grace and @nobody! #Python #python #GraphQL")
    assert tweet["text"] == "Hello @grace and @nobody! #Python #python #GraphQL"
    assert tweet["author"]["username"] == "ada"
    assert tweet["hashtags"] == ["graphql", "python"]
    assert tweet["mentions"] == [{"username": "Grace"}]  # only users who exist
    assert tweet["conversationId"] == tweet["id"]
    assert tweet["versions"] == [{"number": 1, "text": tweet["text"]}]
    assert tweet["editedAt"] is None
    assert (tweet["likeCount"], tweet["replyCount"], tweet["viewerHasLiked"]) == (0, 0, False)
    assert await fetch_tweet(api, tweet["id"]) == tweet | {"viewerHasLiked": False}
    user = await api.data('{ user(username: "ada") { tweetsCount } }')
    assert user["user"]["tweetsCount"] == 1


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a" * 279, None),
        ("a" * 280, None),
        ("a" * 281, "TWEET_TOO_LONG"),
        ("😀" * 140, None),  # emoji weigh 2
        ("😀" * 141, "TWEET_TOO_LONG"),
        ("👩‍👩‍👧‍👦" * 140, None),  # a ZWJ family is one emoji
        ("漢" * 140, None),  # CJK weighs 2
        ("漢" * 141, "TWEET_TOO_LONG"),
        ("e\u0301" * 280, None),  # NFC: e + combining accent is one character
        ("a" * 256 + " https://example.com/" + "p" * 200, None),  # URLs weigh 23
        ("a" * 257 + " https://example.com/" + "p" * 200, "TWEET_TOO_LONG"),
        ("", "TWEET_EMPTY"),
        ("   \n  ", "TWEET_EMPTY"),
        ("bell\u0007", "INVALID_CHARACTERS"),
        ("  padded  ", None),
    ],
)
async def test_weighted_length(api: Api, text: str, error: str | None) -> None:
    ada = await api.register("ada")
    payload = await post_payload(api, ada, text)
    if error is None:
        assert payload["errors"] == []
        assert payload["tweet"]["text"] == text.strip().replace("e\u0301", "é")
    else:
        assert error_codes_of(payload) == {(error, "text")}
        assert payload["tweet"] is None


async def test_posting_needs_a_token(api: Api) -> None:
    assert await api.error_codes(
        'mutation { postTweet(input: {text: "hi"}) { tweet { id } } }'
    ) == ["UNAUTHENTICATED"]


async def test_replies_form_a_conversation(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    root = await post(api, ada, "root")
    reply = await post(api, grace, "reply", replyToId=root["id"])
    deeper = await post(api, ada, "deeper", replyToId=reply["id"])
    assert reply["replyTo"] == {"id": root["id"]}
    assert reply["conversationId"] == deeper["conversationId"] == root["id"]
    assert (await fetch_tweet(api, root["id"]))["replyCount"] == 1
    replies = await api.data(
        "query($id: ID!) { tweet(id: $id) { replies { edges { node { id } } } } }",
        {"id": root["id"]},
    )
    assert [e["node"]["id"] for e in replies["tweet"]["replies"]["edges"]] == [reply["id"]]
    assert await profile_ids(api, "grace") == []
    assert await profile_ids(api, "grace", replies=True) == [reply["id"]]


async def test_replying_to_a_missing_or_hidden_tweet_is_an_error(api: Api) -> None:
    ada = await api.register("ada")
    hidden = await api.register("hidden")
    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }",
        token=hidden.token,
    )
    secret = await post(api, hidden, "secret")
    assert error_codes_of(await post_payload(api, ada, "hi", replyToId=secret["id"])) == {
        ("NOT_FOUND", "replyToId")
    }
    assert error_codes_of(await post_payload(api, ada, "hi", replyToId="bogus")) == {
        ("NOT_FOUND", "replyToId")
    }


async def test_replying_to_or_quoting_a_retweet_targets_the_original(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    original = await post(api, ada, "original")
    the_retweet = (await ok(api, grace, "retweet", original["id"]))["retweet"]
    reply = await post(api, grace, "reply", replyToId=the_retweet["id"])
    quote = await post(api, grace, "quote", quoteOfId=the_retweet["id"])
    assert reply["replyTo"] == {"id": original["id"]}
    assert quote["quoted"] == {"id": original["id"]}
    counts = await fetch_tweet(api, original["id"])
    assert (counts["replyCount"], counts["quoteCount"], counts["retweetCount"]) == (1, 1, 1)


async def test_idempotency_key_returns_the_same_tweet(api: Api) -> None:
    ada = await api.register("ada")
    first = await post(api, ada, "once", idempotencyKey="k-1")
    again = await post(api, ada, "once", idempotencyKey="k-1")
    assert again["id"] == first["id"]
    results = await asyncio.gather(
        *(post_payload(api, ada, "racing", idempotencyKey="k-2") for _ in range(6))
    )
    assert len({r["tweet"]["id"] for r in results}) == 1
    assert all(r["errors"] == [] for r in results)
    user = await api.data('{ user(username: "ada") { tweetsCount } }')
    assert user["user"]["tweetsCount"] == 2


async def test_idempotency_key_expires_after_the_window(api: Api, test_settings: Settings) -> None:
    ada = await api.register("ada")
    first = await post(api, ada, "first", idempotencyKey="k")
    await run_sql(test_settings, "UPDATE tweets SET created_at = now() - interval '61 minutes'")
    second = await post(api, ada, "second", idempotencyKey="k")
    assert second["id"] != first["id"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 65, "semi;colon"])
async def test_invalid_idempotency_keys(api: Api, key: str) -> None:
    ada = await api.register("ada")
    payload = await post_payload(api, ada, "hi", idempotencyKey=key)
    assert error_codes_of(payload) == {("INVALID", "idempotencyKey")}


async def test_posting_the_same_text_twice_in_a_row_is_a_duplicate(api: Api) -> None:
    ada = await api.register("ada")
    await post(api, ada, "same old")
    assert error_codes_of(await post_payload(api, ada, "same old")) == {("DUPLICATE_TWEET", "text")}
    await post(api, ada, "something else")
    await post(api, ada, "same old")  # only the latest tweet counts
    grace = await api.register("grace")
    await post(api, grace, "same old")  # and only one's own


async def test_concurrent_duplicates_create_one_tweet(api: Api) -> None:
    ada = await api.register("ada")
    results = await asyncio.gather(*(post_payload(api, ada, "burst") for _ in range(5)))
    assert sum(1 for r in results if r["errors"] == []) == 1
    assert await profile_ids(api, "ada") == [next(r for r in results if r["tweet"])["tweet"]["id"]]


async def test_media_ids_must_be_ready_media_of_the_author(api: Api) -> None:
    ada = await api.register("ada")
    payload = await post_payload(api, ada, "pic", mediaIds=["bogus"])
    assert error_codes_of(payload) == {("NOT_FOUND", "mediaIds")}
    five = await post_payload(api, ada, "pics", mediaIds=["a", "b", "c", "d", "e"])
    assert ("TOO_MANY_MEDIA", "mediaIds") in error_codes_of(five)


async def test_edit_keeps_every_version(api: Api) -> None:
    ada = await api.register("ada")
    await api.register("grace")
    tweet = await post(api, ada, "first #one")
    edited = (await api.data(EDIT, {"id": tweet["id"], "text": "second #two @grace"}, ada.token))[
        "editTweet"
    ]
    assert edited["errors"] == []
    assert edited["tweet"]["text"] == "second #two @grace"
    assert edited["tweet"]["editedAt"] is not None
    assert edited["tweet"]["hashtags"] == ["two"]
    assert edited["tweet"]["mentions"] == [{"username": "grace"}]
    assert edited["tweet"]["versions"] == [
        {"number": 1, "text": "first #one"},
        {"number": 2, "text": "second #two @grace"},
    ]
    fetched = await fetch_tweet(api, tweet["id"])
    assert fetched["text"] == "second #two @grace"
    assert fetched["hashtags"] == ["two"]


async def test_edit_with_the_same_text_is_not_a_new_version(api: Api) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "same")
    edited = (await api.data(EDIT, {"id": tweet["id"], "text": " same "}, ada.token))["editTweet"]
    assert edited["tweet"]["versions"] == [{"number": 1, "text": "same"}]
    assert edited["tweet"]["editedAt"] is None


async def test_only_the_author_can_edit(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    tweet = await post(api, ada, "mine")
    payload = (await api.data(EDIT, {"id": tweet["id"], "text": "yours"}, grace.token))["editTweet"]
    assert error_codes_of(payload) == {("NOT_AUTHOR", "id")}
    assert (await fetch_tweet(api, tweet["id"]))["text"] == "mine"


async def test_edit_limit(api: Api) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "v1")
    for n in range(2, 7):
        payload = (await api.data(EDIT, {"id": tweet["id"], "text": f"v{n}"}, ada.token))[
            "editTweet"
        ]
        assert payload["errors"] == []
    payload = (await api.data(EDIT, {"id": tweet["id"], "text": "v7"}, ada.token))["editTweet"]
    assert error_codes_of(payload) == {("EDIT_LIMIT_REACHED", "id")}
    assert len((await fetch_tweet(api, tweet["id"]))["versions"]) == 6


async def test_edit_window(api: Api, test_settings: Settings) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "old news")
    await run_sql(test_settings, "UPDATE tweets SET created_at = now() - interval '31 minutes'")
    payload = (await api.data(EDIT, {"id": tweet["id"], "text": "new news"}, ada.token))[
        "editTweet"
    ]
    assert error_codes_of(payload) == {("EDIT_WINDOW_CLOSED", "id")}


async def test_edit_validates_the_new_text(api: Api) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "short")
    payload = (await api.data(EDIT, {"id": tweet["id"], "text": "a" * 281}, ada.token))["editTweet"]
    assert error_codes_of(payload) == {("TWEET_TOO_LONG", "text")}
    payload = (await api.data(EDIT, {"id": tweet["id"], "text": ""}, ada.token))["editTweet"]
    assert error_codes_of(payload) == {("TWEET_EMPTY", "text")}
    assert (await fetch_tweet(api, tweet["id"]))["versions"] == [{"number": 1, "text": "short"}]


async def test_delete_hides_the_tweet_everywhere(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    root = await post(api, grace, "root")
    tweet = await post(api, ada, "regret", replyToId=root["id"])
    await ok(api, grace, "retweet", tweet["id"])
    assert (await fetch_tweet(api, root["id"]))["replyCount"] == 1

    assert (await ok(api, ada, "deleteTweet", tweet["id"]))["deletedId"] == tweet["id"]

    assert await fetch_tweet(api, tweet["id"]) is None
    node = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": tweet["id"]})
    assert node["node"] is None
    assert await profile_ids(api, "ada", replies=True) == []
    assert await profile_ids(api, "grace") == [root["id"]]  # grace's retweet went with it
    assert (await fetch_tweet(api, root["id"]))["replyCount"] == 0
    user = await api.data('{ user(username: "ada") { tweetsCount } }')
    assert user["user"]["tweetsCount"] == 0
    assert error_codes_of(await act(api, ada, "deleteTweet", tweet["id"])) == {("NOT_FOUND", "id")}


async def test_only_the_author_can_delete(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    tweet = await post(api, ada, "mine")
    assert error_codes_of(await act(api, grace, "deleteTweet", tweet["id"])) == {
        ("NOT_AUTHOR", "id")
    }
    assert await fetch_tweet(api, tweet["id"]) is not None


async def test_deleted_tweets_are_purged_after_the_grace_period(
    api: Api, app: object, test_settings: Settings
) -> None:
    from starling.services.tweets import purge_deleted

    ada = await api.register("ada")
    kept = await post(api, ada, "kept")
    gone = await post(api, ada, "gone")
    recent = await post(api, ada, "recently deleted")
    await ok(api, ada, "deleteTweet", gone["id"])
    await ok(api, ada, "deleteTweet", recent["id"])
    await run_sql(
        test_settings,
        "UPDATE tweets SET deleted_at = now() - interval '31 days' WHERE text = 'gone'",
    )
    assert await purge_deleted(app.state.core) == 1  # type: ignore[attr-defined]
    assert await profile_ids(api, "ada") == [kept["id"]]
