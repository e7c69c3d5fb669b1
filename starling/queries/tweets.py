"""Read side for tweets: batched lookups for the dataloaders and keyset-paginated lists.

Every query filters with ``starling.visibility``.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    String,
    any_,
    bindparam,
    exists,
    func,
    select,
    true,
)

from starling.db import Database, Prepared
from starling.models import (
    Bookmark,
    Like,
    Tweet,
    TweetHashtag,
    TweetMention,
    TweetVersion,
    User,
)
from starling.queries.common import (
    VIEWER,
    fetch_for_viewers,
    for_many_viewers,
    id_list,
    ids_param,
    newest_first_by_time,
)
from starling.queries.pagination import Page, PageRequest, int_key, page_from_rows
from starling.queries.users import (
    USER_WITH_COUNTS_FIELDS,
    UserCounts,
    user_with_counts,
    with_counts,
)
from starling.records import (
    TWEET_COLUMNS,
    USER_COLUMNS,
    VERSION_COLUMNS,
    TweetRecord,
    TweetVersionRecord,
    UserRecord,
)
from starling.storage import counters
from starling.visibility import not_muted, tweet_visible


class TweetCounts(NamedTuple):
    like_count: int = 0
    retweet_count: int = 0
    reply_count: int = 0
    quote_count: int = 0
    bookmark_count: int = 0


class TweetViewerState(NamedTuple):
    liked: bool = False
    retweeted: bool = False
    bookmarked: bool = False


TWEETS_BY_IDS = select(*TWEET_COLUMNS).where(Tweet.id == any_(ids_param()))
"""Tweets by id whatever their visibility: only for callers that apply the rule themselves."""
_VISIBLE_TO_ANONYMOUS = Prepared(
    select(*TWEET_COLUMNS).where(Tweet.id == any_(ids_param()), tweet_visible(Tweet, None))
)
_VISIBLE_TO_VIEWER = Prepared(
    select(*TWEET_COLUMNS).where(Tweet.id == any_(ids_param()), tweet_visible(Tweet, VIEWER))
)
_COUNTS = Prepared(counters.live_counts("tweet", ids_param()))
_HASHTAGS = select(TweetHashtag.tweet_id, TweetHashtag.tag).where(
    TweetHashtag.tweet_id == any_(ids_param())
)
_MENTIONED_USERS = (
    select(TweetMention.tweet_id.label("mention_of"), *USER_COLUMNS)
    .join(User, User.id == TweetMention.user_id)
    .where(TweetMention.tweet_id == any_(ids_param()))
    .order_by(TweetMention.tweet_id, User.username)
)
_VERSIONS = (
    select(*VERSION_COLUMNS)
    .where(TweetVersion.tweet_id == any_(ids_param()))
    .order_by(TweetVersion.tweet_id, TweetVersion.number)
)


def _viewer_state_columns(
    tweet_id: ColumnElement[int], viewer: ColumnElement[int]
) -> list[ColumnElement[bool]]:
    """Whether ``viewer`` liked, retweeted and bookmarked the tweet ``tweet_id`` names."""
    retweet = Tweet.__table__.alias("viewer_retweet")
    return [
        exists().where(Like.tweet_id == tweet_id, Like.user_id == viewer).label("liked"),
        exists()
        .where(
            retweet.c.retweet_of_tweet_id == tweet_id,
            retweet.c.author_id == viewer,
            retweet.c.deleted_at.is_(None),
        )
        .label("retweeted"),
        exists()
        .where(Bookmark.tweet_id == tweet_id, Bookmark.user_id == viewer)
        .label("bookmarked"),
    ]


def _viewer_states(viewer: ColumnElement[int], *leading: ColumnElement[Any]) -> Select[Any]:
    wanted = id_list(ids_param())
    return select(*leading, wanted.c.id, *_viewer_state_columns(wanted.c.id, viewer))


_VIEWER_STATES = Prepared(_viewer_states(VIEWER))
_STATES_OF_VIEWERS = for_many_viewers(_viewer_states)


async def visible_tweets_by_ids(
    db: Database, viewer_id: int | None, ids: Sequence[int]
) -> list[TweetRecord | None]:
    """Tweets the viewer may see, in the order asked; None for the rest."""
    if viewer_id is None:
        rows = await db.fetch(_VISIBLE_TO_ANONYMOUS, {"ids": list(ids)})
    else:
        rows = await db.fetch(_VISIBLE_TO_VIEWER, {"ids": list(ids), "viewer_id": viewer_id})
    by_id = {row[0]: TweetRecord.of_values(row) for row in rows}
    return [by_id.get(i) for i in ids]


async def tweet_counts(db: Database, ids: Sequence[int]) -> list[TweetCounts]:
    """Stored counts plus the deltas not yet flushed."""
    by_id = {row[0]: row for row in await db.fetch(_COUNTS, {"ids": list(ids)})}
    return [TweetCounts(*by_id[i][1:]) if i in by_id else TweetCounts() for i in ids]


async def hashtags_by_tweet_ids(db: Database, ids: Sequence[int]) -> list[list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for row in await db.rows(_HASHTAGS, {"ids": list(ids)}):
        grouped[row.tweet_id].append(row.tag)
    return [sorted(grouped.get(i, [])) for i in ids]


async def mentioned_users_by_tweet_ids(db: Database, ids: Sequence[int]) -> list[list[UserRecord]]:
    """The users each tweet mentions, read with the mentions (one statement, no second hop)."""
    grouped: dict[int, list[UserRecord]] = defaultdict(list)
    for row in await db.rows(_MENTIONED_USERS, {"ids": list(ids)}):
        grouped[row.mention_of].append(UserRecord.of(row))
    return [grouped.get(i, []) for i in ids]


async def versions_by_tweet_ids(db: Database, ids: Sequence[int]) -> list[list[TweetVersionRecord]]:
    grouped: dict[int, list[TweetVersionRecord]] = defaultdict(list)
    for version in await db.rows(_VERSIONS, {"ids": list(ids)}):
        grouped[version.tweet_id].append(TweetVersionRecord.of(version))
    return [grouped.get(i, []) for i in ids]


async def viewer_tweet_states(
    db: Database, viewer_id: int, ids: Sequence[int]
) -> list[TweetViewerState]:
    """Whether the viewer liked, retweeted and bookmarked each tweet: one statement."""
    rows = await db.fetch(_VIEWER_STATES, {"ids": list(ids), "viewer_id": viewer_id})
    by_id = {row[0]: TweetViewerState(row[1], row[2], row[3]) for row in rows}
    return [by_id.get(i, TweetViewerState()) for i in ids]


async def viewer_tweet_states_of(
    db: Database, viewer_ids: Sequence[int], ids: Sequence[int]
) -> dict[int, list[TweetViewerState]]:
    """``viewer_tweet_states`` for each of many viewers (live delivery): one statement."""
    return await fetch_for_viewers(
        db, _STATES_OF_VIEWERS, viewer_ids, ids, TweetViewerState, TweetViewerState()
    )


PageParts = tuple[UserRecord | None, TweetCounts, TweetViewerState]


def _with_page_parts(
    tweets: FromClause, *leading: ColumnElement[Any], onto: FromClause | None = None
) -> Select[Any]:
    """``leading``, then each tweet's author, counts (stored plus pending) and the viewer's
    state (what ``read_page_parts`` reads), for the rows of ``tweets`` (a table or a page;
    ``onto``: what it is already joined into, when that is more than itself)."""
    joined, counts = counters.with_live_counts(
        "tweet",
        (tweets if onto is None else onto).outerjoin(User, User.id == tweets.c.author_id),
        tweets.c.id,
    )
    return select(
        *leading, *USER_COLUMNS, *counts, *_viewer_state_columns(tweets.c.id, VIEWER)
    ).select_from(joined)


def _read_page_parts(values: Sequence[Any]) -> PageParts:
    """One tweet's parts from the columns ``_with_page_parts`` adds, in order."""
    if values[0] is None:  # no author: nothing to show beside it
        return None, TweetCounts(), TweetViewerState()
    return (
        UserRecord.of_values(values[:_USER_FIELDS]),
        TweetCounts(*values[_USER_FIELDS:_COUNTS_END]),
        TweetViewerState(*values[_COUNTS_END:]),
    )


