"""Read side for hashtags: how often one was used, its tweets newest first, and who the viewer
follows used which."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, bindparam, distinct, func, select

from starling import ids
from starling.db import Database
from starling.models import Tweet, TweetHashtag
from starling.models.graph import Following
from starling.queries.pagination import Page, PageRequest, int_key, page_from_rows
from starling.records import TWEET_COLUMNS, TweetRecord
from starling.visibility import not_muted, tweet_visible

_USES = select(func.count()).where(TweetHashtag.tag == bindparam("tag", type_=String))


async def uses(db: Database, tag: str) -> int:
    rows = await db.rows(_USES, {"tag": tag})
    return int(rows[0][0])


async def tweets_with(
    db: Database, viewer_id: int | None, tag: str, request: PageRequest
) -> Page[TweetRecord]:
    statement = (
        select(*TWEET_COLUMNS)
        .join(TweetHashtag, TweetHashtag.tweet_id == Tweet.id)
        .where(
            TweetHashtag.tag == tag,
            tweet_visible(Tweet, viewer_id),
            not_muted(Tweet, viewer_id),
        )
    )
    after = int_key(request)
    if after is not None:
        statement = statement.where(TweetHashtag.tweet_id < after[0])
    statement = statement.order_by(TweetHashtag.tweet_id.desc()).limit(request.first + 1)
    rows = [TweetRecord.of(row) for row in await db.rows(statement)]
    return page_from_rows(rows, [(t.id,) for t in rows], request)


async def used_by_followed(
    db: Database, viewer_id: int, tags: Sequence[str], since: datetime
) -> dict[str, int]:
    """For each of ``tags``: how many accounts the viewer follows used it since ``since``."""
    authors = func.count(distinct(Tweet.author_id)).label("authors")
    statement = (
        select(TweetHashtag.tag, authors)
        .join(Tweet, Tweet.id == TweetHashtag.tweet_id)
        .join(Following, Following.following_id == Tweet.author_id)
        .where(
            Following.user_id == viewer_id,
            TweetHashtag.tag.in_(list(tags)),
            TweetHashtag.tweet_id >= ids.lowest_id_at(since),
            Tweet.deleted_at.is_(None),
        )
        .group_by(TweetHashtag.tag)
    )
    return {row.tag: int(row.authors) for row in await db.rows(statement)}
