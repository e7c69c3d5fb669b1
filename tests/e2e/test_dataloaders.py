"""No N+1: the statements a page of tweets costs do not grow with the page size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.support import TWEET_FIELDS, Account, Api, ok, post

PAGE = f"""
query($first: Int!) {{
  user(username: "author") {{
    tweetsCount followersCount viewerIsFollowing
    tweets(first: $first, includeReplies: true) {{
      edges {{ cursor node {{ {TWEET_FIELDS} quoted {{ id author {{ username }} likeCount }} }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""


@contextmanager
def count_statements(app: Any) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.state.core.db.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
async def busy_author(api: Api) -> tuple[Account, Account]:
    author = await api.register("author")
    viewer = await api.register("viewer")
    others = [await api.register(f"other{i}") for i in range(3)]
    await ok(api, viewer, "followUser", author.id)
    seed = await post(api, others[0], "seed #topic")
    for i in range(55):
        fields: dict[str, Any] = {}
        if i % 3 == 0:
            fields["quoteOfId"] = seed["id"]
        if i % 5 == 0:
            fields["replyToId"] = seed["id"]
        # The quoted tweet's author (other0) is not mentioned, so whether the user loader meets
        # it through mentions or through quoted.author does not depend on timing.
        tweet = await post(api, author, f"tweet {i} #tag{i % 4} @other{1 + i % 2}", **fields)
        if i % 2 == 0:
            await ok(api, viewer, "likeTweet", tweet["id"])
        if i % 7 == 0:
            await ok(api, others[1], "retweet", tweet["id"])
    return author, viewer


async def test_statements_do_not_grow_with_page_size(
    api: Api, app: Any, busy_author: tuple[Account, Account]
) -> None:
    _, viewer = busy_author
    await api.data("{ viewer { id } }", token=viewer.token)  # caches the session lookup
    counts = {}
    for first in (5, 50):
        with count_statements(app) as statements:
            data = await api.data(PAGE, {"first": first}, viewer.token)
        assert len(data["user"]["tweets"]["edges"]) == first
        counts[first] = len(statements)
    assert counts[5] == counts[50], counts
    assert counts[50] <= 12, counts


# One root field a request: root fields resolve concurrently, so in one request whether two of
# them share a dataloader batch would depend on timing.
SEARCH_PAGES = {
    "searchTweets": f"""
query($first: Int!, $sort: SearchSort!) {{
  searchTweets(query: "tweet", sort: $sort, first: $first) {{
    edges {{ cursor node {{ {TWEET_FIELDS} quoted {{ id author {{ username }} likeCount }} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
""",
    "searchUsers": """
query($first: Int!) {
  searchUsers(query: "other", first: $first) {
    edges { node { username followersCount viewerIsFollowing } }
  }
}
""",
    "hashtag": f"""
query($first: Int!) {{
  hashtag(name: "tag1") {{
    tweetCount tweets(first: $first) {{ edges {{ node {{ {TWEET_FIELDS} }} }} }}
  }}
}}
""",
    "autocomplete": """
query($first: Int!) {
  autocomplete(prefix: "@o", limit: $first) {
    ... on UserSuggestion { user { username followersCount } }
  }
}
""",
}
RESULTS = {
    "searchTweets": lambda data, first: len(data["searchTweets"]["edges"]) == first,
    "searchUsers": lambda data, first: len(data["searchUsers"]["edges"]) == 3,
    "hashtag": lambda data, first: len(data["hashtag"]["tweets"]["edges"]) == first,
    "autocomplete": lambda data, first: len(data["autocomplete"]) == 3,
}


@pytest.mark.parametrize(
    ("page", "sort"),
    [("searchTweets", "LATEST"), ("searchTweets", "TOP"), *((p, None) for p in list(RESULTS)[1:])],
)
async def test_search_pages_do_not_grow_with_page_size(
    api: Api, app: Any, busy_author: tuple[Account, Account], page: str, sort: str | None
) -> None:
    _, viewer = busy_author
    await api.data("{ viewer { id } }", token=viewer.token)
    counts = {}
    for first in (3, 13):
        variables: dict[str, Any] = {"first": first, **({"sort": sort} if sort else {})}
        with count_statements(app) as statements:
            data = await api.data(SEARCH_PAGES[page], variables, viewer.token)
        assert RESULTS[page](data, first), data
        counts[first] = len(statements)
    assert counts[3] == counts[13], counts
