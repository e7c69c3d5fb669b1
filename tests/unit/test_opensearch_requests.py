"""What the OpenSearch backend sends, compared with recorded expectations.

OpenSearch cannot run on the development machines, so the shape of every request body (and of
the index templates and documents) is pinned here: a change to any of them shows up as a diff
against ``tests/unit/opensearch_requests/<case>.json``, to be read and re-recorded on purpose with
``STARLING_RECORD_REQUESTS=1 pytest tests/unit/test_opensearch_requests.py``. The integration run
of the search contract (tests/e2e/test_search.py with ``STARLING_TEST_OPENSEARCH_URL``) checks
that a real cluster answers them as intended.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from starling.queries.tweets import TweetCounts
from starling.records import TweetRecord, UserRecord
from starling.search_query import parse
from starling.storage.search import SearchSort
from starling.storage.search.opensearch import (
    TWEETS,
    USERS,
    hashtag_prefix_body,
    index_template,
    tweet_filter,
    tweet_search_body,
    user_prefix_body,
    user_search_body,
    usernames_in,
)
from starling.storage.search.opensearch_index import tweet_document, user_document

RECORDED = Path(__file__).parent / "opensearch_requests"
ANCHOR = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
IDS = {"ada": 7, "bob": 8}


def _tweet(**changes: Any) -> TweetRecord:
    fields: dict[str, Any] = {
        "id": 101,
        "author_id": 7,
        "text": "Reading https://example.com/a #Books with @bob",
        "lang": "en",
        "reply_to_tweet_id": 90,
        "reply_to_user_id": 8,
        "conversation_id": 90,
        "quote_of_tweet_id": None,
        "retweet_of_tweet_id": None,
        "edit_count": 0,
        "created_at": ANCHOR,
        "edited_at": None,
        "deleted_at": None,
    }
    return TweetRecord(**(fields | changes))


CASES: dict[str, Callable[[], Any]] = {
    "latest_every_operator": lambda: tweet_search_body(
        parse(
            'quick "brown fox" -#cats from:ada to:bob @nobody since:2026-01-01 until:2026-02-01 '
            "has:links -has:media is:reply -lang:fr"
        ),
        IDS,
        viewer_id=None,
        sort=SearchSort.LATEST,
        size=21,
        search_after=None,
        anchor=ANCHOR,
    ),
    "latest_signed_in_after_a_cursor": lambda: tweet_search_body(
        parse("dog"),
        {},
        viewer_id=3,
        sort=SearchSort.LATEST,
        size=41,
        search_after=[555],
        anchor=ANCHOR,
    ),
    "top_with_retweets_and_a_cursor": lambda: tweet_search_body(
        parse("dog OR cat is:retweet"),
        {},
        viewer_id=3,
        sort=SearchSort.TOP,
        size=21,
        search_after=[1.25, 99],
        anchor=ANCHOR,
    ),
    "top_operators_only": lambda: tweet_search_body(
        parse("#news"),
        {},
        viewer_id=None,
        sort=SearchSort.TOP,
        size=11,
        search_after=None,
        anchor=ANCHOR,
    ),
    # Counts are left to the recheck: an OR with one, or its negation, cannot narrow here.
    "counts_widen_to_anything": lambda: [
        tweet_filter(parse("(dog OR min_likes:3) -min_retweets:2 cat"), {}),
        tweet_filter(parse("min_likes:3"), {}),
    ],
    "words_stemmed_in_the_query_language": lambda: tweet_filter(
        parse('runs "run along" -(cats OR dogs) lang:en'), {}, "en"
    ),
    "users_with_follows": lambda: user_search_body("ada", [4, 5], 11, None),
    "users_after_a_cursor": lambda: user_search_body("ada", [], 3, [1012.5, 40]),
    "user_prefix": lambda: user_prefix_body("ad", 8),
    "hashtag_prefix": lambda: hashtag_prefix_body("adv", 10, ANCHOR),
    "template_tweets": lambda: index_template("starling", TWEETS),
    "template_users": lambda: index_template("starling", USERS),
    "document_tweet": lambda: tweet_document(
        _tweet(), False, ["books"], [8], True, TweetCounts(like_count=3, retweet_count=1)
    ),
    "document_retweet": lambda: tweet_document(
        _tweet(
            id=102,
            text="",
            reply_to_tweet_id=None,
            reply_to_user_id=None,
            retweet_of_tweet_id=5,
            lang=None,
        ),
        True,
        [],
        [],
        False,
        TweetCounts(),
    ),
    "document_user": lambda: user_document(
        UserRecord(
            id=7,
            username="Ada",
            email="ada@example.com",
            display_name="Ada Lovelace",
            bio=None,
            location=None,
            website=None,
            region=None,
            verified=False,
            protected=False,
            created_at=ANCHOR,
        ),
        42,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_request_matches_the_recording(case: str) -> None:
    built = json.loads(json.dumps(CASES[case]()))  # as it goes over the wire
    path = RECORDED / f"{case}.json"
    if os.environ.get("STARLING_RECORD_REQUESTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(built, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no recording for {case}: run with STARLING_RECORD_REQUESTS=1"
    assert built == json.loads(path.read_text())


def test_every_recording_has_a_case() -> None:
    assert {path.stem for path in RECORDED.glob("*.json")} == set(CASES)


def test_the_names_a_query_refers_to_are_looked_up_once() -> None:
    assert usernames_in(parse("from:Ada to:bob @ADA -from:carol")) == ["ada", "bob", "carol"]
