"""Search in PostgreSQL: the query tree becomes one WHERE clause over ``tweets``.

Words and phrases match the generated ``search_vector`` (GIN index); the other operators are
plain conditions the planner combines with it. TOP orders by a score that is stable while time
passes: ln(text rank) + ln(1 + engagement) / 2 + age decay, where the decay is written as the
tweet's own time over the half-life (multiplying every score by the same e^(-now/T) does not
change their order), so a relevance cursor (the score and the id) stays valid.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    SQLColumnExpression,
    and_,
    any_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)

from starling import ids
from starling.db import Database
from starling.language import STEMMED
from starling.models import Tweet, TweetHashtag, TweetMedia, TweetMention, TweetStats, User
from starling.models.users import UserStats
from starling.queries.common import ids_param
from starling.queries.pagination import Page, PageRequest, int_key, page_from_rows
from starling.records import TWEET_COLUMNS, USER_COLUMNS, TweetRecord, UserRecord
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
    Suggestions,
    name_query,
    stemmed_language,
)
from starling.visibility import blocked_either_way, follows, not_muted, tweet_visible

CONFIG = "simple"
HALF_LIFE_HOURS = 24.0
SCORE_SCALE = 1_000_000  # scores travel in cursors as integers
HASHTAG_WINDOW = timedelta(days=7)
TOP_CANDIDATES = 1_000
_LINK = r"https?://"


class PostgresSearch:
    name = "postgres"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search_tweets(
        self, query: Node, viewer_id: int | None, sort: SearchSort, request: PageRequest
    ) -> Page[TweetRecord]:
        matches = _matches(query, viewer_id)
        if sort is SearchSort.LATEST:
            after = int_key(request)
            rows = await self._newest(matches, after[0] if after else None, request.first + 1)
            records = [TweetRecord.of(row) for row in rows]
            return page_from_rows(records, [(t.id,) for t in records], request)

        # TOP ranks the newest TOP_CANDIDATES matches as of the first page: the cursor carries
        # that page's newest id (the anchor), so later pages rank the same candidates.
        after = int_key(request, 3)
        anchor = after[2] if after else None
        candidates = [
            row.id
            for row in await self._newest(
                matches.with_only_columns(Tweet.id),  # whole rows only for the ranked page
                anchor + 1 if anchor is not None else None,
                TOP_CANDIDATES,
            )
        ]
        if not candidates:
            return page_from_rows([], [], request)
        anchor = anchor if anchor is not None else candidates[0]
        score = _top_score(query).label("score")
        ranked = (
            select(*TWEET_COLUMNS, score)
            .outerjoin(TweetStats, TweetStats.tweet_id == Tweet.id)
            .where(Tweet.id == any_(ids_param()))
        )
        if after is not None:
            ranked = ranked.where(func.row(score, Tweet.id) < func.row(after[0], after[1]))
        ranked = ranked.order_by(score.desc(), Tweet.id.desc()).limit(request.first + 1)
        top = await self.db.rows_planned_for_values(ranked, {"ids": candidates})
        return page_from_rows(
            [TweetRecord.of(row) for row in top],
            [(row.score, row.id, anchor) for row in top],
            request,
        )

    async def recheck(
        self, query: Node, viewer_id: int | None, ids: list[int]
    ) -> dict[int, TweetRecord]:
        """Those of ``ids`` that match ``query`` and the viewer may see, as they are now."""
        if not ids:
            return {}
        statement = _matches(query, viewer_id).where(Tweet.id == any_(ids_param()))
        rows = await self.db.rows_planned_for_values(statement, {"ids": ids})
        return {row.id: TweetRecord.of(row) for row in rows}

    async def users_not_blocked(
        self, viewer_id: int | None, ids: list[int]
    ) -> dict[int, UserRecord]:
        """Those of ``ids`` that exist and are in no block with the viewer."""
        if not ids:
            return {}
        statement = select(*USER_COLUMNS).where(
            User.id == any_(ids_param()), _not_blocked(viewer_id)
        )
        rows = await self.db.rows_planned_for_values(statement, {"ids": ids})
        return {row.id: UserRecord.of(row) for row in rows}

    async def _newest(self, matches: Select[Any], before: int | None, limit: int) -> list[Any]:
        """The newest ``limit`` rows of ``matches`` below ``before``. Walking the id index
        newest first finds common words at once but reads the whole table for a rare one; a
        bitmap of the GIN index is the reverse. So: the index walk over the last day, then
        the bitmap over the last week, then over everything older (``id + 0`` keeps the
        planner off the id index), stopping as soon as there are enough."""
        now = datetime.now(UTC)
        rows: list[Any] = []
        upper = before
        for walk_the_index, window in (
            (True, timedelta(days=1)),
            (False, timedelta(days=7)),
            (False, None),
        ):
            lower = ids.lowest_id_at(now - window) if window is not None else None
            if upper is not None and lower is not None and lower >= upper:
                continue  # this window is entirely above ``before``
            bounds = [Tweet.id < upper] if upper is not None else []
            if lower is not None:
                bounds.append(Tweet.id >= lower)
            order = Tweet.id.desc() if walk_the_index else (Tweet.id + 0).desc()
            rows += await self.db.rows_planned_for_values(
                matches.where(*bounds).order_by(order).limit(limit - len(rows))
            )
            if len(rows) >= limit or lower is None:
                break
            upper = lower
        return rows

    async def search_users(
        self, text: str, viewer_id: int | None, request: PageRequest
    ) -> Page[UserRecord]:
        wanted = name_query(text)
        username, display_name = func.lower(User.username), func.lower(User.display_name)
        tier = case(
            (username == wanted, 3),
            (_prefix(username, wanted), 2),
            else_=1,
        ).label("tier")
        followed = (
            cast(follows(viewer_id, User.id), Integer) if viewer_id is not None else literal(0)
        ).label("followed")
        similarity = cast(
            func.greatest(func.similarity(username, wanted), func.similarity(display_name, wanted))
            * SCORE_SCALE,
            BigInteger,
        ).label("similarity")
        followers = func.coalesce(UserStats.followers_count, 0).label("followers")
        sort_key = (tier, followed, similarity, followers, User.id)
        statement = (
            select(*USER_COLUMNS, *sort_key[:4])
            .outerjoin(UserStats, UserStats.user_id == User.id)
            .where(
                or_(
                    username == wanted,
                    _prefix(username, wanted),
                    username.bool_op("%")(wanted),
                    display_name.bool_op("%")(wanted),
                ),
                _not_blocked(viewer_id),
            )
        )
        after = int_key(request, 5)
        if after is not None:
            statement = statement.where(func.row(*sort_key) < func.row(*after))
        statement = statement.order_by(*(part.desc() for part in sort_key)).limit(request.first + 1)
        rows = await self.db.rows_planned_for_values(statement)
        return page_from_rows(
            [UserRecord.of(row) for row in rows],
            [(row.tier, row.followed, row.similarity, row.followers, row.id) for row in rows],
            request,
        )

    async def suggest(
        self, prefix: str, viewer_id: int | None, users: int, hashtags: int
    ) -> Suggestions:
        wanted = prefix.lower()
        found_users: list[UserRecord] = []
        found_tags: list[HashtagUse] = []
        if users:
            username = func.lower(User.username)
            statement = (
                select(*USER_COLUMNS)
                .join(UserStats, UserStats.user_id == User.id)  # every account has its row
                .where(
                    _prefix(username, wanted),
                    _not_blocked(viewer_id),
                )
                # Plain columns, so a prefix shared by many names walks ix_user_stats_followers.
                .order_by(UserStats.followers_count.desc(), UserStats.user_id)
                .limit(users)
            )
            found_users = [
                UserRecord.of(row) for row in await self.db.rows_planned_for_values(statement)
            ]
        if hashtags:
            since = ids.lowest_id_at(datetime.now(UTC) - HASHTAG_WINDOW)
            uses = func.count().label("uses")
            statement = (
                select(TweetHashtag.tag, uses)
                .where(_prefix(TweetHashtag.tag, wanted), TweetHashtag.tweet_id >= since)
                .group_by(TweetHashtag.tag)
                .order_by(uses.desc(), TweetHashtag.tag)
                .limit(hashtags)
            )
            found_tags = [
                HashtagUse(row.tag, row.uses)
                for row in await self.db.rows_planned_for_values(statement)
            ]
        return Suggestions(found_users, found_tags)


def _matches(query: Node, viewer_id: int | None) -> Select[Any]:
    """Tweets matching ``query`` that the viewer may see; retweets only when asked for."""
    wants_retweets = any(leaf == Is("retweet") and not neg for leaf, neg in walk(query))
    return select(*TWEET_COLUMNS).where(
        _condition(query, _stemmer(query)),
        tweet_visible(Tweet, viewer_id),
        not_muted(Tweet, viewer_id),
        true() if wants_retweets else Tweet.retweet_of_tweet_id.is_(None),
    )


def _prefix(column: SQLColumnExpression[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as a range the text_pattern_ops indexes serve (a LIKE
    with a bound pattern cannot use them once PostgreSQL switches to a generic plan)."""
    at_least: ColumnElement[bool] = column.bool_op("~>=~")(prefix)
    if ord(prefix[-1]) == 0x10FFFF:
        return at_least
    return and_(at_least, column.bool_op("~<~")(prefix[:-1] + chr(ord(prefix[-1]) + 1)))


