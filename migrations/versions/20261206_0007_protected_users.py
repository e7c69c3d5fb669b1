"""a partial index of protected accounts, for the visibility rule's NOT EXISTS

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_users_protected ON users (id) WHERE protected")


def downgrade() -> None:
    op.execute("DROP INDEX ix_users_protected")
