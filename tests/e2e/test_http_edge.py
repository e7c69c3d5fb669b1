"""The HTTP door (issue 8): hostile bodies, headers, cursors and ids get a typed 4xx or a coded
GraphQL error, never a 500; the cost limit, the timeout and production's closed doors."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from schema.input_text import _has_unstorable
from starling.config import Settings
from tests.support import Api, client_with, post

QUERY = "{ viewer { id } }"


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "body",
    [
        b"123",
        b'"abc"',
        b"null",
        b"true",
        b"[]",
        b'[{"query": "{ viewer { id } }"}]',
        b"\xff\xfe{",
        b'{"query": "{ viewer { id } }"',
        b'{"query": 5}',
        b'{"query": "{ viewer { id } }", "variables": [1]}',
        b'{"query": "{ viewer { id } }", "extensions": "x"}',
        b'{"query": "{ viewer { id } }", "operationName": "\\udc00"}',
        b'{"query": "{ viewer { id } }", "operationName": 7}',
        ('{"query": "{ viewer { id } }", "variables": {"a": ' + nested(5000) + "}}").encode(),
        ('{"query": "{ viewer { id } }", "extensions": {"a": ' + nested(5000) + "}}").encode(),
        nested(5000).encode(),
        ('{"query": "{ viewer { id } }", "variables": {"a": ' + nested(900) + "}}").encode(),
    ],
    ids=lambda body: repr(body[:40]),
)
async def test_malformed_bodies_are_a_coded_400(api: Api, body: bytes) -> None:
    response = await api.client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert code_of(response) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "params",
    [
        {"query": QUERY, "variables": nested(5000)},
        {"query": QUERY, "variables": "not json"},
        {"query": QUERY, "variables": "[1]"},
        {"query": QUERY, "extensions": nested(5000)},
    ],
    ids=["deep-variables", "bad-variables", "list-variables", "deep-extensions"],
)
async def test_malformed_get_parameters_are_a_coded_400(api: Api, params: dict) -> None:
    response = await api.client.get("/graphql", params=params)
    assert response.status_code == 400, response.text
    assert code_of(response) == "BAD_USER_INPUT"


async def test_other_content_types_are_415(api: Api) -> None:
    response = await api.client.post(
        "/graphql", content=QUERY, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert code_of(response) == "BAD_USER_INPUT"


async def test_a_body_over_the_limit_is_413_declared_or_streamed(
    test_settings: Settings,
) -> None:
    async with client_with(test_settings, max_body_bytes=4096) as client:
        big = json.dumps({"query": QUERY, "variables": {"x": "y" * 10_000}}).encode()
        declared = await client.post(
            "/graphql", content=big, headers={"content-type": "application/json"}
        )

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(big), 1000):
                yield big[start : start + 1000]

        streamed = await client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        fits = await client.post("/graphql", json={"query": QUERY})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert code_of(response) == "PAYLOAD_TOO_LARGE"
    assert fits.status_code == 200


SUBSCRIPTION = "subscription { notifications { kind } }"


@pytest.mark.parametrize(
    "accept",
    ["application/json", "text/event-stream", 'multipart/mixed;subscriptionSpec="1.0"'],
)
async def test_subscriptions_over_http_are_refused_clearly(api: Api, accept: str) -> None:
    ada = await api.register("ada")
    headers = {"authorization": f"Bearer {ada.token}", "accept": accept}
    posted = await api.client.post("/graphql", json={"query": SUBSCRIPTION}, headers=headers)
    got = await api.client.get("/graphql", params={"query": SUBSCRIPTION}, headers=headers)
    for response in (posted, got):
        assert response.status_code == 400, response.text
        assert code_of(response) == "BAD_USER_INPUT"
        assert "WebSocket" in response.json()["errors"][0]["message"]


async def test_mutations_over_get_are_405(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": "mutation { logout { success } }"})
    assert response.status_code == 405
    assert code_of(response) == "BAD_USER_INPUT"


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_CURSORS = [
    cursor_of([2**63]),
    cursor_of([-(2**63) - 1]),
    cursor_of([2**63, 1]),
    cursor_of([[1]]),
    cursor_of([{"a": 1}]),
    cursor_of(json.loads(nested(500))),
    base64.urlsafe_b64encode(nested(3000).encode()).decode(),
    "x" * 5000,
]
LISTS = [
    'user(username: "ada") { tweets(after: $c) { edges { cursor } } }',
    'user(username: "ada") { likes(after: $c) { edges { cursor } } }',
    'user(username: "ada") { followers(after: $c) { edges { cursor } } }',
    'user(username: "ada") { following(after: $c) { edges { cursor } } }',
    "homeTimeline(after: $c) { edges { cursor } }",
    "bookmarks(after: $c) { edges { cursor } }",
    "notifications(after: $c) { edges { cursor } }",
    "followRequests(after: $c) { edges { cursor } }",
    "tweet(id: $t) { replies(after: $c) { edges { cursor } } }",
]


@pytest.mark.parametrize("field", LISTS, ids=lambda f: f.split("(")[0] + f.split("{")[1][:12])
async def test_bad_cursors_are_bad_user_input_on_every_list(api: Api, field: str) -> None:
    ada = await api.register("ada")
    tweet = await post(api, ada, "a tweet")
    document = f"query($c: String, $t: ID!) {{ {field} }}"
    for cursor in BAD_CURSORS:
        codes = await api.error_codes(document, {"c": cursor, "t": tweet["id"]}, ada.token)
        assert codes == ["BAD_USER_INPUT"], (cursor[:40], codes)


HOSTILE_IDS = [
    base64.urlsafe_b64encode(b"Tweet:" + b"9" * 5000).decode(),
    base64.urlsafe_b64encode(b"Tweet:-1").decode(),
    base64.urlsafe_b64encode(b"Tweet:99999999999999999999").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe:1").decode(),
    "%%%",
    "x" * 10_000,
]


async def test_hostile_ids_are_not_found(api: Api) -> None:
    ada = await api.register("ada")
    for hostile in HOSTILE_IDS:
        data = await api.data(
            "query($id: ID!) { node(id: $id) { id } tweet(id: $id) { id } }",
            {"id": hostile},
            ada.token,
        )
        assert data == {"node": None, "tweet": None}
        payload = await api.data(
            "mutation($id: ID!) { likeTweet(id: $id) { errors { code } } }",
            {"id": hostile},
            ada.token,
        )
        assert payload["likeTweet"]["errors"] == [{"code": "NOT_FOUND"}]


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer " + "x" * 20_000},
        {"authorization": b"Bearer stl_" + b"\xe9" * 50},
        {"authorization": "Basic Zm9vOmJhcg=="},
        {"authorization": "Bearer"},
        {"x-forwarded-for": "not-an-ip, , 999.1.1.1"},
        {"x-forwarded-for": "1.2.3.4" + ", 5.6.7.8" * 500},
        {"content-type": "application/json; charset=latin-1"},
        {"accept": "\x7f/\x7f"},
    ],
    ids=lambda headers: repr(headers)[:40],
)
async def test_hostile_headers_never_reach_an_internal_error(api: Api, headers: dict) -> None:
    response = await api.client.post(
        "/graphql", content=json.dumps({"query": QUERY}).encode(), headers=headers
    )
    assert response.status_code in (200, 400, 415), response.text
    codes = [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]
    assert "INTERNAL_SERVER_ERROR" not in codes


def test_the_unstorable_text_check_does_not_recurse() -> None:
    deep: object = "ok"
    for _ in range(50_000):
        deep = [deep]
    assert _has_unstorable(deep) is False
    assert _has_unstorable({"k": [[["a\x00"]]]}) is True


ATTACK = """
query($ids: [ID!]!) { nodes(ids: $ids) { ... on User {
  followers(first: 100) { edges { node { following(first: 100) { edges { node {
    followers(first: 100) { edges { node { id } } } } } } } } } } } }
