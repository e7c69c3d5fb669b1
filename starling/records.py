"""What the read paths return: immutable, typed snapshots of users, tweets, versions, notifications.

One shape whatever the source (a Core row from a batched read, an ORM instance a service just
wrote), so the GraphQL types, dataloaders and live deliveries are typed against one thing. A
record carries what readers need and nothing secret (no password hash, no idempotency key).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar

from sqlalchemy import Column, Row
from typing_extensions import dataclass_transform

from starling.models import (
    Media,
    MediaKind,
    MediaStatus,
    Notification,
    NotificationKind,
    Tweet,
    TweetVersion,
    User,
)
from starling.models.base import Base, table_of

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def record(cls: type[_T]) -> type[_T]:
    """A slotted dataclass that the type checker holds immutable. Not ``frozen=True`` at run
    time: a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    eight times the cost of a plain one, and records are built for every row of every page."""
    return dataclasses.dataclass(slots=True)(cls)


class _Record:
    """``of`` reads a record's fields by name from any object that has them."""

    __slots__ = ()
    _read: ClassVar[Callable[[Any], tuple[Any, ...]]]
    _names: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls) -> None:
        cls._names = tuple(cls.__annotations__)
        cls._read = operator.attrgetter(*cls._names)

    @classmethod
    def of(cls, source: object) -> Self:
        # A row of ``select(*COLUMNS)`` already holds the fields in order: reading them by
        # position skips a name lookup per field (most of a page's record-building time).
        if isinstance(source, Row) and source._fields == cls._names:
            return cls(*source)
        return cls(*cls._read(source))

    @classmethod
    def of_values(cls, values: Iterable[Any]) -> Self:
        """From a row of ``select(*COLUMNS)`` read with ``Database.fetch`` (fields in order)."""
        return cls(*values)


@record
class UserRecord(_Record):
    id: int
    username: str
    email: str
    display_name: str
    bio: str | None
    location: str | None
    website: str | None
    region: str | None
    verified: bool
    protected: bool
    created_at: datetime
    avatar_media_id: int | None = None
    banner_media_id: int | None = None


@record
class TweetRecord(_Record):
    id: int
    author_id: int
    text: str
    lang: str | None
    reply_to_tweet_id: int | None
    reply_to_user_id: int | None
    conversation_id: int
    quote_of_tweet_id: int | None
    retweet_of_tweet_id: int | None
    edit_count: int
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None


@record
class TweetVersionRecord(_Record):
    id: int
    tweet_id: int
    number: int
    text: str
    created_at: datetime


@record
class NotificationRecord(_Record):
    id: int
    recipient_id: int
    kind: NotificationKind
    tweet_id: int | None
    actor_ids: list[int]
    actor_count: int
    created_at: datetime
    updated_at: datetime
    read_at: datetime | None


@record
class MediaRecord(_Record):
    id: int
    owner_id: int
    kind: MediaKind
    status: MediaStatus
    mime_type: str | None
    width: int | None
    height: int | None
    duration_ms: int | None
    blurhash: str | None
    alt_text: str | None
    storage_key: str | None
    variants: dict[str, Any]
    error: str | None


def _columns(record: type[_Record], model: type[Base]) -> tuple[Column[Any], ...]:
    table = table_of(model)
    return tuple(table.c[field.name] for field in dataclasses.fields(record))  # type: ignore[arg-type]


USER_COLUMNS = _columns(UserRecord, User)
"""The columns a ``UserRecord`` is read from, for ``select(*USER_COLUMNS)``."""
TWEET_COLUMNS = _columns(TweetRecord, Tweet)
VERSION_COLUMNS = _columns(TweetVersionRecord, TweetVersion)
NOTIFICATION_COLUMNS = _columns(NotificationRecord, Notification)
MEDIA_COLUMNS = _columns(MediaRecord, Media)