def _condition(node: Node, stemmer: str | None) -> ColumnElement[bool]:
    match node:
        case Words():
            return Tweet.search_vector.bool_op("@@")(_tsquery(node, stemmer))
        case Hashtag(tag):
            return exists().where(TweetHashtag.tweet_id == Tweet.id, TweetHashtag.tag == tag)
        case Mentions(username):
            return exists().where(
                TweetMention.tweet_id == Tweet.id, TweetMention.user_id.in_(_user_id(username))
            )
        case From(username):
            return Tweet.author_id.in_(_user_id(username))
        case To(username):
            return Tweet.reply_to_user_id.in_(_user_id(username))
        case Since(day):
            return Tweet.id >= ids.lowest_id_at(datetime.combine(day, time(), UTC))
        case Until(day):
            return Tweet.id < ids.lowest_id_at(datetime.combine(day, time(), UTC))
        case Has("media"):
            return exists().where(TweetMedia.tweet_id == Tweet.id)
        case Has("links"):
            return Tweet.text.regexp_match(_LINK, flags="i")
        case Has(_):  # poll: no tweet carries a poll yet
            return false()
        case Is("reply"):
            return Tweet.reply_to_tweet_id.is_not(None)
        case Is(_):  # retweet
            return Tweet.retweet_of_tweet_id.is_not(None)
        case MinCount(what, count):
            column = TweetStats.like_count if what == "likes" else TweetStats.retweet_count
            return exists().where(TweetStats.tweet_id == Tweet.id, column >= count)
        case Lang(code):
            return Tweet.lang == code
        case Not(part):
            # NULL (a tweet with no language, a reply to no one) is "no" before it is negated.
            return not_(func.coalesce(_condition(part, stemmer), false()))
        case And(parts):
            return and_(*(_condition(part, stemmer) for part in parts))
        case Or(parts):
            return or_(*(_condition(part, stemmer) for part in parts))
    raise AssertionError(f"unknown query node {node!r}")


