"""Keeping OpenSearch's indexes in step with PostgreSQL: documents, bulk writes, rebuilds.

Each kind (tweets, users) is an alias over one concrete index, ``<prefix>-<kind>-<stamp>``, made
from the index template. Writes go through the alias; ``build`` fills a fresh index beside the
live one and ``swap`` moves the alias in one atomic step, so searches never see a half-built
index (``starling.services.search_indexing.reindex`` runs the whole rebuild).

Every write reads the current row from PostgreSQL, so running one twice, or late, writes the
same document; a row that is gone (or deleted) is deleted from the index.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError, RequestError
from opensearchpy.helpers import async_bulk
from sqlalchemy import any_, select, text

from starling.db import Database
from starling.language import STEMMED
from starling.models import Tweet, TweetMedia, User
from starling.queries.common import ids_param
from starling.queries.tweets import (
    TweetCounts,
    hashtags_by_tweet_ids,
    mentioned_users_by_tweet_ids,
    tweet_counts,
)
from starling.queries.users import user_counts, users_by_ids
from starling.records import TWEET_COLUMNS, TweetRecord, UserRecord
from starling.storage.search.opensearch import (
    TWEETS,
    USERS,
    alias_name,
    index_template,
    stemmed_field,
)

KINDS = (TWEETS, USERS)
BATCH = 500
_LINK = re.compile(r"https?://", re.IGNORECASE)


class IndexWriteFailed(Exception):
    """OpenSearch refused some documents; the delivery fails and is retried."""


def tweet_document(
    tweet: TweetRecord,
    author_protected: bool,
    hashtags: list[str],
    mention_ids: list[int],
    has_media: bool,
    counts: TweetCounts,
) -> dict[str, Any]:
    return {
        "id": tweet.id,
        "author_id": tweet.author_id,
        "author_protected": author_protected,
        "text": tweet.text,
        "hashtags": hashtags,
        "mention_ids": mention_ids,
        "reply_to_user_id": tweet.reply_to_user_id,
        "is_reply": tweet.reply_to_tweet_id is not None,
        "is_retweet": tweet.retweet_of_tweet_id is not None,
        "has_media": has_media,
        "has_links": bool(_LINK.search(tweet.text)),
        "has_poll": False,  # no tweet carries a poll yet
        "lang": tweet.lang,
        "created_at": tweet.created_at.astimezone(UTC).isoformat(),
        "like_count": counts.like_count,
        "retweet_count": counts.retweet_count,
        "reply_count": counts.reply_count,
        **({stemmed_field(tweet.lang): tweet.text} if tweet.lang in STEMMED else {}),
    }


def user_document(user: UserRecord, followers_count: int) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "followers_count": followers_count,
        "protected": user.protected,
    }


async def tweet_documents(db: Database, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The documents of those of ``ids`` that exist and are not deleted."""
    statement = (
        select(*TWEET_COLUMNS, User.protected.label("author_protected"))
        .join(User, User.id == Tweet.author_id)
        .where(Tweet.id == any_(ids_param()), Tweet.deleted_at.is_(None))
    )
    rows = await db.rows(statement, {"ids": list(ids)})
    present = [row.id for row in rows]
    if not present:
        return {}
    hashtags = await hashtags_by_tweet_ids(db, present)
    mentioned = await mentioned_users_by_tweet_ids(db, present)
    counts = await tweet_counts(db, present)
    with_media = {
        row.tweet_id
        for row in await db.rows(
            select(TweetMedia.tweet_id).where(TweetMedia.tweet_id == any_(ids_param())),
            {"ids": present},
        )
    }
    return {
        row.id: tweet_document(
            TweetRecord.of(row),
            row.author_protected,
            hashtags[n],
            [user.id for user in mentioned[n]],
            row.id in with_media,
            counts[n],
        )
        for n, row in enumerate(rows)
    }


