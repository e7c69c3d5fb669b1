"""Abuse limits (issue 8): budgets per user and per IP, answered RATE_LIMITED with when to retry;
logins slowed per account without letting anyone lock the owner out; no enumeration by timing."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx
import pytest

from starling.config import Settings
from tests.support import STRONG_PASSWORD, UNLIMITED, Api, client_with

LOGIN = """
mutation($who: String!, $password: String!) {
  login(input: {usernameOrEmail: $who, password: $password}) { token errors { code } }
}
"""


def from_ip(ip: str) -> dict[str, str]:
    return {"x-forwarded-for": ip}


async def login(
    client: httpx.AsyncClient, who: str, password: str, ip: str
) -> tuple[httpx.Response, str]:
    """The response and its outcome: OK, a payload error code, or a top-level error code."""
    response = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"who": who, "password": password}},
        headers=from_ip(ip),
    )
    body = response.json()
    if body.get("errors"):
        return response, body["errors"][0]["extensions"]["code"]
    payload = body["data"]["login"]
    return response, payload["errors"][0]["code"] if payload["errors"] else "OK"


def limits(**budgets: str) -> dict[str, Any]:
    return {**UNLIMITED, **{f"rate_limit_{name}": value for name, value in budgets.items()}}


async def test_wrong_passwords_slow_the_guessing_ip_not_the_owner(
    test_settings: Settings,
) -> None:
    async with client_with(test_settings, **limits(login_failures_per_account="3/900")) as client:
        await Api(client).register("ada")
        assert (await login(client, "ada", STRONG_PASSWORD, "10.0.0.1"))[1] == "OK"
        for _ in range(3):
            assert (await login(client, "ada", "wrong password!", "10.0.0.2"))[1] == (
                "INVALID_CREDENTIALS"
            )
        limited, outcome = await login(client, "ada", "wrong password!", "10.0.0.2")
        assert outcome == "RATE_LIMITED"
        # The email names the same account: no fresh guesses through it.
        assert (await login(client, "ada@example.com", "wrong!", "10.0.0.2"))[1] == "RATE_LIMITED"
        # The owner, from where they signed in before, is not locked out.
        assert (await login(client, "ada", STRONG_PASSWORD, "10.0.0.1"))[1] == "OK"
    error = limited.json()["errors"][0]
    assert 0 < error["extensions"]["retryAfter"] <= 300
    assert int(limited.headers["retry-after"]) == error["extensions"]["retryAfter"]
    assert limited.headers["ratelimit-limit"] == "3"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert int(limited.headers["ratelimit-reset"]) > 0


async def test_guesses_spread_over_many_ips_are_limited_per_account(
    test_settings: Settings,
) -> None:
    budgets = limits(login_failures_per_account_all_ips="5/3600")
    async with client_with(test_settings, **budgets) as client:
        await Api(client).register("ada")
        assert (await login(client, "ada", STRONG_PASSWORD, "10.0.0.1"))[1] == "OK"
        outcomes = [
            (await login(client, "ada", "wrong password!", f"10.1.0.{i}"))[1] for i in range(8)
        ]
        assert outcomes == ["INVALID_CREDENTIALS"] * 5 + ["RATE_LIMITED"] * 3
        assert (await login(client, "ada", STRONG_PASSWORD, "10.0.0.1"))[1] == "OK"


async def test_one_ip_trying_many_accounts_is_limited(test_settings: Settings) -> None:
    async with client_with(test_settings, **limits(logins_per_ip="5/300")) as client:
        api = Api(client)
        for i in range(6):
            await api.register(f"user{i}")
        outcomes = [(await login(client, f"user{i}", "wrong!", "10.2.0.1"))[1] for i in range(6)]
        assert outcomes == ["INVALID_CREDENTIALS"] * 5 + ["RATE_LIMITED"]
        assert (await login(client, "user0", STRONG_PASSWORD, "10.2.0.2"))[1] == "OK"


async def test_a_missing_account_answers_as_slowly_as_a_present_one(
    test_settings: Settings,
) -> None:
    # A real hashing cost, so that skipping the hash would show.
    cost = {"argon2_time_cost": 2, "argon2_memory_cost_kib": 32768}
    async with client_with(test_settings, **cost) as client:
        await Api(client).register("ada")

        async def median(who: str) -> float:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                assert (await login(client, who, "wrong password!", "10.3.0.1"))[1] == (
                    "INVALID_CREDENTIALS"
                )
                times.append(time.perf_counter() - started)
            return statistics.median(times)

        present, missing = await median("ada"), await median("nobody_here")
    assert missing > present * 0.5, (missing, present)


REGISTER = """
mutation($u: String!, $e: String!) {
  register(input: {username: $u, email: $e, password: "correct horse battery staple"}) {
    errors { code }
  }
}
"""


async def test_registrations_are_limited_per_ip_failures_included(
    test_settings: Settings,
) -> None:
    async with client_with(test_settings, **limits(registrations_per_ip="3/1800")) as client:

        async def register(name: str, email: str, ip: str) -> str:
            body = (
                await client.post(
                    "/graphql",
                    json={"query": REGISTER, "variables": {"u": name, "e": email}},
                    headers=from_ip(ip),
                )
            ).json()
            if body.get("errors"):
                return str(body["errors"][0]["extensions"]["code"])
            errors = body["data"]["register"]["errors"]
            return str(errors[0]["code"]) if errors else "OK"

        outcomes = [
            await register("ada", "ada@example.com", "10.4.0.1"),
            await register("probe1", "ada@example.com", "10.4.0.1"),
            await register("probe2", "grace@example.com", "10.4.0.1"),
            await register("probe3", "someone@example.com", "10.4.0.1"),
        ]
        elsewhere = await register("probe4", "other@example.com", "10.4.0.2")
    assert outcomes == ["OK", "EMAIL_TAKEN", "OK", "RATE_LIMITED"]
    assert elsewhere == "OK"


ACTIONS = {
    "posts": 'mutation { postTweet(input: {text: "%s"}) { errors { code } } }',
    "likes": 'mutation { likeTweet(id: "%s") { errors { code } } }',
    "bookmarks": 'mutation { bookmarkTweet(id: "%s") { errors { code } } }',
    "follows": 'mutation { followUser(id: "%s") { errors { code } } }',
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_each_write_has_a_budget_per_user(test_settings: Settings, action: str) -> None:
    async with client_with(test_settings, **limits(**{action: "3/3600"})) as client:
        api = Api(client)
        actor = await api.register("actor")
        other = await api.register("other")
        targets = []
        for i in range(4):
            if action == "posts":
                targets.append(f"post {i}")
            elif action == "follows":
                targets.append((await api.register(f"target{i}")).id)
            else:
                tweet = await api.data(
                    "mutation($t: String!) { postTweet(input: {text: $t}) { tweet { id } } }",
                    {"t": f"tweet {i}"},
                    other.token,
                )
                targets.append(tweet["postTweet"]["tweet"]["id"])
        responses = [
            await client.post(
                "/graphql",
                json={"query": ACTIONS[action] % target},
                headers={"authorization": f"Bearer {actor.token}"},
            )
            for target in targets
        ]
        codes = [[e["extensions"]["code"] for e in r.json().get("errors", [])] for r in responses]
        assert codes == [[], [], [], ["RATE_LIMITED"]]
        assert [r.headers["ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
        assert 1 <= int(responses[-1].headers["retry-after"]) <= 1200
        # Someone else's budget is their own.
        other_target = targets[0] if action != "follows" else actor.id
        spared = await client.post(
            "/graphql",
            json={"query": ACTIONS[action] % ("another" if action == "posts" else other_target)},
            headers={"authorization": f"Bearer {other.token}"},
        )
        assert "errors" not in spared.json(), spared.json()


async def test_retweets_spend_the_posting_budget(test_settings: Settings) -> None:
    async with client_with(test_settings, **limits(posts="2/3600")) as client:
        api = Api(client)
        actor = await api.register("actor")
        other = await api.register("other")
        ids = []
        for i in range(2):
            data = await api.data(
                "mutation($t: String!) { postTweet(input: {text: $t}) { tweet { id } } }",
                {"t": f"tweet {i}"},
                other.token,
            )
            ids.append(data["postTweet"]["tweet"]["id"])
        await api.data(
            'mutation { postTweet(input: {text: "mine"}) { errors { code } } }', token=actor.token
        )
        await api.data(
            f'mutation {{ retweet(id: "{ids[0]}") {{ errors {{ code }} }} }}', token=actor.token
        )
        codes = await api.error_codes(
            f'mutation {{ retweet(id: "{ids[1]}") {{ errors {{ code }} }} }}', token=actor.token
        )
    assert codes == ["RATE_LIMITED"]


async def test_forwarded_for_counts_only_from_trusted_proxies(test_settings: Settings) -> None:
    budgets = limits(logins_per_ip="2/300")
    async with client_with(test_settings, **budgets, forwarded_allow_ips="10.9.9.9") as client:
        # The test client is 127.0.0.1, not a trusted proxy: its X-Forwarded-For is ignored.
        outcomes = [(await login(client, "nobody", "x" * 8, f"10.5.0.{i}"))[1] for i in range(3)]
    assert outcomes == ["INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "RATE_LIMITED"]


async def test_searches_have_a_budget_per_user_or_per_ip(test_settings: Settings) -> None:
    search = '{ searchTweets(query: "cats") { edges { cursor } } }'
    people = '{ searchUsers(query: "ada") { edges { cursor } } }'
    async with client_with(test_settings, **limits(searches="3/900")) as client:
        api = Api(client)
        reader = await api.register("reader")
        signed_in = [await api.error_codes(q, token=reader.token) for q in (search, people) * 2]
        assert signed_in == [[], [], [], ["RATE_LIMITED"]]

        async def anonymous(ip: str) -> list[str]:
            response = await client.post(
                "/graphql", json={"query": search}, headers={"x-forwarded-for": ip}
            )
            return [e["extensions"]["code"] for e in response.json().get("errors", [])]

        from_one_ip = [await anonymous("10.9.0.1") for _ in range(4)]
        assert from_one_ip == [[], [], [], ["RATE_LIMITED"]]
        assert await anonymous("10.9.0.2") == []
        # Autocomplete, called on every keystroke, spends nothing.
        for _ in range(5):
            assert await api.error_codes('{ autocomplete(prefix: "ad") { __typename } }') == []
