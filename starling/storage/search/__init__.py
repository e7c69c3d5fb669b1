"""Search behind one interface: tweets by the query language, people, and autocomplete.

``postgres`` (the default) answers from the source of truth with a generated ``tsvector`` and
pg_trgm indexes. A backend takes a parsed query (``starling.search_query``) and returns pages of
records that already passed the visibility rule for the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from starling.queries.pagination import Page, PageRequest
from starling.records import TweetRecord, UserRecord
from starling.search_query import Node

AUTOCOMPLETE_MAX = 20
MAX_NAME_QUERY = 50


class SearchSort(StrEnum):
    TOP = "top"  # relevance x engagement x recency
    LATEST = "latest"


@dataclass(frozen=True)
class HashtagUse:
    name: str
    tweet_count: int  # tweets that used it in the recent window


@dataclass(frozen=True)
class Suggestions:
    users: list[UserRecord]
    hashtags: list[HashtagUse]


class SearchBackend(Protocol):
    name: str

    async def search_tweets(
        self, query: Node, viewer_id: int | None, sort: SearchSort, request: PageRequest
    ) -> Page[TweetRecord]: ...

    async def search_users(
        self, text: str, viewer_id: int | None, request: PageRequest
    ) -> Page[UserRecord]: ...

    async def suggest(
        self, prefix: str, viewer_id: int | None, users: int, hashtags: int
    ) -> Suggestions: ...
