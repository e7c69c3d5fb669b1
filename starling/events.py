"""Domain events: one frozen dataclass per kind of thing that happened.

A service emits an event inside the write's transaction (``UnitOfWork.emit``); the outbox keeps
it as ``kind`` + a versioned JSON payload; each consumer (``starling.consumers``) declares the
kinds it handles and gets its own delivery of each. Payloads are ids only: consumers load what
they need, and treat a row that is gone as done.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str]
    # Bumped when a kind's fields change incompatibly; ``decode`` reads every version it knows.
    version: ClassVar[int] = 1

    def payload(self) -> dict[str, Any]:
        return {"v": self.version, **dataclasses.asdict(self)}


@dataclass(frozen=True, kw_only=True)
class TweetPosted(Event):
    """A tweet, reply, quote or retweet (``original_id`` set) was posted."""

    kind: ClassVar[str] = "tweet.posted"
    tweet_id: int
    author_id: int
    original_id: int | None = None
    original_author_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class TweetEdited(Event):
    kind: ClassVar[str] = "tweet.edited"
    tweet_id: int
    author_id: int


@dataclass(frozen=True, kw_only=True)
class TweetRemoved(Event):
    """A tweet was deleted, or a retweet undone (``original_id`` set)."""

    kind: ClassVar[str] = "tweet.removed"
    tweet_id: int
    author_id: int
    original_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class TweetLiked(Event):
    kind: ClassVar[str] = "tweet.liked"
    tweet_id: int
    author_id: int
    user_id: int


@dataclass(frozen=True, kw_only=True)
class TweetUnliked(Event):
    kind: ClassVar[str] = "tweet.unliked"
    tweet_id: int
    user_id: int


@dataclass(frozen=True, kw_only=True)
class TweetBookmarked(Event):
    kind: ClassVar[str] = "tweet.bookmarked"
    tweet_id: int
    user_id: int


@dataclass(frozen=True, kw_only=True)
class TweetUnbookmarked(Event):
    kind: ClassVar[str] = "tweet.unbookmarked"
    tweet_id: int
    user_id: int


@dataclass(frozen=True, kw_only=True)
class FollowCreated(Event):
    kind: ClassVar[str] = "follow.created"
    follower_id: int
    followee_id: int


@dataclass(frozen=True, kw_only=True)
class FollowRemoved(Event):
    kind: ClassVar[str] = "follow.removed"
    follower_id: int
    followee_id: int


@dataclass(frozen=True, kw_only=True)
class FollowRequested(Event):
    kind: ClassVar[str] = "follow.requested"
    follower_id: int
    followee_id: int


@dataclass(frozen=True, kw_only=True)
class FollowAccepted(Event):
    kind: ClassVar[str] = "follow.accepted"
    follower_id: int
    followee_id: int


@dataclass(frozen=True, kw_only=True)
class BlockCreated(Event):
    kind: ClassVar[str] = "block.created"
    blocker_id: int
    blocked_id: int


@dataclass(frozen=True, kw_only=True)
class ProtectionChanged(Event):
    """An account became protected or public: the counts its tweets feed were moved."""

    kind: ClassVar[str] = "user.protection_changed"
    user_id: int
    protected: bool


@dataclass(frozen=True, kw_only=True)
class ProfileChanged(Event):
    """An account was created or its public profile changed (what people search matches)."""

    kind: ClassVar[str] = "user.profile_changed"
    user_id: int


KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        TweetPosted,
        TweetEdited,
        TweetRemoved,
        TweetLiked,
        TweetUnliked,
        TweetBookmarked,
        TweetUnbookmarked,
        FollowCreated,
        FollowRemoved,
        FollowRequested,
        FollowAccepted,
        BlockCreated,
        ProtectionChanged,
        ProfileChanged,
    )
}


class UnknownEvent(ValueError):
    """A kind or version this code does not know (written by a newer release)."""


def decode(kind: str, payload: dict[str, Any]) -> Event:
    cls = KINDS.get(kind)
    if cls is None:
        raise UnknownEvent(f"unknown event kind {kind!r}")
    fields = dict(payload)
    version = fields.pop("v", 1)
    if version > cls.version:
        raise UnknownEvent(f"{kind} version {version} is newer than this code's {cls.version}")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in fields.items() if k in names})
