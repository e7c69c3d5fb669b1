"""Compiled execution (issue 14): a known document answered from its plan says exactly what
graphql-core says.

The whole suite runs in shadow mode (tests/conftest.py): every query the compiler can plan runs
both ways and any difference fails that request. Here: generated queries over every plannable
field (hypothesis-graphql), the served path's own response (headers, status, extensions), and
falling back on what a plan must not decide.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from execution.fields import READERS
from schema.node import db_id_of
from starling import metrics
from starling.config import Settings
from starling.services import home_timeline
from tests.e2e.test_dataloaders import count_statements
from tests.support import Account, Api, act, client_with, count_commands, post

HOME = """query Home($first: Int) { homeTimeline(first: $first) {
  edges { cursor node { id text createdAt author { id username displayName }
    likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted viewerHasBookmarked } }
  pageInfo { hasNextPage endCursor } } }"""
PROFILE = """query Profile($username: String!) { user(username: $username) {
  id username followersCount tweets(first: 10) { edges { node {
    id text createdAt author { id username displayName }
    likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted viewerHasBookmarked
  } } } } }"""
SHAPES = """query Shapes($withCounts: Boolean!, $skipAuthor: Boolean = false) {
  __typename
  me: viewer { ...who followersCount }
  page: homeTimeline(first: 3) {
    edges { node { __typename id ...counts @include(if: $withCounts)
      author @skip(if: $skipAuthor) { ...who } author @skip(if: $skipAuthor) { verified }
      ... on Tweet { retweetOf { id author { username } } quoted { id } }
      ... on Node { id } } }
    pageInfo { startCursor hasPreviousPage } } }
