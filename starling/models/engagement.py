"""Likes and bookmarks: one row per (tweet, user), so a double click counts once."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, timestamp_now


class Like(Base):
    __tablename__ = "likes"
    __table_args__ = (
        Index("ix_likes_user_recent", "user_id", text("created_at DESC"), text("tweet_id DESC")),
    )

    tweet_id: Mapped[int] = mapped_column(
        ForeignKey("tweets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[timestamp_now]


class Bookmark(Base):
    __tablename__ = "bookmarks"
    __table_args__ = (
        Index(
            "ix_bookmarks_user_recent", "user_id", text("created_at DESC"), text("tweet_id DESC")
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tweet_id: Mapped[int] = mapped_column(
        ForeignKey("tweets.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[timestamp_now]
