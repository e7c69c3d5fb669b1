"""Read side of media: by id, and the media of each tweet in order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import any_, select

from starling.db import Database
from starling.models import Media, TweetMedia
from starling.queries.common import ids_param
from starling.records import MEDIA_COLUMNS, MediaRecord

_BY_IDS = select(*MEDIA_COLUMNS).where(Media.id == any_(ids_param()))
_OF_TWEETS = (
    select(TweetMedia.tweet_id, *MEDIA_COLUMNS)
    .join(Media, Media.id == TweetMedia.media_id)
    .where(TweetMedia.tweet_id == any_(ids_param()))
    .order_by(TweetMedia.tweet_id, TweetMedia.position)
)


async def media_by_ids(db: Database, ids: Sequence[int]) -> list[MediaRecord | None]:
    found = {row.id: MediaRecord.of(row) for row in await db.rows(_BY_IDS, {"ids": list(ids)})}
    return [found.get(i) for i in ids]


async def media_of_tweets(db: Database, tweet_ids: Sequence[int]) -> list[list[MediaRecord]]:
    grouped: dict[int, list[MediaRecord]] = defaultdict(list)
    for row in await db.rows(_OF_TWEETS, {"ids": list(tweet_ids)}):
        grouped[row.tweet_id].append(MediaRecord.of(row))
    return [grouped.get(i, []) for i in tweet_ids]
