"""users: a banner image beside the avatar

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("banner_media_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_users_banner_media_id_media"),
        "users",
        "media",
        ["banner_media_id"],
        ["id"],
        ondelete="SET NULL",
        use_alter=True,
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_users_banner_media_id_media"), "users", type_="foreignkey")
    op.drop_column("users", "banner_media_id")