async def user_documents(db: Database, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    users = [user for user in await users_by_ids(db, ids) if user is not None]
    counts = await user_counts(db, [user.id for user in users])
    return {
        user.id: user_document(user, count.followers_count)
        for user, count in zip(users, counts, strict=True)
    }


async def documents(db: Database, kind: str, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    return await (tweet_documents if kind == TWEETS else user_documents)(db, ids)


async def all_ids(db: Database, kind: str, batch: int = BATCH) -> AsyncIterator[list[int]]:
    """Every id of ``kind`` worth indexing, in batches, by keyset over the primary key."""
    column = Tweet.id if kind == TWEETS else User.id
    statement = select(column).order_by(column).limit(batch)
    if kind == TWEETS:
        statement = statement.where(Tweet.deleted_at.is_(None))
    last = 0
    while True:
        ids = [row[0] for row in await db.rows(statement.where(column > last))]
        if not ids:
            return
        yield ids
        last = ids[-1]


async def estimated_count(db: Database, kind: str) -> int:
    """About how many rows a rebuild reads: the planner's estimate, instant on big tables."""
    statement = text("SELECT reltuples::bigint AS n FROM pg_class WHERE relname = :table")
    rows = await db.rows(statement, {"table": "tweets" if kind == TWEETS else "users"})
    return max(int(rows[0].n), 0) if rows else 0


class OpenSearchIndex:
    def __init__(self, client: AsyncOpenSearch, prefix: str, db: Database) -> None:
        self.client = client
        self.prefix = prefix
        self.db = db
        self._ready = False

    def alias(self, kind: str) -> str:
        return alias_name(self.prefix, kind)

    async def ensure(self) -> None:
        """Templates in place, and each alias over an index (the first made when there is none)."""
        if self._ready:
            return
        for kind in KINDS:
            await self.client.indices.put_index_template(
                name=self.alias(kind), body=index_template(self.prefix, kind)
            )
            if not await self.client.indices.exists_alias(name=self.alias(kind)):
                # One fixed name, so two workers starting together make one index, not two.
                try:
                    await self.client.indices.create(
                        index=f"{self.alias(kind)}-initial",
                        body={"aliases": {self.alias(kind): {}}},
                    )
                except RequestError as exc:
                    if exc.error != "resource_already_exists_exception":
                        raise
        self._ready = True

    async def sync(self, kind: str, ids: Sequence[int], index: str | None = None) -> None:
        """Write each of ``ids`` as it is in PostgreSQL now: indexed, or deleted when gone."""
        if not ids:
            return
        await self.ensure()
        found = await documents(self.db, kind, ids)
        target = index or self.alias(kind)
        actions: list[dict[str, Any]] = [
            {"_op_type": "index", "_index": target, "_id": str(i), "_source": found[i]}
            if i in found
            else {"_op_type": "delete", "_index": target, "_id": str(i)}
            for i in dict.fromkeys(ids)
        ]
        await self._bulk(actions)

    async def set_author_protected(self, author_id: int, protected: bool) -> None:
        await self.ensure()
        await self.client.update_by_query(
            index=self.alias(TWEETS),
            body={
                "query": {"term": {"author_id": author_id}},
                "script": {
                    "source": "ctx._source.author_protected = params.protected",
                    "params": {"protected": protected},
                },
            },
            params={"conflicts": "proceed", "refresh": "true"},
        )

    async def build(self, kind: str, on_batch: Callable[[int], object]) -> str:
        """A new index of every row of ``kind``, beside the live one; returns its name."""
        await self.ensure()
        name = f"{self.alias(kind)}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        # No refreshes while loading: one at the end is far cheaper.
        await self.client.indices.create(index=name, body={"settings": {"refresh_interval": "-1"}})
        async for ids in all_ids(self.db, kind):
            await self.sync(kind, ids, index=name)
            on_batch(len(ids))
        await self.client.indices.put_settings(
            index=name, body={"index": {"refresh_interval": "1s"}}
        )
        await self.client.indices.refresh(index=name)
        return name

    async def swap(self, kind: str, name: str) -> list[str]:
        """Point the alias at ``name`` in one step; returns the indexes it left."""
        alias = self.alias(kind)
        try:
            old = sorted(await self.client.indices.get_alias(name=alias))
        except NotFoundError:
            old = []
        actions: list[dict[str, Any]] = [
            {"remove": {"index": index, "alias": alias}} for index in old if index != name
        ]
        actions.append({"add": {"index": name, "alias": alias}})
        await self.client.indices.update_aliases(body={"actions": actions})
        return [index for index in old if index != name]

    async def drop(self, indexes: list[str]) -> None:
        for index in indexes:
            await self.client.indices.delete(index=index, params={"ignore_unavailable": "true"})

    async def refresh(self) -> None:
        for kind in KINDS:
            await self.client.indices.refresh(index=self.alias(kind))

    async def _bulk(self, actions: list[dict[str, Any]]) -> None:
        _, errors = await async_bulk(
            self.client, actions, raise_on_error=False, raise_on_exception=True
        )
        assert isinstance(errors, list)  # a count only with stats_only=True
        failed = [
            error
            for error in errors
            if not (isinstance(error, dict) and error.get("delete", {}).get("status") == 404)
        ]
        if failed:
            raise IndexWriteFailed(f"{len(failed)} documents refused, the first: {failed[0]!r}")
