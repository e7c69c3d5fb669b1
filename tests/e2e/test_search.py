"""searchTweets, searchUsers, autocomplete and hashtag over GraphQL: the contract every search
backend keeps. Each test runs against PostgreSQL, and against OpenSearch when
``STARLING_TEST_OPENSEARCH_URL`` names a cluster (skipped, saying so, when it does not)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from server.app import create_app
from starling.config import Settings
from starling.services import search_indexing
from starling.storage import counters
from tests.support import Account, Api, act, ok, post, run_sql

OPENSEARCH_URL = os.environ.get("STARLING_TEST_OPENSEARCH_URL")


@pytest.fixture(params=["postgres", "opensearch"])
async def app(
    request: pytest.FixtureRequest, app: Any, test_settings: Settings
) -> AsyncIterator[Any]:
    """The shared app (PostgreSQL search), or one searching a fresh set of OpenSearch indexes."""
    if request.param == "postgres":
        yield app
        return
    if not OPENSEARCH_URL:
        pytest.skip(
            "STARLING_TEST_OPENSEARCH_URL is not set: the OpenSearch run of the search contract "
            "needs a real cluster"
        )
    prefix = f"starling-test-{uuid.uuid4().hex[:12]}"
    settings = test_settings.model_copy(
        update={"opensearch_url": OPENSEARCH_URL, "opensearch_index_prefix": prefix}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        index = application.state.core.search_index
        await index.client.indices.delete(index=f"{prefix}-*")


class SearchApi(Api):
    """An Api whose reads wait until the search index has caught up with the writes before them
    (the indexing worker runs, the index refreshes); instant for PostgreSQL."""

    def __init__(self, client: httpx.AsyncClient, settle: Callable[[], Awaitable[None]]) -> None:
        super().__init__(client)
        self.settle = settle

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        if query.lstrip().startswith("query"):
            await self.settle()
        return await super().post(query, variables, token)


@pytest.fixture
def api(client: httpx.AsyncClient, app: Any, run_jobs: Callable[[], Awaitable[int]]) -> SearchApi:
    async def settle() -> None:
        index = app.state.core.search_index
        if index is not None:
            await run_jobs()
            await index.refresh()

    return SearchApi(client, settle)


async def reindex_tweets(app: Any) -> None:
    """After rows were changed behind the services' back (SQL in a test), rebuild the index."""
    if app.state.core.search_index is not None:
        await search_indexing.reindex(app.state.core, "tweets", lambda _: None)


