"""Search behind one interface: tweets by the query language, people, and autocomplete.

``postgres`` (the default) answers from the source of truth with a generated ``tsvector`` and
pg_trgm indexes; ``opensearch`` (when ``STARLING_OPENSEARCH_URL`` is set) from indexes a worker
keeps in step with the outbox. A backend takes a parsed query (``starling.search_query``) and
returns pages of records that already passed the visibility rule for the viewer.

``Searcher`` is what the API calls: the configured backend, and PostgreSQL while it is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from starling.errors import DomainError, ErrorCode
from starling.language import STEMMED
from starling.queries.pagination import Page, PageRequest
from starling.records import TweetRecord, UserRecord
from starling.search_query import Lang, Node, walk

AUTOCOMPLETE_MAX = 20
MAX_NAME_QUERY = 50
# After a failure the backend is skipped this long, so a cluster that is down costs one timeout,
# not one per request.
RETRY_BACKEND_AFTER_SECONDS = 10.0

log = logging.getLogger(__name__)
T = TypeVar("T")


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


def stemmed_language(query: Node) -> str | None:
    """The language whose stems the words may match: the query's one ``lang:`` (not negated),
    when it has a stemmer."""
    wanted = {leaf.code for leaf, negated in walk(query) if isinstance(leaf, Lang) and not negated}
    return wanted.pop() if len(wanted) == 1 and next(iter(wanted)) in STEMMED else None


def name_query(text: str) -> str:
    """What people search is given: without a leading @, lowercased, not empty, not too long."""
    wanted = text.strip().lstrip("@").lower()
    if not wanted:
        raise DomainError(ErrorCode.BAD_USER_INPUT, "The query is empty.", "query")
    if len(wanted) > MAX_NAME_QUERY:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT, f"A query is at most {MAX_NAME_QUERY} characters.", "query"
        )
    return wanted


class SearchUnavailable(Exception):
    """The backend could not answer (down, timing out, or refusing); another one may."""


@dataclass(frozen=True)
class Searched(Generic[T]):
    """An answer, and why it came from the fallback backend when it did."""

    value: T
    backend: str
    fallback_reason: str | None = None


class Searcher:
    """The configured backend, with PostgreSQL answering while it is unavailable."""

    def __init__(self, primary: SearchBackend, fallback: SearchBackend | None = None) -> None:
        self.primary = primary
        self.fallback = fallback
        self._skip_until = 0.0

    async def search_tweets(
        self, query: Node, viewer_id: int | None, sort: SearchSort, request: PageRequest
    ) -> Searched[Page[TweetRecord]]:
        return await self._answer(lambda b: b.search_tweets(query, viewer_id, sort, request))

    async def search_users(
        self, text: str, viewer_id: int | None, request: PageRequest
    ) -> Searched[Page[UserRecord]]:
        return await self._answer(lambda b: b.search_users(text, viewer_id, request))

    async def suggest(
        self, prefix: str, viewer_id: int | None, users: int, hashtags: int
    ) -> Searched[Suggestions]:
        return await self._answer(lambda b: b.suggest(prefix, viewer_id, users, hashtags))

    async def _answer(self, ask: Callable[[SearchBackend], Awaitable[T]]) -> Searched[T]:
        if self.fallback is None:
            return Searched(await ask(self.primary), self.primary.name)
        if time.monotonic() >= self._skip_until:
            try:
                return Searched(await ask(self.primary), self.primary.name)
            except SearchUnavailable as exc:
                # The detail (hosts, ports) is for the operator's log, not for clients.
                log.warning(
                    "search: %s unavailable, answering from %s for %.0f s: %s",
                    self.primary.name,
                    self.fallback.name,
                    RETRY_BACKEND_AFTER_SECONDS,
                    exc,
                )
                self._skip_until = time.monotonic() + RETRY_BACKEND_AFTER_SECONDS
        reason = f"{self.primary.name} is unavailable; answered from {self.fallback.name}"
        return Searched(await ask(self.fallback), self.fallback.name, reason)
