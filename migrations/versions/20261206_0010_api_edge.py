"""the API edge: rate plans in points, documents registered per client

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A client's plan is a points budget an hour (each request spends its cost), not a request
    # count: nothing read requests_per_minute.
    op.drop_column("api_clients", "requests_per_minute")
    op.add_column(
        "api_clients",
        sa.Column("points_per_hour", sa.Integer(), server_default=sa.text("5000"), nullable=False),
    )
    # A document is its text, stored once; which client may run it, and under which id, is a
    # registration of its own (two clients may register the same text).
    op.drop_index(op.f("ix_persisted_documents_client_id"), table_name="persisted_documents")
    op.drop_constraint(
        op.f("fk_persisted_documents_client_id_api_clients"),
        "persisted_documents",
        type_="foreignkey",
    )
    op.drop_column("persisted_documents", "client_id")
    op.drop_column("persisted_documents", "trusted")
    op.create_table(
        "client_documents",
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name=op.f("fk_client_documents_client_id_api_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["persisted_documents.sha256"],
            name=op.f("fk_client_documents_sha256_persisted_documents"),
        ),
        sa.PrimaryKeyConstraint("client_id", "document_id", name=op.f("pk_client_documents")),
    )
    op.create_index(
        "ix_client_documents_sha256", "client_documents", ["sha256", "client_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_client_documents_sha256", table_name="client_documents")
    op.drop_table("client_documents")
    op.add_column(
        "persisted_documents",
        sa.Column("trusted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("persisted_documents", sa.Column("client_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_persisted_documents_client_id_api_clients"),
        "persisted_documents",
        "api_clients",
        ["client_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(
        op.f("ix_persisted_documents_client_id"), "persisted_documents", ["client_id"], unique=False
    )
    op.drop_column("api_clients", "points_per_hour")
    op.add_column(
        "api_clients",
        sa.Column(
            "requests_per_minute", sa.Integer(), server_default=sa.text("600"), nullable=False
        ),
    )
