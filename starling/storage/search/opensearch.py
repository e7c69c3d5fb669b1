"""Search in OpenSearch: the query tree becomes a bool query, and PostgreSQL has the last word.

OpenSearch finds and orders candidates; every candidate is then checked in PostgreSQL by the
same WHERE clause the PostgreSQL backend uses, plus the visibility rule and the viewer's mutes
and blocks (``PostgresSearch.recheck``). So the index never decides who sees what: a tweet
deleted, edited or hidden a moment ago, before the indexing worker caught up, is dropped, and a
viewer's follows and blocks (which would need a per-viewer index) are applied where they live.

The index holds only what a query filters or ranks on. Operators it cannot answer exactly
(``min_likes:``, ``min_retweets:``: counts change with every like) are left to the recheck: the
translation widens them to "anything", which keeps the candidates a superset of the answer.

Request bodies are built by pure functions (``tweet_search_body`` …) so their shape is tested
against recorded expectations without a cluster (tests/unit/test_opensearch_requests.py).
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime, time
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import OpenSearchException
from sqlalchemy import select

from starling.config import Settings
from starling.db import Database
from starling.errors import DomainError, ErrorCode
from starling.language import STEMMED
from starling.models.graph import Following
from starling.queries.pagination import Page, PageRequest, int_key
from starling.queries.users import users_by_usernames
from starling.records import TweetRecord, UserRecord
from starling.search_query import (
    And,
    From,
    Has,
    Hashtag,
    Is,
    Lang,
    Mentions,
    MinCount,
    Node,
    Not,
    Or,
    Since,
    To,
    Until,
    Words,
    walk,
)
from starling.storage.search import (
    HashtagUse,
    SearchSort,
    SearchUnavailable,
    Suggestions,
    name_query,
    stemmed_language,
)
from starling.storage.search.postgres import HALF_LIFE_HOURS, HASHTAG_WINDOW, PostgresSearch

TWEETS = "tweets"
USERS = "users"
# A page is filled from at most this many rounds of candidates (the recheck may drop some).
MAX_ROUNDS = 4
MAX_CANDIDATES_PER_ROUND = 400
# The follows that boost people search: the viewer's most recent ones.
FOLLOW_BOOST_LIMIT = 1_000
NO_USER = -1  # an unknown @name in a query matches nobody
# Ends a TOP cursor, whose four parts set it apart from the PostgreSQL backend's three: a
# client paging while search falls back gets a clear error, not a page ranked another way.
TOP_CURSOR_MARK = 1


def stemmed_field(language: str) -> str:
    return f"text_{language}"


_ANALYSIS: dict[str, Any] = {
    "filter": {"prefixes": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20}},
    "normalizer": {"lowercase": {"type": "custom", "filter": ["lowercase"]}},
    "analyzer": {
        # Like PostgreSQL's 'simple' configuration: words lowercased, no stemming, no stop words,
        # so both backends find the same tweets.
        "tweet_text": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
        # Autocomplete: every prefix of the whole username is a term, so a prefix query is one
        # term lookup instead of a scan of the term dictionary.
        "name_prefixes": {
            "type": "custom",
            "tokenizer": "keyword",
            "filter": ["lowercase", "prefixes"],
        },
        "word_prefixes": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "prefixes"],
        },
        "whole_name": {"type": "custom", "tokenizer": "keyword", "filter": ["lowercase"]},
    },
}
_MAPPINGS: dict[str, dict[str, Any]] = {
    TWEETS: {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "long"},
            "author_id": {"type": "long"},
            "author_protected": {"type": "boolean"},
            "text": {"type": "text", "analyzer": "tweet_text"},
            # The text again, stemmed, in the field of its language only (lang:xx queries).
            **{
                stemmed_field(code): {"type": "text", "analyzer": name}
                for code, name in sorted(STEMMED.items())
            },
            "hashtags": {"type": "keyword"},
            "mention_ids": {"type": "long"},
            "reply_to_user_id": {"type": "long"},
            "is_reply": {"type": "boolean"},
            "is_retweet": {"type": "boolean"},
            "has_media": {"type": "boolean"},
            "has_links": {"type": "boolean"},
            "has_poll": {"type": "boolean"},
            "lang": {"type": "keyword"},
            "created_at": {"type": "date"},
            "like_count": {"type": "integer"},
            "retweet_count": {"type": "integer"},
            "reply_count": {"type": "integer"},
        },
    },
    USERS: {
        "dynamic": "strict",
        "properties": {
            "id": {"type": "long"},
            "username": {
                "type": "keyword",
                "normalizer": "lowercase",
                "fields": {
                    "prefix": {
                        "type": "text",
                        "analyzer": "name_prefixes",
                        "search_analyzer": "whole_name",
                    }
                },
            },
            "display_name": {
                "type": "text",
                "analyzer": "tweet_text",
                "fields": {
                    "prefix": {
                        "type": "text",
                        "analyzer": "word_prefixes",
                        "search_analyzer": "tweet_text",
                    }
                },
            },
            "followers_count": {"type": "integer"},
            "protected": {"type": "boolean"},
        },
    },
}


def alias_name(prefix: str, kind: str) -> str:
    """What searches and the indexing worker use; ``starling reindex`` moves it to a new index."""
    return f"{prefix}-{kind}"


def index_template(prefix: str, kind: str) -> dict[str, Any]:
    """Every index named ``<prefix>-<kind>-*`` gets these analyzers and mappings."""
    return {
        "index_patterns": [f"{alias_name(prefix, kind)}-*"],
        "template": {
            "settings": {"analysis": _ANALYSIS, "number_of_shards": 1, "refresh_interval": "1s"},
            "mappings": _MAPPINGS[kind],
        },
    }


def client_for(settings: Settings) -> AsyncOpenSearch:
    assert settings.opensearch_url is not None
    return AsyncOpenSearch(
        hosts=[settings.opensearch_url],
        timeout=settings.opensearch_timeout_seconds,
        max_retries=0,  # a slow cluster is answered around by PostgreSQL, not retried into
    )


# -- Request bodies ---------------------------------------------------------------------------


def usernames_in(query: Node) -> list[str]:
    """The @names a query refers to, which the index knows by id."""
    return sorted(
        {leaf.username.lower() for leaf, _ in walk(query) if isinstance(leaf, From | To | Mentions)}
    )


def tweet_filter(
    node: Node, user_ids: dict[str, int], language: str | None = None
) -> dict[str, Any] | None:
    """``node`` as a query clause, or None for "cannot tell here: let the recheck decide".
    With a ``language``, words match as written or stemmed in its field (as in PostgreSQL)."""
    match node:
        case Words(text, phrase):
            fields = ["text"] + ([stemmed_field(language)] if language else [])
            clauses: list[dict[str, Any]] = [
                {"match_phrase": {field: text}}
                if phrase
                else {"match": {field: {"query": text, "operator": "and"}}}
                for field in fields
            ]
            if len(clauses) == 1:
                return clauses[0]
            return {"bool": {"should": clauses, "minimum_should_match": 1}}
        case Hashtag(tag):
            return {"term": {"hashtags": tag.lower()}}
        case Mentions(username):
            return {"term": {"mention_ids": user_ids.get(username.lower(), NO_USER)}}
        case From(username):
            return {"term": {"author_id": user_ids.get(username.lower(), NO_USER)}}
        case To(username):
            return {"term": {"reply_to_user_id": user_ids.get(username.lower(), NO_USER)}}
        case Since(day):
            return {"range": {"created_at": {"gte": _midnight(day)}}}
        case Until(day):
            return {"range": {"created_at": {"lt": _midnight(day)}}}
        case Has(what):
            return {"term": {f"has_{what}": True}}
        case Is(what):
            return {"term": {f"is_{what}": True}}
        case MinCount():
            return None
        case Lang(code):
            return {"term": {"lang": code}}
        case Not(part):
            inner = tweet_filter(part, user_ids, language)
            return None if inner is None else {"bool": {"must_not": [inner]}}
        case And(parts):
            known = [
                c for c in (tweet_filter(p, user_ids, language) for p in parts) if c is not None
            ]
            return {"bool": {"must": known}} if known else None
        case Or(parts):
            either = [tweet_filter(p, user_ids, language) for p in parts]
            if any(c is None for c in either):
                return None
            return {"bool": {"should": either, "minimum_should_match": 1}}
    raise AssertionError(f"unknown query node {node!r}")


def tweet_search_body(
    query: Node,
    user_ids: dict[str, int],
    viewer_id: int | None,
    sort: SearchSort,
    size: int,
    search_after: list[Any] | None,
    anchor: datetime,
) -> dict[str, Any]:
    """LATEST: newest first by id. TOP: text relevance x engagement x recency, the decay's
    origin fixed at ``anchor`` (the first page's time, carried in the cursor) so scores, and
    so the cursor, do not move while a client pages."""
    wants_retweets = any(leaf == Is("retweet") and not negated for leaf, negated in walk(query))
    filters: list[dict[str, Any]] = []
    if sort is SearchSort.TOP:
        filters.append({"range": {"created_at": {"lte": _iso(anchor)}}})
    if not wants_retweets:
        filters.append({"term": {"is_retweet": False}})
    if viewer_id is None:
        filters.append({"term": {"author_protected": False}})  # signed out: never visible
    # With no clause, match_all gives every candidate the same relevance (a bool of filters
    # alone would score 0, and the products below with it).
    clause = tweet_filter(query, user_ids, stemmed_language(query)) or {"match_all": {}}
    matches: dict[str, Any] = {"bool": {"must": [clause], "filter": filters}}
    body: dict[str, Any] = {"size": size, "_source": False, "track_total_hits": False}
    if sort is SearchSort.LATEST:
        body |= {"query": matches, "sort": [{"id": "desc"}]}
    else:
        body |= {
            "query": {
                "function_score": {
                    "query": matches,
                    "functions": [
                        {
                            "script_score": {
                                "script": {
                                    "source": "Math.log(2 + doc['like_count'].value"
                                    " + 2 * doc['retweet_count'].value"
                                    " + doc['reply_count'].value)"
                                }
                            }
                        },
                        {
                            "exp": {
                                "created_at": {
                                    "origin": _iso(anchor),
                                    "scale": f"{int(HALF_LIFE_HOURS)}h",
                                    "decay": 0.5,
                                }
                            }
                        },
                    ],
                    "score_mode": "multiply",
                    "boost_mode": "multiply",
                }
            },
            "sort": [{"_score": "desc"}, {"id": "desc"}],
        }
    if search_after is not None:
        body["search_after"] = search_after
    return body


def user_search_body(
    wanted: str, followed: list[int], size: int, search_after: list[Any] | None
) -> dict[str, Any]:
    """Exact username, then username prefix, then close names; followed accounts lifted,
    popular ones a little. Each clause scores a constant, so the order does not depend on the
    index's term statistics."""

    def worth(points: int, clause: dict[str, Any]) -> dict[str, Any]:
        return {"constant_score": {"filter": clause, "boost": points}}

    matches = [
        worth(1000, {"term": {"username": wanted}}),
        worth(100, {"match": {"username.prefix": wanted}}),
        worth(10, {"match": {"display_name.prefix": {"query": wanted, "operator": "and"}}}),
        worth(10, {"fuzzy": {"username": {"value": wanted, "fuzziness": "AUTO"}}}),
        worth(10, {"match": {"display_name": {"query": wanted, "fuzziness": "AUTO"}}}),
    ]
    lifts = [worth(50, {"terms": {"id": followed}})] if followed else []
    body: dict[str, Any] = {
        "size": size,
        "_source": False,
        "track_total_hits": False,
        "query": {
            "function_score": {
                "query": {
                    "bool": {
                        "must": [{"bool": {"should": matches, "minimum_should_match": 1}}],
                        "should": lifts,
                    }
                },
                "field_value_factor": {
                    "field": "followers_count",
                    "modifier": "log1p",
                    "missing": 0,
                },
                "boost_mode": "sum",
            }
        },
        "sort": [{"_score": "desc"}, {"id": "desc"}],
    }
    if search_after is not None:
        body["search_after"] = search_after
    return body


def user_prefix_body(prefix: str, size: int) -> dict[str, Any]:
    return {
        "size": size,
        "_source": False,
        "track_total_hits": False,
        "query": {"bool": {"filter": [{"match": {"username.prefix": prefix}}]}},
        "sort": [{"followers_count": "desc"}, {"id": "asc"}],
    }


def hashtag_prefix_body(prefix: str, size: int, now: datetime) -> dict[str, Any]:
    """Hashtags starting with ``prefix``, by the tweets that used them in the recent window."""
    if not all(c.isalnum() or c == "_" for c in prefix):
        raise ValueError("a hashtag prefix is letters, digits and underscores")  # regex-safe
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {
            "bool": {
                "filter": [
                    {"prefix": {"hashtags": prefix}},
                    {"range": {"created_at": {"gte": _iso(now - HASHTAG_WINDOW)}}},
                ]
            }
        },
        "aggs": {
            "tags": {
                "terms": {
                    "field": "hashtags",
                    "include": f"{prefix}.*",
                    "size": size,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        },
    }


# -- The backend ------------------------------------------------------------------------------


class OpenSearchSearch:
    name = "opensearch"

    def __init__(self, client: AsyncOpenSearch, prefix: str, postgres: PostgresSearch) -> None:
        self.client = client
        self.prefix = prefix
        self.postgres = postgres
        self.db: Database = postgres.db

    async def search_tweets(
        self, query: Node, viewer_id: int | None, sort: SearchSort, request: PageRequest
    ) -> Page[TweetRecord]:
        user_ids = await self._user_ids(usernames_in(query))
        if sort is SearchSort.LATEST:
            after = int_key(request)
            search_after: list[Any] | None = [after[0]] if after else None
            anchor = datetime.now(UTC)
        else:
            after = int_key(request, 4)
            if after is not None and after[3] != TOP_CURSOR_MARK:
                raise _invalid_cursor()
            search_after = [_float_of(after[0]), after[1]] if after else None
            anchor = datetime.fromtimestamp(after[2] / 1000, UTC) if after else datetime.now(UTC)
        anchor_ms = int(anchor.timestamp() * 1000)

        found: list[TweetRecord] = []
        keys: list[tuple[int | str, ...]] = []
        size = min(2 * (request.first + 1), MAX_CANDIDATES_PER_ROUND)
        for _ in range(MAX_ROUNDS):
            body = tweet_search_body(query, user_ids, viewer_id, sort, size, search_after, anchor)
            hits = await self._hits(TWEETS, body)
            if not hits:
                break
            passed = await self.postgres.recheck(query, viewer_id, [int(h["_id"]) for h in hits])
            for hit in hits:
                record = passed.get(int(hit["_id"]))
                if record is not None:
                    found.append(record)
                    keys.append(_tweet_key(sort, hit["sort"], anchor_ms))
            if len(found) > request.first or len(hits) < size:
                break
            search_after = hits[-1]["sort"]
            size = min(size * 2, MAX_CANDIDATES_PER_ROUND)
        return Page(found[: request.first], keys[: request.first], len(found) > request.first)

    async def search_users(
        self, text: str, viewer_id: int | None, request: PageRequest
    ) -> Page[UserRecord]:
        wanted = name_query(text)
        after = int_key(request, 2)
        search_after: list[Any] | None = [_float_of(after[0]), after[1]] if after else None
        followed = await self._followed(viewer_id)
        found: list[UserRecord] = []
        keys: list[tuple[int | str, ...]] = []
        size = request.first + 1
        for _ in range(MAX_ROUNDS):
            hits = await self._hits(USERS, user_search_body(wanted, followed, size, search_after))
            if not hits:
                break
            passed = await self.postgres.users_not_blocked(viewer_id, [int(h["_id"]) for h in hits])
            for hit in hits:
                record = passed.get(int(hit["_id"]))
                if record is not None:
                    found.append(record)
                    keys.append((_bits_of(hit["sort"][0]), int(hit["sort"][1])))
            if len(found) > request.first or len(hits) < size:
                break
            search_after = hits[-1]["sort"]
        return Page(found[: request.first], keys[: request.first], len(found) > request.first)

    async def suggest(
        self, prefix: str, viewer_id: int | None, users: int, hashtags: int
    ) -> Suggestions:
        wanted = prefix.lower()
        found_users: list[UserRecord] = []
        found_tags: list[HashtagUse] = []
        if users:
            # A few spare, for accounts the recheck drops (blocks).
            hits = await self._hits(USERS, user_prefix_body(wanted, users + 5))
            passed = await self.postgres.users_not_blocked(viewer_id, [int(h["_id"]) for h in hits])
            found_users = [passed[i] for i in (int(h["_id"]) for h in hits) if i in passed][:users]
        if hashtags:
            answer = await self._search(
                TWEETS, hashtag_prefix_body(wanted, hashtags, datetime.now(UTC))
            )
            found_tags = [
                HashtagUse(bucket["key"], bucket["doc_count"])
                for bucket in answer["aggregations"]["tags"]["buckets"]
            ]
        return Suggestions(found_users, found_tags)

    async def _hits(self, kind: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        answer = await self._search(kind, body)
        hits: list[dict[str, Any]] = answer["hits"]["hits"]
        return hits

    async def _search(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = await self.client.search(
                index=alias_name(self.prefix, kind), body=body
            )
        except (TimeoutError, OpenSearchException, OSError) as exc:
            raise SearchUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return answer

    async def _user_ids(self, usernames: list[str]) -> dict[str, int]:
        if not usernames:
            return {}
        found = await users_by_usernames(self.db, usernames)
        return {name: user.id for name, user in zip(usernames, found, strict=True) if user}

    async def _followed(self, viewer_id: int | None) -> list[int]:
        if viewer_id is None:
            return []
        statement = (
            select(Following.following_id)
            .where(Following.user_id == viewer_id)
            .order_by(Following.created_at.desc())
            .limit(FOLLOW_BOOST_LIMIT)
        )
        return [row.following_id for row in await self.db.rows(statement)]


def _tweet_key(sort: SearchSort, hit_sort: list[Any], anchor_ms: int) -> tuple[int, ...]:
    if sort is SearchSort.LATEST:
        return (int(hit_sort[0]),)
    return (_bits_of(hit_sort[0]), int(hit_sort[1]), anchor_ms, TOP_CURSOR_MARK)


def _bits_of(score: float) -> int:
    """A score as the 64-bit integer with the same bits: cursors carry integers, exactly."""
    bits: int = struct.unpack("<q", struct.pack("<d", float(score)))[0]
    return bits


def _float_of(bits: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<q", bits))[0]
    if not math.isfinite(value):
        raise _invalid_cursor()
    return value


def _invalid_cursor() -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, "This cursor is not for this list.", "after")


def _midnight(day: Any) -> str:
    return _iso(datetime.combine(day, time(), UTC))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
