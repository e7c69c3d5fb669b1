"""The social graph: follows (stored both ways), follow requests, blocks and mutes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, timestamp_now


def _user_fk(primary_key: bool = True) -> Any:
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=primary_key)


class Follower(Base):
    """``follower_id`` follows ``user_id``: "who follows X" is one range scan on user_id."""

    __tablename__ = "followers"
    __table_args__ = (Index("ix_followers_recent", "user_id", "created_at", "follower_id"),)

    user_id: Mapped[int] = _user_fk()
    follower_id: Mapped[int] = _user_fk()
    created_at: Mapped[timestamp_now]


class Following(Base):
    """``user_id`` follows ``following_id``: written in the same transaction as ``Follower``."""

    __tablename__ = "following"
    __table_args__ = (Index("ix_following_recent", "user_id", "created_at", "following_id"),)

    user_id: Mapped[int] = _user_fk()
    following_id: Mapped[int] = _user_fk()
    created_at: Mapped[timestamp_now]


class FollowRequest(Base):
    """A pending follow of a protected account, until its owner approves or rejects it."""

    __tablename__ = "follow_requests"
    __table_args__ = (Index("ix_follow_requests_requester", "requester_id", "target_id"),)

    target_id: Mapped[int] = _user_fk()
    requester_id: Mapped[int] = _user_fk()
    created_at: Mapped[timestamp_now]


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (Index("ix_blocks_blocked", "blocked_id", "blocker_id"),)

    blocker_id: Mapped[int] = _user_fk()
    blocked_id: Mapped[int] = _user_fk()
    created_at: Mapped[timestamp_now]


class Mute(Base):
    __tablename__ = "mutes"

    muter_id: Mapped[int] = _user_fk()
    muted_id: Mapped[int] = _user_fk()
    created_at: Mapped[timestamp_now]
