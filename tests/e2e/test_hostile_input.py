"""Bad input gets a clear, typed error: never INTERNAL_SERVER_ERROR, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.support import Api

HOSTILE = ["a\x00b", "\ud800", "x" * 10_000, "", " ", "🙂" * 300, "@" * 20, "#" * 300, "\u202e"]

DOCUMENTS = [
    (
        "mutation($s: String!) { login(input: {usernameOrEmail: $s, password: $s}) { token errors { code } } }",
        False,
    ),
    (
        "mutation($s: String!) { register(input: {username: $s, email: $s, password: $s, displayName: $s}) { token errors { code } } }",
        False,
    ),
    ("query($s: String!) { user(username: $s) { id } }", False),
    ("query($s: ID!) { node(id: $s) { id } tweet(id: $s) { id } }", False),
    (
        'query($s: String!) { user(username: "ada") { tweets(after: $s) { edges { cursor } } } }',
        False,
    ),
    (
        "mutation($s: String!) { postTweet(input: {text: $s, idempotencyKey: $s}) { errors { code } } }",
        True,
    ),
    (
        'mutation($s: String!) { postTweet(input: {text: "ok", replyToId: $s, quoteOfId: $s, mediaIds: [$s]}) { errors { code } } }',
        True,
    ),
    (
        "mutation($s: String!) { updateProfile(input: {displayName: $s, bio: $s, location: $s, website: $s, region: $s}) { errors { code } } }",
        True,
    ),
    (
        "mutation($s: ID!) { likeTweet(id: $s) { errors { code } } followUser(id: $s) { errors { code } } }",
        True,
    ),
    ("mutation($s: ID!) { markNotificationsRead(upTo: $s) { errors { code } } }", True),
]


@pytest.mark.parametrize(("document", "signed_in"), DOCUMENTS)
async def test_hostile_strings_never_reach_an_internal_error(
    api: Api, document: str, signed_in: bool
) -> None:
    ada = await api.register("ada")
    for value in HOSTILE:
        # ASCII-escaped JSON, as a client would send a lone surrogate ("\ud800").
        body = json.dumps({"query": document, "variables": {"s": value}}).encode()
        headers = {"content-type": "application/json"}
        if signed_in:
            headers["authorization"] = f"Bearer {ada.token}"
        response = await api.client.post("/graphql", content=body, headers=headers)
        assert response.status_code in (200, 400), (value, response.text)
        codes = [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes, (value, response.text)


async def test_unstorable_text_is_bad_user_input(api: Api) -> None:
    assert await api.error_codes(
        "query($s: String!) { user(username: $s) { id } }", {"s": "a\x00b"}
    ) == ["BAD_USER_INPUT"]
    assert await api.error_codes('{ user(username: "a\\u0000b") { id } }') == ["BAD_USER_INPUT"]