_PAGE_TWEETS = Tweet.__table__.alias("page_tweet")
_PAGE_PARTS = Prepared(
    _with_page_parts(_PAGE_TWEETS, _PAGE_TWEETS.c.id).where(_PAGE_TWEETS.c.id == any_(ids_param()))
)
_USER_FIELDS = len(UserRecord._names)
_COUNTS_END = _USER_FIELDS + len(counters.TWEET_FIELDS)
_TWEET_FIELDS = len(TweetRecord._names)


def with_page_parts(page: Select[Any]) -> Prepared:
    """``page`` (a select of ``TWEET_COLUMNS``, newest first) with each tweet's
    ``tweet_page_parts`` after its columns, in one statement (``tweets_with_parts`` reads its
    rows)."""
    tweets = page.subquery("page")
    return Prepared(_with_page_parts(tweets, *tweets.c).order_by(tweets.c.id.desc()))


def tweets_with_parts(rows: Sequence[Any]) -> tuple[list[TweetRecord], list[PageParts]]:
    """The tweets of ``with_page_parts`` rows, and the parts of each."""
    return (
        [TweetRecord.of_values(row[:_TWEET_FIELDS]) for row in rows],
        [_read_page_parts(row[_TWEET_FIELDS:]) for row in rows],
    )


async def tweet_page_parts(
    db: Database, viewer_id: int | None, tweets: Sequence[TweetRecord]
) -> list[PageParts]:
    """Each tweet's author, counts and the viewer's state in one statement: what
    ``users_by_ids``, ``tweet_counts`` and ``viewer_tweet_states`` answer, for a page at once."""
    rows = await db.fetch(_PAGE_PARTS, {"ids": [t.id for t in tweets], "viewer_id": viewer_id})
    by_id = {row[0]: _read_page_parts(row[1:]) for row in rows}
    missing: PageParts = (None, TweetCounts(), TweetViewerState())
    return [by_id.get(t.id, missing) for t in tweets]


