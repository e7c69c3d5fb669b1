"""SQL building blocks shared by the read-side queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Select,
    SQLColumnExpression,
    bindparam,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.selectable import TableValuedAlias

from starling.db import Database
from starling.queries.pagination import Page, PageRequest, int_key, page_from_rows


class Readable(Protocol):
    """A record type that reads itself from a row (``starling.records``)."""

    @classmethod
    def of(cls, source: object) -> Self: ...


R = TypeVar("R", bound=Readable)


def ids_param(name: str = "ids") -> BindParameter[Sequence[int]]:
    """A ``bigint[]`` parameter, for statements built once and run with different ids
    (``column == any_(ids_param())``): the statement text does not change with the number of
    ids, so asyncpg's prepared statement and PostgreSQL's cached plan are reused."""
    return bindparam(name, type_=ARRAY(BigInteger))


VIEWER = bindparam("viewer_id", type_=BigInteger)
"""The viewer's id as a parameter of a prebuilt statement."""


def id_list(ids: BindParameter[Sequence[int]]) -> TableValuedAlias:
    """``unnest(:ids) AS ids(id)``: one row per requested id, for per-id EXISTS columns."""
    return func.unnest(ids).table_valued("id").render_derived()


async def newest_first_by_time(
    db: Database,
    record: type[R],
    statement: Select[Any],
    created_at: SQLColumnExpression[datetime],
    tiebreak_id: SQLColumnExpression[int],
    request: PageRequest,
) -> Page[R]:
    """A page of ``record``s read by ``statement``, ordered by (created_at, id) descending.

    For lists ordered by when a row was made (followers by follow time, likes by like time).
    The cursor is (microseconds since the epoch, id), so it is stable while new rows arrive.
    """
    micros = (func.extract("epoch", created_at) * 1_000_000).cast(BigInteger)
    after = int_key(request, 2)
    if after is not None:
        statement = statement.where(func.row(micros, tiebreak_id) < func.row(*after))
    statement = (
        statement.add_columns(micros.label("micros"), tiebreak_id.label("tiebreak"))
        .order_by(created_at.desc(), tiebreak_id.desc())
        .limit(request.first + 1)
    )
    rows = await db.rows(statement)
    return page_from_rows(
        [record.of(row) for row in rows], [(row.micros, row.tiebreak) for row in rows], request
    )
