"""The declarative base and the column shapes every table shares."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from sqlalchemy import BigInteger, DateTime, Enum, MetaData, Table, func, text
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {int: BigInteger, datetime: DateTime(timezone=True)}


def table_of(model: type[Base]) -> Table:
    """A model's table, typed as one (``__table__`` is typed as any FROM clause), for Core
    statements built once at import."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


# A time-ordered 53-bit id made by PostgreSQL (see starling.ids).
snowflake_pk = Annotated[
    int, mapped_column(BigInteger, primary_key=True, server_default=text("starling_next_id()"))
]
timestamp_now = Annotated[datetime, mapped_column(server_default=func.now())]


def text_enum(enum: type[StrEnum], name: str) -> Enum:
    """A Python enum stored as its value in a short text column with a CHECK (no PG enum type,
    so adding a member is a one-line migration)."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )
