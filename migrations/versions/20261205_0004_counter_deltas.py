"""counter deltas in PostgreSQL, written with the change they count; stats recounted once

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Deltas used to wait in Redis (counters:*), where a crash or a flush could lose them. The
# stored counts are recounted from the rows once, so whatever was pending there is included.
RECOUNT_TWEETS = """
UPDATE tweet_stats s SET
  like_count = (SELECT count(*) FROM likes l WHERE l.tweet_id = s.tweet_id),
  retweet_count = (SELECT count(*) FROM tweets r JOIN users u ON u.id = r.author_id
    WHERE r.retweet_of_tweet_id = s.tweet_id AND r.deleted_at IS NULL AND NOT u.protected),
  reply_count = (SELECT count(*) FROM tweets r JOIN users u ON u.id = r.author_id
    WHERE r.reply_to_tweet_id = s.tweet_id AND r.deleted_at IS NULL AND NOT u.protected),
  quote_count = (SELECT count(*) FROM tweets r JOIN users u ON u.id = r.author_id
    WHERE r.quote_of_tweet_id = s.tweet_id AND r.deleted_at IS NULL AND NOT u.protected),
  bookmark_count = (SELECT count(*) FROM bookmarks b WHERE b.tweet_id = s.tweet_id)
"""
RECOUNT_USERS = """
UPDATE user_stats s SET
  followers_count = (SELECT count(*) FROM followers f WHERE f.user_id = s.user_id),
  following_count = (SELECT count(*) FROM following f WHERE f.user_id = s.user_id),
  tweets_count = (SELECT count(*) FROM tweets t
    WHERE t.author_id = s.user_id AND t.deleted_at IS NULL),
  likes_count = (SELECT count(*) FROM likes l WHERE l.user_id = s.user_id)
"""


def upgrade() -> None:
    op.create_table(
        "counter_deltas",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('tweet', 'user')", name="ck_counter_deltas_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_counter_deltas_object", "counter_deltas", ["kind", "object_id"])
    op.execute(RECOUNT_TWEETS)
    op.execute(RECOUNT_USERS)


def downgrade() -> None:
    op.drop_index("ix_counter_deltas_object", table_name="counter_deltas")
    op.drop_table("counter_deltas")