def _user_id(username: str) -> Select[Any]:
    """The account named ``username`` (at most one: usernames are unique whatever their case)."""
    return select(User.id).where(func.lower(User.username) == username.lower())


def _tsquery(words: Words, stemmer: str | None) -> ColumnElement[Any]:
    """The words as written; with a stemmer also their stems, either matching (OR)."""
    to_query = func.phraseto_tsquery if words.phrase else func.plainto_tsquery
    as_written: ColumnElement[Any] = to_query(CONFIG, words.text)
    if stemmer is None:
        return as_written
    return as_written.op("||")(to_query(literal_column(f"'{stemmer}'::regconfig"), words.text))


def _not_blocked(viewer_id: int | None) -> ColumnElement[bool]:
    """The user is in no block with the viewer (anyone, for a signed-out viewer)."""
    return ~blocked_either_way(User.id, viewer_id) if viewer_id is not None else true()


def _stemmer(query: Node) -> str | None:
    language = stemmed_language(query)
    return STEMMED[language] if language else None


def _top_score(query: Node) -> ColumnElement[int]:
    """ln(rank) + ln(1 + likes + 2 x retweets + replies) / 2 + hours / half-life x ln 2, scaled."""
    stemmer = _stemmer(query)
    wanted = [
        _tsquery(leaf, stemmer)
        for leaf, negated in walk(query)
        if isinstance(leaf, Words) and not negated
    ]
    relevance: ColumnElement[Any] = literal(0.0)
    if wanted:
        any_word: ColumnElement[Any] = wanted[0]
        for more in wanted[1:]:
            any_word = any_word.op("||")(more)
        relevance = func.ln(func.ts_rank_cd(Tweet.search_vector, any_word) + 1e-6)
    engagement = func.ln(
        1
        + func.coalesce(TweetStats.like_count, 0)
        + 2 * func.coalesce(TweetStats.retweet_count, 0)
        + func.coalesce(TweetStats.reply_count, 0)
    )
    hours = cast(func.extract("epoch", Tweet.created_at), Float) / 3600
    recency = hours / HALF_LIFE_HOURS * math.log(2)
    return cast(func.round((relevance + engagement / 2 + recency) * SCORE_SCALE), BigInteger)
