"""outbox deliveries: one per (event, consumer), with retries and dead letters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What each consumer handled when this migration was written: events still unprocessed are
# handed to them, so an upgrade loses nothing in flight.
CONSUMED_KINDS = {
    "timelines": ["tweet.posted", "tweet.removed", "follow.created", "follow.removed", "block.created"],
    "notifications": ["tweet.posted", "tweet.liked", "follow.created", "follow.requested", "follow.accepted"],
}


def upgrade() -> None:
    op.create_table(
        "outbox_deliveries",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox.id"], name=op.f("fk_outbox_deliveries_event_id_outbox"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "consumer", name=op.f("pk_outbox_deliveries")),
    )
    op.create_index(
        "ix_outbox_deliveries_due", "outbox_deliveries", ["due_at"], postgresql_where=sa.text("state = 'pending'")
    )
    op.create_index(
        "ix_outbox_deliveries_dead", "outbox_deliveries", ["updated_at"], postgresql_where=sa.text("state = 'dead'")
    )
    for consumer, kinds in CONSUMED_KINDS.items():
        op.execute(
            sa.text(
                "INSERT INTO outbox_deliveries (event_id, consumer) "
                "SELECT id, :consumer FROM outbox WHERE processed_at IS NULL AND event = ANY(:kinds)"
            ).bindparams(
                sa.bindparam("consumer", consumer),
                sa.bindparam("kinds", kinds, type_=postgresql.ARRAY(sa.String())),
            )
        )
    op.drop_index("ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("processed_at IS NULL"))
    op.drop_column("outbox", "processed_at")
    op.drop_column("outbox", "enqueued_at")
    op.drop_column("outbox", "attempts")
    op.create_index("ix_outbox_created", "outbox", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_created", table_name="outbox")
    op.add_column("outbox", sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("outbox", sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE outbox SET processed_at = now() WHERE NOT EXISTS (SELECT 1 FROM outbox_deliveries d "
        "WHERE d.event_id = outbox.id AND d.state = 'pending')"
    )
    op.create_index("ix_outbox_pending", "outbox", ["id"], postgresql_where=sa.text("processed_at IS NULL"))
    op.drop_index("ix_outbox_deliveries_dead", table_name="outbox_deliveries")
    op.drop_index("ix_outbox_deliveries_due", table_name="outbox_deliveries")
    op.drop_table("outbox_deliveries")