"""


async def test_an_expensive_query_is_refused_before_it_runs(api: Api) -> None:
    ada = await api.register("ada")
    body = await api.post(ATTACK, {"ids": [ada.id] * 10})
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": 10 + 10 * (100 + 100 * 100 + 100 * 100 * 100),
        "maxCost": 5000,
    }
    assert body["data"] is None


@pytest.mark.parametrize(
    ("document", "variables", "cost"),
    [
        ("{ homeTimeline { edges { node { id } } } }", {}, 20),
        ("query($n: Int) { homeTimeline(first: $n) { edges { node { id } } } }", {"n": 7}, 7),
        ("query($n: Int = 9) { homeTimeline(first: $n) { edges { node { id } } } }", {}, 9),
        (
            "{ homeTimeline(first: 50) { edges { node { ...R } } } } "
            "fragment R on Tweet { replies(first: 100) { edges { node { id } } } }",
            {},
            50 + 50 * 100,
        ),
        (
            "{ a: homeTimeline(first: 60) { edges { node { id } } } "
            "b: bookmarks(first: 100) { edges { node { "
            "replies(first: 50) { edges { node { id } } } } } } }",
            {},
            60 + 100 + 100 * 50,
        ),
    ],
)
async def test_cost_follows_pages_fragments_and_variables(
    api: Api, document: str, variables: dict, cost: int
) -> None:
    ada = await api.register("ada")
    body = await api.post(document, variables, ada.token)
    if cost <= 5000:
        assert "errors" not in body, body
    else:
        assert body["errors"][0]["extensions"]["cost"] == cost


async def test_nodes_takes_at_most_a_hundred_ids(api: Api) -> None:
    ada = await api.register("ada")
    codes = await api.error_codes(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [ada.id] * 101}
    )
    assert codes == ["BAD_USER_INPUT"]


@contextlib.asynccontextmanager
async def users_table_locked(settings: Settings) -> AsyncIterator[None]:
    """Hold a lock that makes every read of users wait."""
    assert settings.database_url
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
            yield
            await transaction.rollback()
    finally:
        await engine.dispose()


async def test_a_slow_query_is_cut_off_but_a_mutation_is_not(test_settings: Settings) -> None:
    async with client_with(test_settings, request_timeout_seconds=0.5) as client:
        api = Api(client)
        ada = await api.register("ada")
        async with users_table_locked(test_settings):
            slow = await client.post("/graphql", json={"query": '{ user(username: "ada") { id } }'})
            mutation = asyncio.create_task(
                api.post(
                    'mutation { updateProfile(input: {bio: "patient"}) { user { bio } } }',
                    token=ada.token,
                )
            )
            await asyncio.sleep(1.0)  # longer than the timeout, while the lock holds
        written = await mutation
    assert slow.status_code == 503
    assert code_of(slow) == "TIMEOUT"
    assert written["data"] == {"updateProfile": {"user": {"bio": "patient"}}}


@pytest.fixture
def production() -> dict[str, Any]:
    return {"mode": "production", "secret_key": "a-production-secret-of-some-length"}


async def test_production_closes_introspection_graphiql_and_suggestions(
    test_settings: Settings, production: dict[str, Any]
) -> None:
    async with client_with(test_settings, **production) as client:
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}
        )
        typename = await client.post("/graphql", json={"query": "{ __typename }"})
        graphiql = await client.get("/graphql", headers={"accept": "text/html"})
        typo = await client.post("/graphql", json={"query": "{ viewr { id } }"})
    assert code_of(introspection) == "BAD_USER_INPUT"
    assert typename.json()["data"] == {"__typename": "Query"}
    assert graphiql.status_code == 404
    assert "Did you mean" not in typo.text
    assert code_of(typo) == "BAD_USER_INPUT"


async def test_each_production_door_can_be_opened_again(
    test_settings: Settings, production: dict[str, Any]
) -> None:
    async with client_with(
        test_settings, **production, introspection=True, graphiql=True, field_suggestions=True
    ) as client:
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}
        )
        graphiql = await client.get("/graphql", headers={"accept": "text/html"})
        typo = await client.post("/graphql", json={"query": "{ viewr { id } }"})
    assert "errors" not in introspection.json()
    assert graphiql.status_code == 200
    assert "Did you mean" in typo.text


async def test_dev_mode_keeps_them_open(api: Api) -> None:
    typo = await api.client.post("/graphql", json={"query": "{ viewr { id } }"})
    assert "Did you mean" in typo.text
