"""deliveries remember when a job was enqueued for them, so the relay re-enqueues with a fresh
job id only when one may be lost

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox_deliveries",
        sa.Column("dispatched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=True),
    )
    op.add_column(
        "outbox_deliveries",
        sa.Column("dispatches", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    # Whatever was pending may have lost its job: the relay dispatches it at once.
    op.execute("UPDATE outbox_deliveries SET dispatched_at = NULL WHERE state = 'pending'")


def downgrade() -> None:
    op.drop_column("outbox_deliveries", "dispatches")
    op.drop_column("outbox_deliveries", "dispatched_at")
