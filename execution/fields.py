"""The fields the compiled path can read, each as a batched reader over a level's parents.

Values passed down a plan are the read side's own records (``TweetRecord``, ``UserRecord``) and
pages, not strawberry objects. A reader returns one value per parent, exactly what the strawberry
resolver of that field would have returned (serialized by the field's scalar afterwards). Several
fields that show parts of one batch (the five counts, the viewer's three states) name the same
``Source``, which a level reads once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schema.context import Context
from schema.node import db_id_of, to_global_id
from schema.tweets import sealed_conversation_id
from starling.queries import graph as graph_queries
from starling.queries import tweets as tweet_queries
from starling.queries import users as user_queries
from starling.queries.pagination import Page, encode_cursor, page_request
from starling.queries.tweets import PageParts, TweetViewerState
from starling.records import TweetRecord, UserRecord
from starling.services import home_timeline
from starling.visibility import NO_RELATIONSHIP


@dataclass(frozen=True, slots=True)
class Source:
    """A batch several fields read parts of: loaded once per level, keyed by its name."""

    name: str
    load: Callable[[Context, Sequence[Any]], Awaitable[Sequence[Any]]]
    # What it reads depends on who asks (their own state, what they may see), so one viewer's
    # answer is not another's.
    per_viewer: bool = False
    # The same for many viewers at once (live delivery groups sockets by these values):
    # viewer id -> one value a parent.
    load_for_viewers: (
        Callable[[Context, Sequence[int], Sequence[Any]], Awaitable[Mapping[int, Sequence[Any]]]]
        | None
    ) = None


@dataclass(frozen=True, slots=True)
class SourceGroup:
    """Sources one statement reads together: when a level wants two or more of them, it reads
    the group once (a page's authors, counts and viewer state: one statement, not three)."""

    members: tuple[Source, ...]
    # One tuple a parent, its values in the order of ``members``.
    load: Callable[[Context, Sequence[Any]], Awaitable[Sequence[tuple[Any, ...]]]]


class Known:
    """Values of sources that a batch read along with its own (a profile page's statement also
    reads its tweets' authors, counts and viewer state): the level that wants them takes them
    from here instead of reading them again. One per run, keyed by source and object id."""

    __slots__ = ("_reads", "_values")

    def __init__(self) -> None:
        self._values: dict[str, dict[int, Any]] = {}
        self._reads: dict[tuple[int, tuple[Any, ...], int], Any] = {}

    def add(self, source: Source, objects: Sequence[Any], values: Sequence[Any]) -> None:
        known = self._values.setdefault(source.name, {})
        for item, value in zip(objects, values, strict=True):
            known[item.id] = value

    def take(self, source: Source, parents: Sequence[Any]) -> list[Any] | None:
        """The source's value for each parent, if every one is known."""
        known = self._values.get(source.name)
        if known is None:
            return None
        try:
            return [known[parent.id] for parent in parents]
        except KeyError:
            return None

    def add_read(self, reader: Reader, parent: Any, args: Mapping[str, Any], value: Any) -> None:
        """What ``reader`` would answer for ``parent`` with ``args`` (a fused read's child)."""
        key = _arguments_key(args)
        if key is not None:
            self._reads[(id(reader), key, parent.id)] = value

    def take_read(
        self, reader: Reader, parents: Sequence[Any], args: Mapping[str, Any]
    ) -> list[Any] | None:
        key = _arguments_key(args)
        if key is None or not self._reads:
            return None
        try:
            return [self._reads[(id(reader), key, parent.id)] for parent in parents]
        except (KeyError, AttributeError):
            return None


def _arguments_key(args: Mapping[str, Any]) -> tuple[Any, ...] | None:
    key = tuple(args.items())
    try:
        hash(key)
    except TypeError:  # a list or input object: never fused
        return None
    return key


BatchFn = Callable[[Context, Sequence[Any], Mapping[str, Any], Known], Awaitable[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class Fused:
    """A batch that reads one of its object's fields too, when that field is selected (a user
    and their profile page: one statement). ``load`` gets both fields' arguments, and puts the
    child's answers in ``Known`` (``add_read``)."""

    child: Reader
    load: Callable[
        [Context, Sequence[Any], Mapping[str, Any], Mapping[str, Any], Known],
        Awaitable[Sequence[Any]],
    ]


@dataclass(frozen=True, slots=True)
class Reader:
    # One of: a value from the parent alone; a part of a shared source; a batch of its own
    # (fields with arguments).
    item: Callable[[Any], Any] | None = None
    source: Source | None = None
    part: Callable[[Any], Any] | None = None
    batch: BatchFn | None = None
    per_viewer: bool = False
    fused: Fused | None = None

    @property
    def reads_per_viewer(self) -> bool:
        return self.per_viewer or (self.source is not None and self.source.per_viewer)


@dataclass(frozen=True, slots=True)
class Connection:
    """A page with its cursors, for ``*Connection``, ``*Edge`` and ``PageInfo``."""

    page: Page[Any]
    cursors: list[str]

    @classmethod
    def of(cls, page: Page[Any]) -> Connection:
        return cls(page, [encode_cursor(key) for key in page.keys])


@dataclass(frozen=True, slots=True)
class Edge:
    cursor: str
    node: Any


def _item(get: Callable[[Any], Any]) -> Reader:
    return Reader(item=get)


def _part(source: Source, get: Callable[[Any], Any]) -> Reader:
    return Reader(source=source, part=get)


# --- sources -----------------------------------------------------------------------------------


async def _tweet_counts(context: Context, tweets: Sequence[TweetRecord]) -> Sequence[Any]:
    return await tweet_queries.tweet_counts(context.core.db, [t.id for t in tweets])


async def _viewer_states(context: Context, tweets: Sequence[TweetRecord]) -> Sequence[Any]:
    if context.viewer_id is None:
        return [TweetViewerState()] * len(tweets)
    return await tweet_queries.viewer_tweet_states(
        context.core.db, context.viewer_id, [t.id for t in tweets]
    )


async def _authors(context: Context, tweets: Sequence[TweetRecord]) -> Sequence[Any]:
    return await user_queries.users_by_ids(context.core.db, [t.author_id for t in tweets])


async def _user_counts(context: Context, users: Sequence[UserRecord]) -> Sequence[Any]:
    return await user_queries.user_counts(context.core.db, [u.id for u in users])


async def _hashtags(context: Context, tweets: Sequence[TweetRecord]) -> Sequence[Any]:
    return await tweet_queries.hashtags_by_tweet_ids(context.core.db, [t.id for t in tweets])


async def _mentions(context: Context, tweets: Sequence[TweetRecord]) -> Sequence[Any]:
    return await tweet_queries.mentioned_users_by_tweet_ids(context.core.db, [t.id for t in tweets])


async def _velocities(context: Context, tweets: Sequence[TweetRecord]) -> Sequence[Any]:
    return await context.core.velocity.per_minute([t.id for t in tweets], time.time())


async def _conversation_ids(context: Context, tweets: Sequence[TweetRecord]) -> Sequence[Any]:
    """A conversation's first tweet's id when the viewer may see it, else a sealed id."""
    roots = sorted({t.conversation_id for t in tweets if t.conversation_id != t.id})
    found = (
        await tweet_queries.visible_tweets_by_ids(context.core.db, context.viewer_id, roots)
        if roots
        else []
    )
    visible = {root for root, tweet in zip(roots, found, strict=True) if tweet is not None}
    secret = context.core.settings.secret_key
    return [
        to_global_id("Tweet", t.conversation_id)
        if t.conversation_id == t.id or t.conversation_id in visible
        else sealed_conversation_id(secret, t.conversation_id)
        for t in tweets
    ]


async def _viewers_states(
    context: Context, viewer_ids: Sequence[int], tweets: Sequence[TweetRecord]
) -> Mapping[int, Sequence[Any]]:
    return await tweet_queries.viewer_tweet_states_of(
        context.core.db, viewer_ids, [t.id for t in tweets]
    )


async def _relationships(context: Context, users: Sequence[UserRecord]) -> Sequence[Any]:
    if context.viewer_id is None:
        return [NO_RELATIONSHIP] * len(users)
    return await graph_queries.relationships(
        context.core.db, context.viewer_id, [u.id for u in users]
    )


async def _viewers_relationships(
    context: Context, viewer_ids: Sequence[int], users: Sequence[UserRecord]
) -> Mapping[int, Sequence[Any]]:
    return await graph_queries.relationships_of(context.core.db, viewer_ids, [u.id for u in users])


async def _emails(context: Context, users: Sequence[UserRecord]) -> Sequence[Any]:
    """Only its owner sees an account's email."""
    return [u.email if context.viewer_id == u.id else None for u in users]


HASHTAGS = Source("hashtags", _hashtags)
MENTIONS = Source("mentions", _mentions)
VELOCITIES = Source("velocities", _velocities)
CONVERSATION_IDS = Source("conversation_ids", _conversation_ids, per_viewer=True)
RELATIONSHIPS = Source(
    "relationships", _relationships, per_viewer=True, load_for_viewers=_viewers_relationships
)
EMAILS = Source("emails", _emails, per_viewer=True)
TWEET_COUNTS = Source("tweet_counts", _tweet_counts)
VIEWER_STATES = Source(
    "viewer_states", _viewer_states, per_viewer=True, load_for_viewers=_viewers_states
)
AUTHORS = Source("authors", _authors)
USER_COUNTS = Source("user_counts", _user_counts)


async def _tweet_page_parts(
    context: Context, tweets: Sequence[TweetRecord]
) -> Sequence[tuple[Any, ...]]:
    return await tweet_queries.tweet_page_parts(context.core.db, context.viewer_id, tweets)


PAGE_PARTS = SourceGroup((AUTHORS, TWEET_COUNTS, VIEWER_STATES), _tweet_page_parts)
GROUPS = (PAGE_PARTS,)


# --- fields with arguments ---------------------------------------------------------------------


def _know_page_parts(
    known: Known, tweets: Sequence[TweetRecord], parts: Sequence[PageParts]
) -> None:
    """Parts a page's statement read with its tweets: the tweets' level takes them from here."""
    for position, source in enumerate(PAGE_PARTS.members):
        known.add(source, tweets, [part[position] for part in parts])


async def _home_timeline(
    context: Context, parents: Sequence[None], args: Mapping[str, Any], known: Known
) -> list[Connection]:
    viewer_id = context.require_viewer()
    parts: dict[int, PageParts] = {}
    page = await home_timeline.read(
        context.core, viewer_id, page_request(args.get("first"), args.get("after")), parts
    )
    _know_page_parts(known, page.items, [parts[tweet.id] for tweet in page.items])
    return [Connection.of(page)]


async def _bookmarks(
    context: Context, parents: Sequence[None], args: Mapping[str, Any], known: Known
) -> list[Connection]:
    viewer_id = context.require_viewer()
    page = await tweet_queries.bookmarked_tweets(
        context.core.db, viewer_id, page_request(args.get("first"), args.get("after"))
    )
    return [Connection.of(page)]


async def _user(
    context: Context, parents: Sequence[None], args: Mapping[str, Any], known: Known
) -> list[UserRecord | None]:
    [found] = await user_queries.users_with_counts_by_usernames(context.core.db, [_username(args)])
    if found is None:
        return [None]
    user, counts = found
    known.add(USER_COUNTS, [user], [counts])
    return [user]


def _username(args: Mapping[str, Any]) -> str:
    return str(args["username"]).strip().lstrip("@")


async def _user_with_tweets(
    context: Context,
    parents: Sequence[None],
    args: Mapping[str, Any],
    tweets_args: Mapping[str, Any],
    known: Known,
) -> list[UserRecord | None]:
    """``user(username:)`` with ``tweets(...)`` selected on it: both in one statement."""
    found = await tweet_queries.profile(
        context.core.db,
        context.viewer_id,
        _username(args),
        tweets_args["includeReplies"],
        page_request(tweets_args.get("first"), tweets_args.get("after")),
    )
    if found is None:
        return [None]
    known.add(USER_COUNTS, [found.user], [found.counts])
    _know_page_parts(known, found.tweets.items, found.parts)
    known.add_read(PROFILE_TWEETS, found.user, tweets_args, Connection.of(found.tweets))
    return [found.user]


async def _viewer(
    context: Context, parents: Sequence[None], args: Mapping[str, Any], known: Known
) -> list[UserRecord | None]:
    if context.viewer_id is None:
        return [None]
    return list(await user_queries.users_by_ids(context.core.db, [context.viewer_id]))


async def _tweet(
    context: Context, parents: Sequence[None], args: Mapping[str, Any], known: Known
) -> list[TweetRecord | None]:
    tweet_id = db_id_of(args["id"], "Tweet")
    if tweet_id is None:
        return [None]
    return list(
        await tweet_queries.visible_tweets_by_ids(context.core.db, context.viewer_id, [tweet_id])
    )


async def _profile_tweets(
    context: Context, users: Sequence[UserRecord], args: Mapping[str, Any], known: Known
) -> list[Connection]:
    request = page_request(args.get("first"), args.get("after"))
    pages = []
    for user in users:  # a profile shows one user; a list of users pages each
        page, parts = await tweet_queries.profile_tweets_with_parts(
            context.core.db, context.viewer_id, user.id, args["includeReplies"], request
        )
        _know_page_parts(known, page.items, parts)
        pages.append(Connection.of(page))
    return pages


PROFILE_TWEETS = Reader(batch=_profile_tweets, per_viewer=True)


def _visible_tweets(get_id: Callable[[TweetRecord], int | None]) -> Reader:
    async def load(
        context: Context, tweets: Sequence[TweetRecord], args: Mapping[str, Any], known: Known
    ) -> list[TweetRecord | None]:
        wanted = [get_id(t) for t in tweets]
        ids = sorted({i for i in wanted if i is not None})
        found = (
            await tweet_queries.visible_tweets_by_ids(context.core.db, context.viewer_id, ids)
            if ids
            else []
        )
        by_id = dict(zip(ids, found, strict=True))
        return [by_id.get(i) if i is not None else None for i in wanted]

    return Reader(batch=load, per_viewer=True)


def _edges(connection: Connection) -> list[Edge]:
    return [
        Edge(cursor, item)
        for cursor, item in zip(connection.cursors, connection.page.items, strict=True)
    ]


CONNECTION_FIELDS = {"edges": _item(_edges), "pageInfo": _item(lambda c: c)}
EDGE_FIELDS = {"cursor": _item(lambda e: e.cursor), "node": _item(lambda e: e.node)}

READERS: dict[tuple[str, str], Reader] = {
    ("Query", "homeTimeline"): Reader(batch=_home_timeline, per_viewer=True),
    ("Query", "bookmarks"): Reader(batch=_bookmarks, per_viewer=True),
    ("Query", "user"): Reader(
        batch=_user, per_viewer=True, fused=Fused(PROFILE_TWEETS, _user_with_tweets)
    ),
    ("Query", "viewer"): Reader(batch=_viewer, per_viewer=True),
    ("Query", "tweet"): Reader(batch=_tweet, per_viewer=True),
    **{("TweetConnection", name): reader for name, reader in CONNECTION_FIELDS.items()},
    **{("TweetEdge", name): reader for name, reader in EDGE_FIELDS.items()},
    ("PageInfo", "hasNextPage"): _item(lambda c: c.page.has_next_page),
    ("PageInfo", "hasPreviousPage"): _item(lambda c: False),
    ("PageInfo", "startCursor"): _item(lambda c: c.cursors[0] if c.cursors else None),
    ("PageInfo", "endCursor"): _item(lambda c: c.cursors[-1] if c.cursors else None),
    ("Tweet", "id"): _item(lambda t: to_global_id("Tweet", t.id)),
    ("Tweet", "text"): _item(lambda t: t.text),
    ("Tweet", "createdAt"): _item(lambda t: t.created_at),
    ("Tweet", "editedAt"): _item(lambda t: t.edited_at),
    ("Tweet", "author"): _part(AUTHORS, lambda user: user),
    ("Tweet", "replyTo"): _visible_tweets(lambda t: t.reply_to_tweet_id),
    ("Tweet", "quoted"): _visible_tweets(lambda t: t.quote_of_tweet_id),
    ("Tweet", "retweetOf"): _visible_tweets(lambda t: t.retweet_of_tweet_id),
    ("Tweet", "conversationId"): _part(CONVERSATION_IDS, lambda i: i),
    ("Tweet", "hashtags"): _part(HASHTAGS, lambda tags: tags),
    ("Tweet", "mentions"): _part(MENTIONS, lambda users: users),
    ("Tweet", "engagementVelocity"): _part(VELOCITIES, lambda v: v),
    ("Tweet", "likeCount"): _part(TWEET_COUNTS, lambda c: c.like_count),
    ("Tweet", "retweetCount"): _part(TWEET_COUNTS, lambda c: c.retweet_count),
    ("Tweet", "replyCount"): _part(TWEET_COUNTS, lambda c: c.reply_count),
    ("Tweet", "quoteCount"): _part(TWEET_COUNTS, lambda c: c.quote_count),
    ("Tweet", "bookmarkCount"): _part(TWEET_COUNTS, lambda c: c.bookmark_count),
    ("Tweet", "viewerHasLiked"): _part(VIEWER_STATES, lambda s: s.liked),
    ("Tweet", "viewerHasRetweeted"): _part(VIEWER_STATES, lambda s: s.retweeted),
    ("Tweet", "viewerHasBookmarked"): _part(VIEWER_STATES, lambda s: s.bookmarked),
    ("User", "id"): _item(lambda u: to_global_id("User", u.id)),
    ("User", "username"): _item(lambda u: u.username),
    ("User", "displayName"): _item(lambda u: u.display_name),
    ("User", "bio"): _item(lambda u: u.bio),
    ("User", "location"): _item(lambda u: u.location),
    ("User", "website"): _item(lambda u: u.website),
    ("User", "region"): _item(lambda u: u.region),
    ("User", "verified"): _item(lambda u: u.verified),
    ("User", "protected"): _item(lambda u: u.protected),
    ("User", "createdAt"): _item(lambda u: u.created_at),
    ("User", "followersCount"): _part(USER_COUNTS, lambda c: c.followers_count),
    ("User", "followingCount"): _part(USER_COUNTS, lambda c: c.following_count),
    ("User", "tweetsCount"): _part(USER_COUNTS, lambda c: c.tweets_count),
    ("User", "likesCount"): _part(USER_COUNTS, lambda c: c.likes_count),
    ("User", "email"): _part(EMAILS, lambda e: e),
    ("User", "viewerIsFollowing"): _part(RELATIONSHIPS, lambda r: r.viewer_follows),
    ("User", "followsViewer"): _part(RELATIONSHIPS, lambda r: r.follows_viewer),
    ("User", "viewerHasRequestedFollow"): _part(RELATIONSHIPS, lambda r: r.follow_requested),
    ("User", "viewerIsBlocking"): _part(RELATIONSHIPS, lambda r: r.viewer_blocks),
    ("User", "blocksViewer"): _part(RELATIONSHIPS, lambda r: r.blocks_viewer),
    ("User", "viewerIsMuting"): _part(RELATIONSHIPS, lambda r: r.viewer_mutes),
    ("User", "tweets"): PROFILE_TWEETS,
}