def _tweets_where(*where: ColumnElement[bool]) -> Select[Any]:
    return select(*TWEET_COLUMNS).where(*where)


async def _tweet_page(
    db: Database, statement: Select[Any], request: PageRequest, oldest_first: bool = False
) -> Page[TweetRecord]:
    """By id (newest first unless asked otherwise); the cursor is the id."""
    after = int_key(request)
    if after is not None:
        statement = statement.where(Tweet.id > after[0] if oldest_first else Tweet.id < after[0])
    order = Tweet.id if oldest_first else Tweet.id.desc()
    rows = [
        TweetRecord.of(row)
        for row in await db.rows(statement.order_by(order).limit(request.first + 1))
    ]
    return page_from_rows(rows, [(t.id,) for t in rows], request)


async def profile_tweets(
    db: Database,
    viewer_id: int | None,
    author_id: int,
    include_replies: bool,
    request: PageRequest,
) -> Page[TweetRecord]:
    """A user's tweets and retweets; replies only when asked. Muting does not hide a profile."""
    after = int_key(request)
    rows = await db.fetch(
        _profile_statement(viewer_id is None, include_replies, after is not None),
        {"author_id": author_id, **_page_params(viewer_id, after, request)},
    )
    tweets = [TweetRecord.of_values(row) for row in rows]
    return page_from_rows(tweets, [(t.id,) for t in tweets], request)


async def profile_tweets_with_parts(
    db: Database,
    viewer_id: int | None,
    author_id: int,
    include_replies: bool,
    request: PageRequest,
) -> tuple[Page[TweetRecord], list[PageParts]]:
    """``profile_tweets`` and, in the same statement, each tweet's ``tweet_page_parts``: a
    profile page read in one round trip."""
    after = int_key(request)
    rows = await db.fetch(
        _profile_with_parts_statement(viewer_id is None, include_replies, after is not None),
        {"author_id": author_id, **_page_params(viewer_id, after, request)},
    )
    tweets, parts = tweets_with_parts(rows)
    page = page_from_rows(tweets, [(t.id,) for t in tweets], request)
    return page, parts[: len(page.items)]


def _page_params(
    viewer_id: int | None, after: tuple[int, ...] | None, request: PageRequest
) -> dict[str, Any]:
    """The parameters of ``_profile_page`` but its author."""
    return {
        "viewer_id": viewer_id,
        "after_id": after[0] if after else None,
        "limit": request.first + 1,
    }


