"""search: a tsvector kept with each tweet's text, trigram and prefix indexes for people and
hashtags

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Generated from the text, so it changes in the same statement as the text (post, edit).
    # 'simple': no stemming and no stop words, the same for every language.
    op.execute(
        "ALTER TABLE tweets ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, text)) STORED"
    )
    op.execute(
        "CREATE INDEX ix_tweets_search ON tweets USING gin (search_vector) "
        "WHERE deleted_at IS NULL"
    )
    op.execute(
        "CREATE INDEX ix_users_username_trgm ON users USING gin (lower(username) gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX ix_users_display_name_trgm ON users "
        "USING gin (lower(display_name) gin_trgm_ops)"
    )
    op.execute("CREATE INDEX ix_users_username_prefix ON users (lower(username) text_pattern_ops)")
    op.execute(
        "CREATE INDEX ix_tweet_hashtags_tag_prefix ON tweet_hashtags (tag text_pattern_ops, tweet_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_tweet_hashtags_tag_prefix")
    op.execute("DROP INDEX ix_users_username_prefix")
    op.execute("DROP INDEX ix_users_display_name_trgm")
    op.execute("DROP INDEX ix_users_username_trgm")
    op.execute("DROP INDEX ix_tweets_search")
    op.execute("ALTER TABLE tweets DROP COLUMN search_vector")
