"""Uploaded images and videos, processed by a worker into variants."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, snowflake_pk, text_enum, timestamp_now


class MediaKind(StrEnum):
    IMAGE = "image"
    GIF = "gif"
    VIDEO = "video"


class MediaStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (
        Index("ix_media_owner_recent", "owner_id", text("id DESC")),
        Index("ix_media_content_hash", "content_hash"),
    )

    id: Mapped[snowflake_pk]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[MediaKind] = mapped_column(text_enum(MediaKind, "media_kind"))
    status: Mapped[MediaStatus] = mapped_column(
        text_enum(MediaStatus, "media_status"), server_default=MediaStatus.PENDING.value
    )
    mime_type: Mapped[str | None] = mapped_column(String(100))
    byte_size: Mapped[int | None] = mapped_column(BigInteger)
    # Content-addressed storage: the key is derived from the SHA-256 of the original bytes.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(255))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    blurhash: Mapped[str | None] = mapped_column(String(64))
    alt_text: Mapped[str | None] = mapped_column(String(1000))
    variants: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
