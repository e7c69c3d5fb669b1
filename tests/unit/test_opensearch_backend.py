"""The OpenSearch backend's own logic against real PostgreSQL: candidates rechecked and pages
refilled, cursors, falling back, and the indexing consumer's writes.

OpenSearch cannot run on the development machines, so ``FakeCluster`` stands in for the client:
it answers searches with scripted hits and keeps bulk writes in a dict, recording every request.
What a real cluster does with the requests is the contract suite's job when
``STARLING_TEST_OPENSEARCH_URL`` is set (tests/e2e/test_search.py).
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace
from typing import Any

import pytest
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.serializer import JSONSerializer
from sqlalchemy import text

from starling.events import (
    FollowCreated,
    ProfileChanged,
    ProtectionChanged,
    TweetEdited,
    TweetLiked,
    TweetPosted,
    TweetRemoved,
)
from starling.queries.pagination import encode_cursor, page_request
from starling.search_query import parse
from starling.services import search_indexing
from starling.storage.search import Searcher, SearchSort, SearchUnavailable
from starling.storage.search.opensearch import OpenSearchSearch
from starling.storage.search.opensearch_index import OpenSearchIndex
from starling.storage.search.postgres import PostgresSearch
from tests.support import Account, Api, db_id, ok, post


class FakeIndices:
    def __init__(self) -> None:
        self.aliases: set[str] = set()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def put_index_template(self, **kwargs: Any) -> None:
        self.calls.append(("put_index_template", kwargs))

    async def exists_alias(self, *, name: str) -> bool:
        return name in self.aliases

    async def create(self, *, index: str, body: dict[str, Any]) -> None:
        self.calls.append(("create", {"index": index, **body}))
        self.aliases.update(body.get("aliases", {}))


class FakeCluster:
    """The client's surface the backend uses: search, bulk, update_by_query, indices."""

    def __init__(self, pages: list[list[tuple[int, list[Any]]]] | None = None) -> None:
        self.pages = pages or []
        self.searches: list[dict[str, Any]] = []
        self.documents: dict[str, dict[str, dict[str, Any]]] = {}
        self.updates: list[dict[str, Any]] = []
        self.indices = FakeIndices()
        self.transport = SimpleNamespace(serializer=JSONSerializer())
        self.down = False

    async def search(self, *, index: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.down:
            raise OpenSearchConnectionError("N/A", "Connection refused", None)
        self.searches.append(body)
        hits = self.pages.pop(0) if self.pages else []
        return {"hits": {"hits": [{"_id": str(i), "sort": sort} for i, sort in hits]}}

    async def bulk(self, *, body: str, **_: Any) -> dict[str, Any]:
        lines = [json.loads(line) for line in body.splitlines() if line]
        items = []
        while lines:
            [(op, meta)] = lines.pop(0).items()
            stored = self.documents.setdefault(meta["_index"], {})
            if op == "index":
                stored[meta["_id"]] = lines.pop(0)
                status = 201
            else:
                status = 200 if stored.pop(meta["_id"], None) else 404
            items.append({op: {**meta, "status": status}})
        return {"errors": any(i[op]["status"] >= 300 for i in items), "items": items}

    async def update_by_query(self, *, index: str, body: dict[str, Any], **_: Any) -> None:
        self.updates.append(body)


def backend(app: Any, cluster: FakeCluster) -> OpenSearchSearch:
    return OpenSearchSearch(cluster, "t", PostgresSearch(app.state.core.db))  # type: ignore[arg-type]


async def test_candidates_are_rechecked_in_postgres_and_a_short_page_is_refilled(
    api: Api, app: Any
) -> None:
    ada = await api.register("ada")
    hidden = await api.register("hidden")
    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }",
        token=hidden.token,
    )
    one, two, three = [db_id((await post(api, ada, f"zebra {n}"))["id"]) for n in range(3)]
    other = db_id((await post(api, ada, "giraffe"))["id"])
    secret = db_id((await post(api, hidden, "zebra secret"))["id"])
    gone = await post(api, ada, "zebra gone")
    await ok(api, ada, "deleteTweet", gone["id"])

    # Round one: four candidates (size 2 x (first + 1)), of which only ``three`` passes: a
    # protected author, a deleted tweet, an id that never existed, a tweet the words miss.
    cluster = FakeCluster(
        [
            [(secret, [secret]), (db_id(gone["id"]), [9]), (three, [8]), (10**15, [7])],
            [(other, [6]), (two, [5]), (one, [4])],
        ]
    )
    page = await backend(app, cluster).search_tweets(
        parse("zebra"), None, SearchSort.LATEST, page_request(1, None)
    )
    assert [t.id for t in page.items] == [three]
    assert page.keys == [(8,)]
    assert page.has_next_page
    assert [s["size"] for s in cluster.searches] == [4, 8]
    assert cluster.searches[1]["search_after"] == [7]  # on from the last candidate seen


async def test_a_top_cursor_carries_the_exact_score_and_the_decay_origin(
    api: Api, app: Any
) -> None:
    ada = await api.register("ada")
    first, second = [db_id((await post(api, ada, f"top {n}"))["id"]) for n in range(2)]
    score = 0.1 + 0.2  # not exact in decimal: the cursor must carry its bits
    cluster = FakeCluster([[(first, [score, first]), (second, [0.25, second])], []])
    search = backend(app, cluster)
    page = await search.search_tweets(parse("top"), None, SearchSort.TOP, page_request(1, None))
    assert [t.id for t in page.items] == [first]
    assert page.has_next_page
    cursor = encode_cursor(page.keys[0])
    await search.search_tweets(parse("top"), None, SearchSort.TOP, page_request(1, cursor))
    origin = [
        s["query"]["function_score"]["functions"][1]["exp"]["created_at"]["origin"]
        for s in cluster.searches
    ]
    assert cluster.searches[1]["search_after"] == [score, first]
    assert origin[0] == origin[1]  # the second page ranks as of the first page's time

    # A PostgreSQL TOP cursor (three parts) is not one of these, and a score that is not a
    # number is refused before anything is sent.
    for wrong in (encode_cursor((1, 2, 3)), encode_cursor((0x7FF8000000000000, 1, 1, 1))):
        with pytest.raises(Exception, match="not for this list"):
            await search.search_tweets(parse("top"), None, SearchSort.TOP, page_request(1, wrong))


