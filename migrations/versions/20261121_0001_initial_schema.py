"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 12:21:53.759391
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Time-ordered 53-bit ids (41 bits of milliseconds since 2025-01-01, 12 bits of sequence), exact as
# Redis scores; see starling/ids.py, which must agree with this.
NEXT_ID_FUNCTION = """
CREATE FUNCTION starling_next_id() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
  SELECT ((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1735689600000) << 12)
         | (nextval('starling_id_seq') % 4096)
$$;
"""


def upgrade() -> None:
    op.execute("CREATE SEQUENCE starling_id_seq")
    op.execute(NEXT_ID_FUNCTION)
    op.create_table(
        "outbox",
        sa.Column(
            "id", sa.BigInteger(), server_default=sa.text("starling_next_id()"), nullable=False
        ),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "users",
        sa.Column(
            "id", sa.BigInteger(), server_default=sa.text("starling_next_id()"), nullable=False
        ),
        sa.Column("username", sa.String(length=15), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("bio", sa.String(length=160), nullable=True),
        sa.Column("location", sa.String(length=30), nullable=True),
        sa.Column("website", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=2), nullable=True),
        sa.Column("avatar_media_id", sa.BigInteger(), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("protected", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_active_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "username ~ '^[A-Za-z0-9_]{1,15}$'", name=op.f("ck_users_username_format")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_index(
        "uq_users_username_lower", "users", [sa.literal_column("lower(username)")], unique=True
    )
    op.create_table(
        "api_clients",
        sa.Column(
            "id", sa.BigInteger(), server_default=sa.text("starling_next_id()"), nullable=False
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("key_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column(
            "trusted_documents_only", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column(
            "requests_per_minute", sa.Integer(), server_default=sa.text("600"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_api_clients_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_clients_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_clients_name")),
    )
    op.create_table(
        "blocks",
        sa.Column("blocker_id", sa.BigInteger(), nullable=False),
        sa.Column("blocked_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["blocked_id"],
            ["users.id"],
            name=op.f("fk_blocks_blocked_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blocker_id"],
            ["users.id"],
            name=op.f("fk_blocks_blocker_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name=op.f("pk_blocks")),
    )
    op.create_index("ix_blocks_blocked", "blocks", ["blocked_id", "blocker_id"], unique=False)
    op.create_table(
        "follow_requests",
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_follow_requests_requester_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["users.id"],
            name=op.f("fk_follow_requests_target_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("target_id", "requester_id", name=op.f("pk_follow_requests")),
    )
    op.create_index(
        "ix_follow_requests_requester",
        "follow_requests",
        ["requester_id", "target_id"],
        unique=False,
    )
    op.create_table(
        "followers",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("follower_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["follower_id"],
            ["users.id"],
            name=op.f("fk_followers_follower_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_followers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "follower_id", name=op.f("pk_followers")),
    )
    op.create_index(
        "ix_followers_recent", "followers", ["user_id", "created_at", "follower_id"], unique=False
    )
    op.create_table(
        "following",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("following_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["following_id"],
            ["users.id"],
            name=op.f("fk_following_following_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_following_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "following_id", name=op.f("pk_following")),
    )
    op.create_index(
        "ix_following_recent", "following", ["user_id", "created_at", "following_id"], unique=False
    )
    op.create_table(
        "media",
        sa.Column(
            "id", sa.BigInteger(), server_default=sa.text("starling_next_id()"), nullable=False
        ),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "image",
                "gif",
                "video",
                name="media_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "ready",
                "failed",
                name="media_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("mime_type", sa.String(length=100), nullable=True),
        sa.Column("byte_size", sa.BigInteger(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("storage_key", sa.String(length=255), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("blurhash", sa.String(length=64), nullable=True),
        sa.Column("alt_text", sa.String(length=1000), nullable=True),
        sa.Column(
            "variants",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_media_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    op.create_foreign_key(
        op.f("fk_users_avatar_media_id_media"),
        "users",
        "media",
        ["avatar_media_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index("ix_media_content_hash", "media", ["content_hash"], unique=False)
    op.create_index(
        "ix_media_owner_recent", "media", ["owner_id", sa.literal_column("id DESC")], unique=False
    )
    op.create_table(
        "mutes",
        sa.Column("muter_id", sa.BigInteger(), nullable=False),
        sa.Column("muted_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["muted_id"], ["users.id"], name=op.f("fk_mutes_muted_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["muter_id"], ["users.id"], name=op.f("fk_mutes_muter_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("muter_id", "muted_id", name=op.f("pk_mutes")),
    )
    op.create_table(
        "notifications",
        sa.Column(
            "id", sa.BigInteger(), server_default=sa.text("starling_next_id()"), nullable=False
        ),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "mention",
                "reply",
                "quote",
                "like",
                "retweet",
                "follow",
                "follow_request",
                "follow_accepted",
                name="notif_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("tweet_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_ids", sa.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("actor_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_notifications_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_group",
        "notifications",
        ["recipient_id", "group_key", sa.literal_column("updated_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_notifications_recipient_recent",
        "notifications",
        ["recipient_id", sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["recipient_id"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_table(
        "sessions",
        sa.Column(
            "id", sa.BigInteger(), server_default=sa.text("starling_next_id()"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_used_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    op.create_index(op.f("ix_sessions_expires_at"), "sessions", ["expires_at"], unique=False)
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"], unique=False)
    op.create_table(
        "tweets",
        sa.Column(
            "id", sa.BigInteger(), server_default=sa.text("starling_next_id()"), nullable=False
        ),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("reply_to_tweet_id", sa.BigInteger(), nullable=True),
        sa.Column("reply_to_user_id", sa.BigInteger(), nullable=True),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("quote_of_tweet_id", sa.BigInteger(), nullable=True),
        sa.Column("retweet_of_tweet_id", sa.BigInteger(), nullable=True),
        sa.Column("current_version_id", sa.BigInteger(), nullable=True),
        sa.Column("content_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("edit_count", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_tweets_author_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["quote_of_tweet_id"],
            ["tweets.id"],
            name=op.f("fk_tweets_quote_of_tweet_id_tweets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reply_to_tweet_id"],
            ["tweets.id"],
            name=op.f("fk_tweets_reply_to_tweet_id_tweets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["retweet_of_tweet_id"],
            ["tweets.id"],
            name=op.f("fk_tweets_retweet_of_tweet_id_tweets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tweets")),
    )
    op.create_index(
        "ix_tweets_author_recent",
        "tweets",
        ["author_id", sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index("ix_tweets_conversation", "tweets", ["conversation_id", "id"], unique=False)
    op.create_index(
        "ix_tweets_purge",
        "tweets",
        ["deleted_at"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tweets_quotes",
        "tweets",
        ["quote_of_tweet_id", "id"],
        unique=False,
        postgresql_where=sa.text("quote_of_tweet_id IS NOT NULL"),
    )
    op.create_index(
        "ix_tweets_replies",
        "tweets",
        ["reply_to_tweet_id", "id"],
        unique=False,
        postgresql_where=sa.text("reply_to_tweet_id IS NOT NULL"),
    )
    op.create_index(
        "uq_tweets_idempotency",
        "tweets",
        ["author_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(
        "uq_tweets_one_retweet",
        "tweets",
        ["retweet_of_tweet_id", "author_id"],
        unique=True,
        postgresql_where=sa.text("retweet_of_tweet_id IS NOT NULL AND deleted_at IS NULL"),
    )
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=10), server_default=sa.text("'en'"), nullable=False),
        sa.Column(
            "timezone", sa.String(length=64), server_default=sa.text("'UTC'"), nullable=False
        ),
        sa.Column(
            "notification_preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "privacy_settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_settings")),
    )
    op.create_table(
        "user_stats",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("followers_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("following_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("tweets_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("likes_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_stats_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_stats")),
    )
    op.create_table(
        "bookmarks",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("tweet_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tweet_id"],
            ["tweets.id"],
            name=op.f("fk_bookmarks_tweet_id_tweets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_bookmarks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "tweet_id", name=op.f("pk_bookmarks")),
    )
    op.create_index(
        "ix_bookmarks_user_recent",
        "bookmarks",
        ["user_id", sa.literal_column("created_at DESC"), sa.literal_column("tweet_id DESC")],
        unique=False,
    )
    op.create_table(
        "likes",
        sa.Column("tweet_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tweet_id"], ["tweets.id"], name=op.f("fk_likes_tweet_id_tweets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_likes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tweet_id", "user_id", name=op.f("pk_likes")),
    )
    op.create_index(
        "ix_likes_user_recent",
        "likes",
        ["user_id", sa.literal_column("created_at DESC"), sa.literal_column("tweet_id DESC")],
        unique=False,
    )
    op.create_table(
        "persisted_documents",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=True),
        sa.Column("trusted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name=op.f("fk_persisted_documents_client_id_api_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_persisted_documents")),
    )
    op.create_index(
        op.f("ix_persisted_documents_client_id"), "persisted_documents", ["client_id"], unique=False
    )
    op.create_table(
        "tweet_hashtags",
        sa.Column("tweet_id", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.String(length=140), nullable=False),
        sa.ForeignKeyConstraint(
            ["tweet_id"],
            ["tweets.id"],
            name=op.f("fk_tweet_hashtags_tweet_id_tweets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tweet_id", "tag", name=op.f("pk_tweet_hashtags")),
    )
    op.create_index(
        "ix_tweet_hashtags_tag_recent",
        "tweet_hashtags",
        ["tag", sa.literal_column("tweet_id DESC")],
        unique=False,
    )
    op.create_table(
        "tweet_media",
        sa.Column("tweet_id", sa.BigInteger(), nullable=False),
        sa.Column("media_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_tweet_media_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tweet_id"],
            ["tweets.id"],
            name=op.f("fk_tweet_media_tweet_id_tweets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tweet_id", "media_id", name=op.f("pk_tweet_media")),
    )
    op.create_index("ix_tweet_media_media", "tweet_media", ["media_id"], unique=False)
    op.create_table(
        "tweet_mentions",
        sa.Column("tweet_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tweet_id"],
            ["tweets.id"],
            name=op.f("fk_tweet_mentions_tweet_id_tweets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_tweet_mentions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tweet_id", "user_id", name=op.f("pk_tweet_mentions")),
    )
    op.create_index(
        "ix_tweet_mentions_user_recent",
        "tweet_mentions",
        ["user_id", sa.literal_column("tweet_id DESC")],
        unique=False,
    )
    op.create_table(
        "tweet_stats",
        sa.Column("tweet_id", sa.BigInteger(), nullable=False),
        sa.Column("like_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("retweet_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reply_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("quote_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("bookmark_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tweet_id"],
            ["tweets.id"],
            name=op.f("fk_tweet_stats_tweet_id_tweets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tweet_id", name=op.f("pk_tweet_stats")),
    )
    op.create_table(
        "tweet_versions",
        sa.Column(
            "id", sa.BigInteger(), server_default=sa.text("starling_next_id()"), nullable=False
        ),
        sa.Column("tweet_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tweet_id"],
            ["tweets.id"],
            name=op.f("fk_tweet_versions_tweet_id_tweets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tweet_versions")),
    )
    op.create_index(
        "uq_tweet_versions_number", "tweet_versions", ["tweet_id", "number"], unique=True
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_users_avatar_media_id_media"), "users", type_="foreignkey")
    op.drop_index("uq_tweet_versions_number", table_name="tweet_versions")
    op.drop_table("tweet_versions")
    op.drop_table("tweet_stats")
    op.drop_index("ix_tweet_mentions_user_recent", table_name="tweet_mentions")
    op.drop_table("tweet_mentions")
    op.drop_index("ix_tweet_media_media", table_name="tweet_media")
    op.drop_table("tweet_media")
    op.drop_index("ix_tweet_hashtags_tag_recent", table_name="tweet_hashtags")
    op.drop_table("tweet_hashtags")
    op.drop_index(op.f("ix_persisted_documents_client_id"), table_name="persisted_documents")
    op.drop_table("persisted_documents")
    op.drop_index("ix_likes_user_recent", table_name="likes")
    op.drop_table("likes")
    op.drop_index("ix_bookmarks_user_recent", table_name="bookmarks")
    op.drop_table("bookmarks")
    op.drop_table("user_stats")
    op.drop_table("user_settings")
    op.drop_index(
        "uq_tweets_one_retweet",
        table_name="tweets",
        postgresql_where=sa.text("retweet_of_tweet_id IS NOT NULL AND deleted_at IS NULL"),
    )
    op.drop_index(
        "uq_tweets_idempotency",
        table_name="tweets",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_index(
        "ix_tweets_replies",
        table_name="tweets",
        postgresql_where=sa.text("reply_to_tweet_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_tweets_quotes",
        table_name="tweets",
        postgresql_where=sa.text("quote_of_tweet_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_tweets_purge", table_name="tweets", postgresql_where=sa.text("deleted_at IS NOT NULL")
    )
    op.drop_index("ix_tweets_conversation", table_name="tweets")
    op.drop_index("ix_tweets_author_recent", table_name="tweets")
    op.drop_table("tweets")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
    op.drop_index(op.f("ix_sessions_expires_at"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(
        "ix_notifications_unread",
        table_name="notifications",
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.drop_index("ix_notifications_recipient_recent", table_name="notifications")
    op.drop_index("ix_notifications_group", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("mutes")
    op.drop_index("ix_media_owner_recent", table_name="media")
    op.drop_index("ix_media_content_hash", table_name="media")
    op.drop_table("media")
    op.drop_index("ix_following_recent", table_name="following")
    op.drop_table("following")
    op.drop_index("ix_followers_recent", table_name="followers")
    op.drop_table("followers")
    op.drop_index("ix_follow_requests_requester", table_name="follow_requests")
    op.drop_table("follow_requests")
    op.drop_index("ix_blocks_blocked", table_name="blocks")
    op.drop_table("blocks")
    op.drop_table("api_clients")
    op.drop_index("uq_users_username_lower", table_name="users")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
    op.drop_index(
        "ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("processed_at IS NULL")
    )
    op.drop_table("outbox")
    op.execute("DROP FUNCTION starling_next_id()")
    op.execute("DROP SEQUENCE starling_id_seq")
