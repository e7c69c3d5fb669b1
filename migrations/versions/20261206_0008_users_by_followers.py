"""users by follower count, for autocomplete on a short prefix that many usernames share

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_user_stats_followers ON user_stats (followers_count DESC, user_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_user_stats_followers")