async def test_while_the_cluster_is_down_postgres_answers_and_says_so(api: Api, app: Any) -> None:
    ada = await api.register("ada")
    await post(api, ada, "fallback words")
    cluster = FakeCluster()
    cluster.down = True
    postgres = PostgresSearch(app.state.core.db)
    searcher = Searcher(backend(app, cluster), fallback=postgres)
    with pytest.raises(SearchUnavailable):
        await backend(app, cluster).search_tweets(
            parse("fallback"), None, SearchSort.LATEST, page_request(5, None)
        )
    for _ in range(2):  # the second is not even tried on the cluster (skipped for a while)
        searched = await searcher.search_tweets(
            parse("fallback"), None, SearchSort.LATEST, page_request(5, None)
        )
        assert [t.text for t in searched.value.items] == ["fallback words"]
        assert searched.backend == "postgres"
        assert searched.fallback_reason == "opensearch is unavailable; answered from postgres"
    cluster.down = False
    healthy = await Searcher(backend(app, cluster), fallback=postgres).search_users(
        "ada", None, page_request(5, None)
    )
    assert healthy.backend == "opensearch"
    assert healthy.fallback_reason is None


async def test_the_indexing_consumer_writes_what_postgres_holds_now(api: Api, app: Any) -> None:
    cluster = FakeCluster()
    index = OpenSearchIndex(cluster, "t", app.state.core.db)  # type: ignore[arg-type]
    core = dataclasses.replace(app.state.core, search_index=index)
    tweets = cluster.documents.setdefault("t-tweets", {})
    users = cluster.documents.setdefault("t-users", {})

    async def deliver(*events: Any) -> None:
        for event in events:
            await search_indexing.handle(core, event)

    ada: Account = await api.register("ada", display_name="Ada L")
    bob: Account = await api.register("bob")
    ada_id, bob_id = db_id(ada.id), db_id(bob.id)
    root = await post(api, ada, "hello https://example.com #Intro @bob")
    root_id = db_id(root["id"])
    reply = await post(api, bob, "welcome", replyToId=root["id"])
    reply_id = db_id(reply["id"])
    await deliver(
        ProfileChanged(user_id=ada_id),
        TweetPosted(tweet_id=root_id, author_id=ada_id),
        TweetPosted(tweet_id=reply_id, author_id=bob_id),
    )
    # The first write made the templates and an index behind each alias.
    assert cluster.indices.aliases == {"t-tweets", "t-users"}
    doc = tweets[str(root_id)]
    assert doc["hashtags"] == ["intro"]
    assert doc["mention_ids"] == [bob_id]
    assert doc["has_links"]
    assert not doc["is_reply"]
    assert doc["reply_count"] == 1
    assert tweets[str(reply_id)]["is_reply"]
    assert tweets[str(reply_id)]["reply_to_user_id"] == ada_id
    assert users[str(ada_id)]["display_name"] == "Ada L"

    await ok(api, bob, "likeTweet", root["id"])
    await ok(api, bob, "followUser", ada.id)
    await api.data(
        'mutation($id: ID!) { editTweet(input: {id: $id, text: "edited words"}) '
        "{ errors { code } } }",
        {"id": root["id"]},
        token=ada.token,
    )
    await deliver(
        TweetLiked(tweet_id=root_id, author_id=ada_id, user_id=bob_id),
        FollowCreated(follower_id=bob_id, followee_id=ada_id),
        TweetEdited(tweet_id=root_id, author_id=ada_id),
        TweetEdited(tweet_id=root_id, author_id=ada_id),  # twice: the same document
    )
    assert tweets[str(root_id)]["text"] == "edited words"
    assert tweets[str(root_id)]["like_count"] == 1
    assert users[str(ada_id)]["followers_count"] == 1

    await api.data(
        "mutation { updateProfile(input: {protected: true}) { errors { code } } }",
        token=ada.token,
    )
    await ok(api, ada, "deleteTweet", root["id"])
    await deliver(
        ProtectionChanged(user_id=ada_id, protected=True),
        TweetRemoved(tweet_id=root_id, author_id=ada_id),
        TweetRemoved(tweet_id=root_id, author_id=ada_id),  # a delete of nothing is fine
    )
    assert str(root_id) not in tweets
    assert cluster.updates[0]["query"] == {"term": {"author_id": ada_id}}
    assert cluster.updates[0]["script"]["params"] == {"protected": True}
    assert users[str(ada_id)]["protected"] is True


async def test_the_search_consumer_runs_only_where_opensearch_is_configured(
    api: Api, app: Any, test_settings: Any
) -> None:
    from starling.consumers import consumers_of

    with_cluster = test_settings.model_copy(update={"opensearch_url": "http://127.0.0.1:9"})
    assert "search" in consumers_of(TweetPosted.kind, with_cluster)
    assert "search" not in consumers_of(TweetPosted.kind, test_settings)
    ada = await api.register("ada")
    await post(api, ada, "no cluster here")
    [row] = await app.state.core.db.rows(
        text("SELECT count(*) AS n FROM outbox_deliveries WHERE consumer = 'search'")
    )
    assert row.n == 0
