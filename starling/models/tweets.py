"""Tweets, their immutable versions, and what they link to (hashtags, mentions, media)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Computed,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from starling.language import STEMMED
from starling.models.base import Base, snowflake_pk, timestamp_now

# Growing language.STEMMED needs a migration that generates the column again (see 0009).
_STEMMED_CASES = " ".join(
    f"WHEN '{code}' THEN to_tsvector('{name}'::regconfig, text)"
    for code, name in sorted(STEMMED.items())
)
_SEARCH_VECTOR = (
    f"to_tsvector('simple'::regconfig, text) || CASE lang {_STEMMED_CASES} ELSE ''::tsvector END"
)


class Tweet(Base):
    """A tweet, reply, quote or retweet (a retweet is a row with ``retweet_of_tweet_id`` and no text).

    ``text`` mirrors the current version so reads need no join; ``tweet_versions`` keeps history.
    """

    __tablename__ = "tweets"
    __table_args__ = (
        Index("ix_tweets_author_recent", "author_id", sql("id DESC")),
        Index("ix_tweets_conversation", "conversation_id", "id"),
        Index(
            "ix_tweets_replies",
            "reply_to_tweet_id",
            "id",
            postgresql_where=sql("reply_to_tweet_id IS NOT NULL"),
        ),
        Index(
            "ix_tweets_quotes",
            "quote_of_tweet_id",
            "id",
            postgresql_where=sql("quote_of_tweet_id IS NOT NULL"),
        ),
        # One live retweet per user per tweet.
        Index(
            "uq_tweets_one_retweet",
            "retweet_of_tweet_id",
            "author_id",
            unique=True,
            postgresql_where=sql("retweet_of_tweet_id IS NOT NULL AND deleted_at IS NULL"),
        ),
        Index(
            "uq_tweets_idempotency",
            "author_id",
            "idempotency_key",
            unique=True,
            postgresql_where=sql("idempotency_key IS NOT NULL"),
        ),
        Index("ix_tweets_purge", "deleted_at", postgresql_where=sql("deleted_at IS NOT NULL")),
        Index(
            "ix_tweets_search",
            "search_vector",
            postgresql_using="gin",
            postgresql_where=sql("deleted_at IS NULL"),
        ),
    )

    id: Mapped[snowflake_pk]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, server_default=sql("''"))
    lang: Mapped[str | None] = mapped_column(String(8))
    reply_to_tweet_id: Mapped[int | None] = mapped_column(
        ForeignKey("tweets.id", ondelete="SET NULL")
    )
    reply_to_user_id: Mapped[int | None] = mapped_column(BigInteger)
    conversation_id: Mapped[int] = mapped_column(BigInteger)
    quote_of_tweet_id: Mapped[int | None] = mapped_column(
        ForeignKey("tweets.id", ondelete="SET NULL")
    )
    # A retweet goes when the original is purged.
    retweet_of_tweet_id: Mapped[int | None] = mapped_column(
        ForeignKey("tweets.id", ondelete="CASCADE")
    )
    current_version_id: Mapped[int | None] = mapped_column(BigInteger)
    content_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    edit_count: Mapped[int] = mapped_column(SmallInteger, server_default=sql("0"))
    created_at: Mapped[timestamp_now]
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # Generated from ``text`` by PostgreSQL (migrations 0006, 0009), so it can never lag behind
    # it: the words as written, and stemmed in the tweet's language when it has a stemmer.
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed(_SEARCH_VECTOR, persisted=True), deferred=True
    )


class TweetVersion(Base):
    """One immutable text of a tweet; an edit adds a row, never changes one."""

    __tablename__ = "tweet_versions"
    __table_args__ = (Index("uq_tweet_versions_number", "tweet_id", "number", unique=True),)

    id: Mapped[snowflake_pk]
    tweet_id: Mapped[int] = mapped_column(ForeignKey("tweets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp_now]


class TweetHashtag(Base):
    __tablename__ = "tweet_hashtags"
    __table_args__ = (
        Index("ix_tweet_hashtags_tag_recent", "tag", sql("tweet_id DESC")),
        # Autocomplete: tags by prefix, recent ones by id range.
        Index(
            "ix_tweet_hashtags_tag_prefix",
            "tag",
            "tweet_id",
            postgresql_ops={"tag": "text_pattern_ops"},
        ),
    )

    tweet_id: Mapped[int] = mapped_column(
        ForeignKey("tweets.id", ondelete="CASCADE"), primary_key=True
    )
    # Lower-cased for matching; the tweet text keeps the author's spelling.
    tag: Mapped[str] = mapped_column(String(140), primary_key=True)


class TweetMention(Base):
    __tablename__ = "tweet_mentions"
    __table_args__ = (Index("ix_tweet_mentions_user_recent", "user_id", sql("tweet_id DESC")),)

    tweet_id: Mapped[int] = mapped_column(
        ForeignKey("tweets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class TweetMedia(Base):
    __tablename__ = "tweet_media"
    __table_args__ = (Index("ix_tweet_media_media", "media_id"),)

    tweet_id: Mapped[int] = mapped_column(
        ForeignKey("tweets.id", ondelete="CASCADE"), primary_key=True
    )
    media_id: Mapped[int] = mapped_column(
        ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)


class TweetStats(Base):
    """Flushed counters; the live value adds the pending ``counter_deltas``."""

    __tablename__ = "tweet_stats"

    tweet_id: Mapped[int] = mapped_column(
        ForeignKey("tweets.id", ondelete="CASCADE"), primary_key=True
    )
    like_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    retweet_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    reply_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    quote_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    bookmark_count: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