SEARCH = """
query($q: String!, $sort: SearchSort, $first: Int, $after: String) {
  searchTweets(query: $q, sort: $sort, first: $first, after: $after) {
    edges { cursor node { id text } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
USERS = """
query($q: String!, $first: Int, $after: String) {
  searchUsers(query: $q, first: $first, after: $after) {
    edges { node { username } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
AUTOCOMPLETE = """
query($p: String!, $limit: Int) {
  autocomplete(prefix: $p, limit: $limit) {
    __typename
    ... on UserSuggestion { user { username } }
    ... on HashtagSuggestion { name tweetCount }
  }
}
"""


async def texts(api: Api, query: str, viewer: Account | None = None, sort: str = "LATEST") -> list:
    data = await api.data(
        SEARCH, {"q": query, "sort": sort, "first": 50}, token=viewer.token if viewer else None
    )
    return [edge["node"]["text"] for edge in data["searchTweets"]["edges"]]


async def search_error(api: Api, query: str) -> dict[str, Any]:
    body = await api.post(SEARCH, {"q": query})
    assert body["data"] is None
    [error] = body["errors"]
    return error


@pytest.fixture
async def corpus(api: Api) -> dict[str, Account]:
    ada = await api.register("ada")
    bob = await api.register("bob")
    first = await post(api, ada, "the quick brown fox #animals")
    await post(api, ada, "a lazy dog sleeps #Animals https://example.com/dog")
    await post(api, bob, "quick thinking wins @ada")
    await post(api, bob, "brown rice for dinner", replyToId=first["id"])
    return {"ada": ada, "bob": bob}


async def test_words_phrases_exclusions_and_or(api: Api, corpus: dict[str, Account]) -> None:
    assert await texts(api, "quick") == ["quick thinking wins @ada", "the quick brown fox #animals"]
    assert await texts(api, "quick brown") == ["the quick brown fox #animals"]
    assert await texts(api, '"brown fox"') == ["the quick brown fox #animals"]
    assert await texts(api, '"fox brown"') == []
    assert await texts(api, "quick -fox") == ["quick thinking wins @ada"]
    assert await texts(api, "quick -is:reply") == [
        "quick thinking wins @ada",
        "the quick brown fox #animals",
    ]
    # OR binds tighter than AND: brown AND (rice OR fox).
    assert await texts(api, "brown rice OR fox") == [
        "brown rice for dinner",
        "the quick brown fox #animals",
    ]
    assert await texts(api, "dog OR dinner") == [
        "brown rice for dinner",
        "a lazy dog sleeps #Animals https://example.com/dog",
    ]
    assert await texts(api, "(dog OR dinner) -rice") == [
        "a lazy dog sleeps #Animals https://example.com/dog"
    ]


async def test_operators_and_their_negations(
    api: Api, corpus: dict[str, Account], test_settings: Settings, app: Any
) -> None:
    dog = "a lazy dog sleeps #Animals https://example.com/dog"
    fox = "the quick brown fox #animals"
    assert await texts(api, "#animals") == [dog, fox]
    assert await texts(api, "#ANIMALS -#animals") == []
    assert await texts(api, "@ada") == ["quick thinking wins @ada"]
    assert await texts(api, "from:ada") == [dog, fox]
    assert await texts(api, "-from:ada quick") == ["quick thinking wins @ada"]
    assert await texts(api, "to:ada") == ["brown rice for dinner"]
    assert await texts(api, "has:links") == [dog]
    assert await texts(api, "-has:links #animals") == [fox]
    assert await texts(api, "has:media") == []
    assert await texts(api, "is:reply") == ["brown rice for dinner"]
    assert await texts(api, "since:2000-01-01 until:2999-01-01 dog") == [dog]
    assert await texts(api, "until:2000-01-01 dog") == []
    assert await texts(api, "-since:2000-01-01 dog") == []

    # Detection is tested below; here a language is set so only one tweet has it.
    await run_sql(
        test_settings, "UPDATE tweets SET lang = CASE WHEN text LIKE '%fox%' THEN 'la' END"
    )
    await reindex_tweets(app)
    assert await texts(api, "lang:la") == [fox]
    assert await texts(api, "-lang:la from:ada") == [dog]

    fox_id = (await api.data(SEARCH, {"q": "fox"}))["searchTweets"]["edges"][0]["node"]["id"]
    await ok(api, corpus["bob"], "likeTweet", fox_id)
    await ok(api, corpus["bob"], "retweet", fox_id)
    await counters.flush(app.state.core.db)
    assert await texts(api, "min_likes:1") == [fox]
    assert await texts(api, "min_retweets:1 #animals") == [fox]
    assert await texts(api, "-min_likes:1 #animals") == [dog]
    # Retweets are not results, unless asked for.
    assert await texts(api, "from:bob") == ["brown rice for dinner", "quick thinking wins @ada"]
    assert await texts(api, "from:bob is:retweet") == [""]


@pytest.mark.parametrize(
    ("query", "position", "says"),
    [
        ('"unclosed phrase', 0, "never closed"),
        ("cats since:2026-13-01", 11, "YYYY-MM-DD"),
        ("min_likes:many", 10, "whole number"),
        ("from:", 5, "needs a value"),
        ("cats OR", 5, "OR needs a term"),
        ("OR cats", 0, "OR needs a term"),
        ("has:video", 4, "media, links or poll"),
        ("(cats", 0, "never closed"),
        ("cats)", 4, "closes nothing"),
        ("-cats", 0, "only exclusions"),
        ("   ", 0, "empty"),
        ("from:not-a-name", 5, "valid username"),
    ],
)
async def test_bad_syntax_says_where(api: Api, query: str, position: int, says: str) -> None:
    error = await search_error(api, query)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["position"] == position
    assert says in error["message"]


async def test_both_sorts_page_without_gaps_or_repeats(api: Api, app: Any) -> None:
    ada = await api.register("ada")
    fans = [await api.register(f"fan{n}") for n in range(3)]
    ids = [(await post(api, ada, f"paging test number {n} #paging"))["id"] for n in range(7)]
    for fan in fans:
        await ok(api, fan, "likeTweet", ids[2])
    await ok(api, fans[0], "likeTweet", ids[5])
    await counters.flush(app.state.core.db)

    for sort in ("LATEST", "TOP"):
        seen: list[str] = []
        after = None
        while True:
            data = await api.data(SEARCH, {"q": "paging", "sort": sort, "first": 3, "after": after})
            connection = data["searchTweets"]
            seen += [edge["node"]["id"] for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        assert sorted(seen) == sorted(ids), sort
        if sort == "LATEST":
            assert seen == list(reversed(ids))
        else:
            # Engagement lifts a tweet above newer ones with the same text relevance.
            assert seen[0] == ids[2]
            assert seen.index(ids[5]) < seen.index(ids[6])

    codes = await api.error_codes(SEARCH, {"q": "paging", "sort": "TOP", "after": "bm90"})
    assert codes == ["BAD_USER_INPUT"]


async def test_results_pass_the_visibility_rule(api: Api, test_settings: Settings) -> None:
    viewer = await api.register("viewer")
    public = await api.register("public")
    hidden = await api.register("hidden")
    blocker = await api.register("blocker")
    muted = await api.register("muted")
    await post(api, public, "zebra public")
    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }",
        token=hidden.token,
    )
    await post(api, hidden, "zebra protected")
    await post(api, blocker, "zebra blocker")
    await ok(api, blocker, "blockUser", viewer.id)
    await post(api, muted, "zebra muted")
    await ok(api, viewer, "muteUser", muted.id)
    deleted = await post(api, public, "zebra deleted")
    await api.data(
        "mutation($id: ID!) { deleteTweet(id: $id) { errors { code } } }",
        {"id": deleted["id"]},
        token=public.token,
    )
    edited = await post(api, public, "zebra before the edit")
    await api.data(
        'mutation($id: ID!) { editTweet(input: {id: $id, text: "giraffe after"}) '
        "{ errors { code } } }",
        {"id": edited["id"]},
        token=public.token,
    )

    assert await texts(api, "zebra", viewer) == ["zebra public"]
    assert sorted(await texts(api, "zebra")) == ["zebra blocker", "zebra muted", "zebra public"]
    assert await texts(api, "giraffe", viewer) == ["giraffe after"]
    assert await texts(api, "before", viewer) == []

    await act(api, viewer, "followUser", hidden.id)
    await ok(api, hidden, "approveFollowRequest", viewer.id)
    assert await texts(api, "zebra", viewer) == ["zebra protected", "zebra public"]


async def test_search_users_ranks_exact_then_prefix_then_fuzzy(api: Api) -> None:
    viewer = await api.register("viewer")
    await api.register("adams")
    await api.register("ada")
    await api.register("adalovelace", display_name="Ada Lovelace")
    await api.register("someone", display_name="Adaa Fan")
    friend = await api.register("adaline")
    await ok(api, viewer, "followUser", friend.id)
    enemy = await api.register("adablocker")
    await ok(api, enemy, "blockUser", viewer.id)

    data = await api.data(USERS, {"q": "@Ada", "first": 10}, token=viewer.token)
    names = [edge["node"]["username"] for edge in data["searchUsers"]["edges"]]
    assert names[0] == "ada"
    assert names[1] == "adaline"  # a prefix match the viewer follows
    assert set(names[2:4]) == {"adalovelace", "adams"}
    assert "someone" in names  # the display name is close
    assert "adablocker" not in names

    first_page = await api.data(USERS, {"q": "ada", "first": 2}, token=viewer.token)
    after = first_page["searchUsers"]["pageInfo"]["endCursor"]
    rest = await api.data(USERS, {"q": "ada", "first": 10, "after": after}, token=viewer.token)
    paged = [e["node"]["username"] for e in first_page["searchUsers"]["edges"]] + [
        e["node"]["username"] for e in rest["searchUsers"]["edges"]
    ]
    assert paged == names

    assert await api.error_codes(USERS, {"q": "  "}) == ["BAD_USER_INPUT"]


async def test_autocomplete_users_and_hashtags(api: Api) -> None:
    ada = await api.register("ada")
    await api.register("adam")
    await post(api, ada, "#adventure time")
    await post(api, ada, "more #adventure and #adapt")

    async def suggest(prefix: str, limit: int = 10) -> list[str]:
        data = await api.data(AUTOCOMPLETE, {"p": prefix, "limit": limit})
        return [
            "@" + s["user"]["username"]
            if s["__typename"] == "UserSuggestion"
            else f"#{s['name']}:{s['tweetCount']}"
            for s in data["autocomplete"]
        ]

    assert await suggest("ad") == ["@ada", "@adam", "#adventure:2", "#adapt:1"]
    assert await suggest("@ad") == ["@ada", "@adam"]
    assert await suggest("#AD") == ["#adventure:2", "#adapt:1"]
    assert await suggest("ad", limit=1) == ["@ada"]
    assert await suggest("zz") == []
    assert await suggest("%") == []
    assert await api.error_codes(AUTOCOMPLETE, {"p": "ad", "limit": 0}) == ["BAD_USER_INPUT"]


async def test_hashtag_with_its_tweets(api: Api) -> None:
    ada = await api.register("ada")
    older = await post(api, ada, "#Starling one")
    newer = await post(api, ada, "#starling two")
    data = await api.data(
        'query { hashtag(name: "#STARLING") { name tweetCount '
        "tweets(first: 1) { edges { node { id } } pageInfo { hasNextPage } } } }"
    )
    assert data["hashtag"]["name"] == "starling"
    assert data["hashtag"]["tweetCount"] == 2
    assert data["hashtag"]["tweets"]["edges"] == [{"node": {"id": newer["id"]}}]
    assert data["hashtag"]["tweets"]["pageInfo"]["hasNextPage"]
    assert older["id"] != newer["id"]
    assert (await api.data('query { hashtag(name: "nothing") { name } }'))["hashtag"] is None


async def test_the_language_is_detected_at_post_time_and_after_an_edit(api: Api) -> None:
    ada = await api.register("ada")
    french = await post(api, ada, "je suis tellement fatigué aujourd'hui, bonne nuit #dodo")
    await post(api, ada, "what a great game last night, well played everyone")
    await post(api, ada, "ok 👍")  # too short to tell: no language

    assert await texts(api, "lang:fr") == [french["text"]]
    assert await texts(api, "lang:en") == ["what a great game last night, well played everyone"]
    assert len(await texts(api, "-lang:fr -lang:en from:ada")) == 1

    await api.data(
        'mutation($id: ID!) { editTweet(input: {id: $id, text: "guten Morgen zusammen, '
        'ich habe heute keine Zeit"}) { errors { code } } }',
        {"id": french["id"]},
        token=ada.token,
    )
    assert await texts(api, "lang:fr") == []
    assert await texts(api, "lang:de") == ["guten Morgen zusammen, ich habe heute keine Zeit"]


async def test_lang_matches_words_in_any_inflection(api: Api) -> None:
    ada = await api.register("ada")
    running = "we were running along the river all morning, what a lovely day"
    await post(api, ada, running)
    french = "nous mangeons des pommes au jardin avec les enfants ce soir"
    await post(api, ada, french)

    assert await texts(api, "runs") == []  # as written, without a language
    assert await texts(api, "runs lang:en") == [running]
    assert await texts(api, '"run along" lang:en') == [running]
    assert await texts(api, "pomme") == []
    assert await texts(api, "pomme lang:fr") == [french]
    assert await texts(api, "pomme lang:en") == []
    assert await texts(api, "running -lang:en") == []
