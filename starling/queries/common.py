"""SQL building blocks shared by the read-side queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

from starling.db import Database, Prepared
from starling.queries.pagination import Page, PageRequest, int_key, page_from_rows


class Readable(Protocol):
    """A record type that reads itself from a row (``starling.records``)."""

    @classmethod
    def of(cls, source: object) -> Self: ...


R = TypeVar("R", bound=Readable)
T = TypeVar("T")


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


def for_many_viewers(
    build: Callable[..., Select[Any]],
) -> Prepared:
    """A per-viewer statement ``build(viewer, *leading)`` asked for many viewers at once: one
    row per (viewer, id), the viewer's id first (what ``fetch_for_viewers`` reads)."""
    viewers = id_list(ids_param("viewer_ids"))
    return Prepared(build(viewers.c.id, viewers.c.id.label("viewer_id")))


async def fetch_for_viewers(
    db: Database,
    prepared: Prepared,
    viewer_ids: Sequence[int],
    ids: Sequence[int],
    make: Callable[..., T],
    default: T,
) -> dict[int, list[T]]:
    """Each viewer's values for ``ids``, in order, from a ``for_many_viewers`` statement."""
    rows = await db.fetch(prepared, {"viewer_ids": list(viewer_ids), "ids": list(ids)})
    found = {(row[0], row[1]): make(*row[2:]) for row in rows}
    return {v: [found.get((v, i), default) for i in ids] for v in viewer_ids}


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