fragment who on User { id username }
fragment counts on Tweet { likeCount retweetCount viewerHasLiked }"""


def compiled(outcome: str) -> float:
    return metrics.COMPILED.labels(outcome)._value.get()


async def seed(api: Api) -> dict[str, Any]:
    """A small world with every kind of tweet, relationship and count."""
    alice, bob, carol, dave = [
        await api.register(name) for name in ("alice", "bob", "carol", "dave")
    ]
    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }",
        token=carol.token,
    )
    for follower, followee in ((alice, bob), (alice, carol), (alice, dave), (bob, alice)):
        await act(api, follower, "followUser", followee.id)
    first = await post(api, bob, "hello #world from @alice")
    reply = await post(api, alice, "hi bob", replyToId=first["id"])
    quote = await post(api, dave, "look at this", quoteOfId=first["id"])
    await post(api, carol, "only for followers")
    await act(api, alice, "likeTweet", first["id"])
    await act(api, dave, "likeTweet", first["id"])
    await act(api, alice, "retweet", quote["id"])
    await act(api, alice, "bookmarkTweet", first["id"])
    await act(api, dave, "blockUser", bob.id)
    return {
        "accounts": [alice, bob, carol, dave],
        "tweets": [first["id"], reply["id"], quote["id"]],
    }


@asynccontextmanager
async def seeded_client(
    settings: Settings, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Account]]:
    """A client of an app with the compiled path serving (no shadow run) over ``seed``'s world,
    and alice, who reads it."""
    async with client_with(settings, compiled_execution_shadow=False, **overrides) as client:
        world = await seed(Api(client))
        yield client, world["accounts"][0]


def plannable_sdl(schema: graphql.GraphQLSchema) -> str:
    """The part of the schema the compiler plans, as SDL for hypothesis-graphql. Optional
    arguments are left out (their defaults apply); the required ones take seeded values."""
    fields_of: dict[str, list[str]] = defaultdict(list)
    for type_name, field_name in READERS:
        fields_of[type_name].append(field_name)
    blocks = ["scalar DateTime", "scalar Username", "scalar TweetId"]
    for type_name, names in fields_of.items():
        owner = schema.get_type(type_name)
        assert isinstance(owner, graphql.GraphQLObjectType)
        lines = []
        for name in names:
            field = owner.fields[name]
            required = [
                f"{arg}: {'Username' if arg == 'username' else 'TweetId'}!"
                for arg, definition in field.args.items()
                if graphql.is_non_null_type(definition.type)
                and definition.default_value is graphql.Undefined
            ]
            arguments = f"({', '.join(required)})" if required else ""
            lines.append(f"  {name}{arguments}: {field.type}")
        blocks.append(f"type {type_name} {{\n" + "\n".join(lines) + "\n}")
    return "\n".join(blocks)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_queries_answer_alike(api: Api, app: Any, data: st.DataObject) -> None:
    world = getattr(app.state, "compiled_test_world", None)
    if world is None:  # the examples share one seeded world (they only read)
        world = app.state.compiled_test_world = await seed(api)
    names = [account.username for account in world["accounts"]] + ["nobody"]
    sdl = plannable_sdl(
        app.state.core_schema if hasattr(app.state, "core_schema") else _schema(app)
    )

    def literal(values: list[str]) -> st.SearchStrategy[graphql.ValueNode]:
        return st.sampled_from(values).map(lambda value: graphql.StringValueNode(value=value))

    query = data.draw(
        queries(
            sdl,
            custom_scalars={"Username": literal(names), "TweetId": literal(world["tweets"])},
        )
    )
    viewer = data.draw(st.sampled_from([None, *world["accounts"]]))
    before = compiled("shadow_matched") + compiled("fell_back")
    body = await api.post(str(query), token=viewer.token if viewer else None)
    # Shadow mode compared the two answers inside that request (a difference is a 500, which
    # api.post refuses); every generated query has a plan, so the comparison did happen.
    assert compiled("shadow_matched") + compiled("fell_back") > before, (query, body)


def _schema(app: Any) -> graphql.GraphQLSchema:
    for route in app.routes:
        view = getattr(route, "endpoint", None) or getattr(route, "app", None)
        if hasattr(view, "compiled"):
            return view.compiled.schema  # type: ignore[no-any-return]
    raise AssertionError("no GraphQL view")


async def test_generated_queries_mostly_run_compiled(api: Api, app: Any) -> None:
    """The property test must not pass by falling back: with a seeded world, the common
    documents are answered by their plans (shadow_matched), not by the normal path alone."""
    world = await seed(api)
    alice = world["accounts"][0]
    before = compiled("shadow_matched")
    await api.data(HOME, {"first": 5}, alice.token)
    await api.data(SHAPES, {"withCounts": True}, alice.token)
    await api.data(SHAPES, {"withCounts": False, "skipAuthor": True}, alice.token)
    assert compiled("shadow_matched") == before + 3


async def served(client: httpx.AsyncClient, account: Account, **request: Any) -> httpx.Response:
    return await client.post(
        "/graphql", json=request, headers={"authorization": f"Bearer {account.token}"}
    )


def comparable(response: httpx.Response) -> tuple[int, str, Any]:
    body = response.json()
    cost = (body.get("extensions") or {}).get("cost")
    if cost:  # what is left of the budget moves with every request
        cost.pop("remaining")
        cost.pop("resetAt")
    return response.status_code, response.headers["content-type"], body


async def test_a_plan_serves_what_the_normal_path_served(test_settings: Settings) -> None:
    async with seeded_client(test_settings, compile_documents_after=2) as (client, alice):
        request = {"query": HOME, "variables": {"first": 4}, "operationName": "Home"}
        first = await served(client, alice, **request)  # runs normally, once
        second = await served(client, alice, **request)  # runs normally: now known, compiled
        before = compiled("served")
        third = await served(client, alice, **request)
        assert compiled("served") == before + 1
        assert comparable(third) == comparable(first) == comparable(second)
        assert third.headers["ratelimit-limit"] == first.headers["ratelimit-limit"]
        limits = {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy"}
        assert limits <= set(third.headers)
        assert third.headers["ratelimit-policy"] == first.headers["ratelimit-policy"]
        assert [e["node"]["text"] for e in third.json()["data"]["homeTimeline"]["edges"]]

        # GraphQL over HTTP's media type, asked for, is answered by the plan too.
        accept = await client.post(
            "/graphql",
            json=request,
            headers={
                "authorization": f"Bearer {alice.token}",
                "accept": "application/graphql-response+json",
            },
        )
        assert accept.headers["content-type"] == "application/graphql-response+json"
        assert accept.json()["data"] == third.json()["data"]


@pytest.mark.parametrize(
    ("request_", "statements", "shown"),
    [
        # The user with its counts and the page with its tweets' parts.
        (
            {"query": PROFILE, "variables": {"username": "bob"}},
            1,
            {
                "text": "hello #world from @alice",
                "likeCount": 2,
                "viewerHasLiked": True,
                "viewerHasBookmarked": True,
                "author": "bob",
            },
        ),
        # The ids come from the built timeline in Redis; the tweets with their parts in one
        # statement.
        (
            {"query": HOME, "variables": {"first": 2}},
            1,
            {
                "text": "look at this",
                "retweetCount": 1,
                "viewerHasRetweeted": True,
                "viewerHasLiked": False,
                "author": "dave",
            },
        ),
    ],
    ids=["profile", "home"],
)
async def test_a_page_reads_its_tweets_parts_with_its_tweets(
    test_settings: Settings, request_: dict[str, Any], statements: int, shown: dict[str, Any]
) -> None:
    """The statement that reads a page's tweets also reads their authors, counts and the
    viewer's state: no second round trip for what the page's fields show."""
    async with seeded_client(test_settings, compile_documents_after=2) as (client, alice):
        core = client._transport.app.state.core  # type: ignore[attr-defined]
        await home_timeline.rebuild(core, db_id_of(alice.id, "User"))
        first = await served(client, alice, **request_)  # runs normally, once
        await served(client, alice, **request_)  # runs normally: now known, compiled
        before = compiled("served")
        with count_statements(client._transport.app) as executed:  # type: ignore[attr-defined]
            third = await served(client, alice, **request_)
        assert compiled("served") == before + 1
        assert comparable(third) == comparable(first)
        assert len(executed) == statements, executed
        data = third.json()["data"]
        edges = data["user"]["tweets"]["edges"] if "user" in data else data["homeTimeline"]["edges"]
        [node] = [e["node"] for e in edges if e["node"]["text"] == shown["text"]]
        assert {name: node[name] for name in shown if name != "author"} == {
            name: value for name, value in shown.items() if name != "author"
        }
        assert node["author"]["username"] == shown["author"]


async def test_a_read_signs_in_and_spends_its_points_in_one_redis_call(
    test_settings: Settings,
) -> None:
    """A first-party request with a cached session: the session, the activity mark and the
    points budget in one script, so a profile page costs one Redis call and one statement."""
    async with seeded_client(
        test_settings,
        compile_documents_after=1,
        rate_limit_points_per_user="1000/3600",
    ) as (client, alice):
        request = {"query": PROFILE, "variables": {"username": "bob"}}
        first = await served(client, alice, **request)  # compiles it
        redis = client._transport.app.state.core.redis.main  # type: ignore[attr-defined]
        with count_commands(redis) as commands:
            second = await served(client, alice, **request)
        assert commands == ["EVAL"]
        assert second.json()["data"] == first.json()["data"]
        spent = [r.json()["extensions"]["cost"] for r in (first, second)]
        assert spent[0]["remaining"] - spent[1]["remaining"] == spent[1]["points"] == 1
        assert second.headers["ratelimit-remaining"] == str(spent[1]["remaining"])


async def test_a_profile_read_in_one_statement_answers_every_case_alike(api: Api) -> None:
    """A user and their page in one statement: a hidden page, a missing user, an anonymous
    viewer and a name written as a mention all answer what graphql-core answers (shadow mode
    compares each)."""
    world = await seed(api)
    alice = world["accounts"][0]
    matched = compiled("shadow_matched")

    async def profile(name: str, token: str | None) -> Any:
        return (await api.data(PROFILE, {"username": name}, token))["user"]

    carol = await profile("carol", alice.token)  # protected; alice's follow is a request
    assert carol["username"] == "carol"
    assert carol["tweets"]["edges"] == []
    assert await profile("nobody", alice.token) is None
    [anonymous] = (await profile("bob", None))["tweets"]["edges"]
    assert (anonymous["node"]["likeCount"], anonymous["node"]["viewerHasLiked"]) == (2, False)
    mention = await profile(" @BOB", alice.token)
    assert mention["username"] == "bob"
    assert mention["tweets"]["edges"][0]["node"]["viewerHasLiked"] is True
    assert compiled("shadow_matched") == matched + 4


async def test_a_plan_falls_back_on_what_it_must_not_decide(test_settings: Settings) -> None:
    async with seeded_client(
        test_settings,
        compile_documents_after=1,
        rate_limit_points_per_user="1000/3600",
    ) as (client, alice):
        await served(client, alice, query=HOME, variables={"first": 2})  # compiles it
        fell_back = compiled("fell_back")

        too_many = await served(client, alice, query=HOME, variables={"first": 500})
        wrong_type = await served(client, alice, query=HOME, variables={"first": "two"})
        anonymous = await client.post("/graphql", json={"query": HOME, "variables": {}})
        assert compiled("fell_back") == fell_back + 3
        assert too_many.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert wrong_type.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "data" in too_many.json()
        assert "data" in anonymous.json()
        assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        # A request that fell back spent its points once, not once per path.
        spent = [
            (await served(client, alice, query=HOME, variables=v)).json()["extensions"]["cost"]
            for v in ({"first": 2}, {"first": 101}, {"first": 2})
        ]
        assert spent[0]["remaining"] - spent[2]["remaining"] == (
            spent[1]["points"] + spent[2]["points"]
        )