_AUTHOR_ID = bindparam("author_id", type_=BigInteger)


def _profile_page(
    anonymous: bool,
    include_replies: bool,
    after: bool,
    author: ColumnElement[int] = _AUTHOR_ID,
) -> Select[Any]:
    statement = _tweets_where(
        Tweet.author_id == author,
        tweet_visible(Tweet, None if anonymous else VIEWER),
    )
    if not include_replies:
        statement = statement.where(Tweet.reply_to_tweet_id.is_(None))
    if after:
        statement = statement.where(Tweet.id < bindparam("after_id", type_=BigInteger))
    return statement.order_by(Tweet.id.desc()).limit(bindparam("limit", type_=BigInteger))


@functools.cache
def _profile_statement(anonymous: bool, include_replies: bool, after: bool) -> Prepared:
    """A profile page's statement, one per shape (a profile is the most read page there is)."""
    return Prepared(_profile_page(anonymous, include_replies, after))


@functools.cache
def _profile_with_parts_statement(anonymous: bool, include_replies: bool, after: bool) -> Prepared:
    return with_page_parts(_profile_page(anonymous, include_replies, after))


async def replies(
    db: Database, viewer_id: int | None, tweet_id: int, request: PageRequest
) -> Page[TweetRecord]:
    """Direct replies, oldest first (reading order), without muted authors."""
    statement = _tweets_where(
        Tweet.reply_to_tweet_id == tweet_id,
        tweet_visible(Tweet, viewer_id),
        not_muted(Tweet, viewer_id),
    )
    return await _tweet_page(db, statement, request, oldest_first=True)


async def liked_tweets(
    db: Database, viewer_id: int | None, user_id: int, request: PageRequest
) -> Page[TweetRecord]:
    statement = _tweets_where(Like.user_id == user_id, tweet_visible(Tweet, viewer_id)).join(
        Like, Like.tweet_id == Tweet.id
    )
    return await newest_first_by_time(
        db, TweetRecord, statement, Like.created_at, Like.tweet_id, request
    )


async def bookmarked_tweets(db: Database, user_id: int, request: PageRequest) -> Page[TweetRecord]:
    statement = _tweets_where(Bookmark.user_id == user_id, tweet_visible(Tweet, user_id)).join(
        Bookmark, Bookmark.tweet_id == Tweet.id
    )
    return await newest_first_by_time(
        db, TweetRecord, statement, Bookmark.created_at, Bookmark.tweet_id, request
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """A user, their counts and a page of their tweets with each one's page parts."""

    user: UserRecord
    counts: UserCounts
    tweets: Page[TweetRecord]
    parts: list[PageParts]


async def profile(
    db: Database,
    viewer_id: int | None,
    username: str,
    include_replies: bool,
    request: PageRequest,
) -> Profile | None:
    """``users_with_counts_by_usernames`` and that user's ``profile_tweets_with_parts`` in one
    statement (a profile page in one round trip); None when no one has the name."""
    after = int_key(request)
    rows = await db.fetch(
        _profile_and_page_statement(viewer_id is None, include_replies, after is not None),
        {"name": username.lower(), **_page_params(viewer_id, after, request)},
    )
    if not rows:
        return None
    user, counts = user_with_counts(rows[0])
    # A user with no tweets to show is one row whose page columns are empty.
    end = USER_WITH_COUNTS_FIELDS
    tweets, parts = tweets_with_parts([row[end:] for row in rows if row[end] is not None])
    page = page_from_rows(tweets, [(t.id,) for t in tweets], request)
    return Profile(user, counts, page, parts[: len(page.items)])


@functools.cache
def _profile_and_page_statement(anonymous: bool, include_replies: bool, after: bool) -> Prepared:
    owner = User.__table__.alias("owner")
    owner_with_counts, owner_columns = with_counts(owner)
    page = _profile_page(anonymous, include_replies, after, author=owner.c.id).lateral("page")
    statement = _with_page_parts(
        page, *owner_columns, *page.c, onto=owner_with_counts.outerjoin(page, true())
    )
    return Prepared(
        statement.where(func.lower(owner.c.username) == bindparam("name", type_=String)).order_by(
            page.c.id.desc()
        )
    )
