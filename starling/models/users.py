"""Accounts: users, their counters and settings, login sessions, API clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base, snowflake_pk, timestamp_now


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # Usernames and emails are unique whatever their case.
        Index("uq_users_username_lower", func.lower(text("username")), unique=True),
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        # The few protected accounts, for the visibility rule's anti-join.
        Index("ix_users_protected", "id", postgresql_where=text("protected")),
        # Search: fuzzy matches on names (pg_trgm) and username prefixes (autocomplete).
        Index(
            "ix_users_username_trgm",
            func.lower(text("username")),
            postgresql_using="gin",
            postgresql_ops={"lower(username)": "gin_trgm_ops"},
        ),
        Index(
            "ix_users_display_name_trgm",
            func.lower(text("display_name")),
            postgresql_using="gin",
            postgresql_ops={"lower(display_name)": "gin_trgm_ops"},
        ),
        Index(
            "ix_users_username_prefix",
            func.lower(text("username")),
            postgresql_ops={"lower(username)": "text_pattern_ops"},
        ),
        CheckConstraint("username ~ '^[A-Za-z0-9_]{1,15}$'", name="username_format"),
    )

    id: Mapped[snowflake_pk]
    username: Mapped[str] = mapped_column(String(15))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(50))
    bio: Mapped[str | None] = mapped_column(String(160))
    location: Mapped[str | None] = mapped_column(String(30))
    website: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(2))
    avatar_media_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("media.id", ondelete="SET NULL", use_alter=True)
    )
    banner_media_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("media.id", ondelete="SET NULL", use_alter=True)
    )
    verified: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    protected: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]
    # Fan-out skips followers inactive for a while; their home timeline is rebuilt on return.
    last_active_at: Mapped[timestamp_now]


class UserStats(Base):
    __tablename__ = "user_stats"
    # Autocomplete on a short prefix walks users from the most followed down.
    __table_args__ = (Index("ix_user_stats_followers", text("followers_count DESC"), "user_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followers_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    following_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tweets_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    likes_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated_at: Mapped[timestamp_now]


class UserSettings(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(10), server_default=text("'en'"))
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'UTC'"))
    notification_preferences: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    privacy_settings: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    updated_at: Mapped[timestamp_now]


class Session(Base):
    """A login: the client holds an opaque token, we keep only its SHA-256."""

    __tablename__ = "sessions"

    id: Mapped[snowflake_pk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_agent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[timestamp_now]
    last_used_at: Mapped[timestamp_now]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiClient(Base):
    """A third-party client: its key (hashed), its rate plan in points an hour, and whether it
    may send only its registered documents."""

    __tablename__ = "api_clients"

    id: Mapped[snowflake_pk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    trusted_documents_only: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    points_per_hour: Mapped[int] = mapped_column(Integer, server_default=text("5000"))
    created_at: Mapped[timestamp_now]
    revoked_at: Mapped[datetime | None]


class PersistedDocument(Base):
    """A GraphQL document registered by some client, by the SHA-256 of its text."""

    __tablename__ = "persisted_documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp_now]


class ClientDocument(Base):
    """A client's registration of a document under an id (its manifest's, or ``sha256:<hex>``)."""

    __tablename__ = "client_documents"
    __table_args__ = (Index("ix_client_documents_sha256", "sha256", "client_id"),)

    client_id: Mapped[int] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("persisted_documents.sha256"))
    created_at: Mapped[timestamp_now]
