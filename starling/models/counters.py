"""Counter deltas: what each committed change adds to a count, written in its transaction."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from starling.models.base import Base


class CounterDelta(Base):
    """Appended by writes (never updated, so a hot tweet's likes never queue on one row);
    moved into ``tweet_stats``/``user_stats`` and deleted by the flusher, in one transaction."""

    __tablename__ = "counter_deltas"
    __table_args__ = (
        Index("ix_counter_deltas_object", "kind", "object_id"),
        CheckConstraint("kind IN ('tweet', 'user')", name="ck_counter_deltas_kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    object_id: Mapped[int] = mapped_column(BigInteger)
    field: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(Integer)
