"""The async engine and sessions: a primary, and an optional read replica for read-only queries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable, Row, Select, TextClause
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs (as pgserver and most tools print them)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def make_engine(url: str, pool_size: int = 20) -> AsyncEngine:
    # No overflow: overflow connections are closed when returned, so bursts (one request's
    # loaders run concurrently) would open and tear down connections all the time. Waiting a
    # moment for a pooled connection is far cheaper than a new (TLS) connection.
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=10,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {"application_name": "starling"},
            "prepared_statement_cache_size": 500,
        },
    )


_DIALECT = asyncpg_dialect()


class Prepared:
    """A prebuilt Core SELECT compiled once to asyncpg's SQL (``$1`` parameters), for
    ``Database.fetch``: the hot reads skip SQLAlchemy's per-execution work (about 0.5 ms of CPU a
    statement, against 0.1 ms for asyncpg itself), and asyncpg keeps it prepared per connection.
    Its columns must need no SQLAlchemy type processing (integers, text, booleans, timestamps)."""

    def __init__(self, statement: Select[*tuple[Any, ...]] | TextClause) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        self.statement = statement
        self._names = tuple(compiled.positiontup or ())
        self._defaults = dict(compiled.params)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[n] if n in params else self._defaults[n] for n in self._names]


class Database:
    """Owns the engines. ``session()`` writes on the primary; ``read_session()`` may use a replica."""

    def __init__(self, primary: AsyncEngine, replica: AsyncEngine | None = None) -> None:
        self.engine = primary
        self.replica_engine = replica
        self._sessions = async_sessionmaker(primary, expire_on_commit=False)
        # Reads run in autocommit: one round trip per query, no BEGIN/ROLLBACK around it.
        self._read_engine = (replica or primary).execution_options(isolation_level="AUTOCOMMIT")
        self._autocommit_primary = primary.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = async_sessionmaker(self._read_engine, expire_on_commit=False)

    @classmethod
    def from_urls(cls, url: str, replica_url: str | None = None, pool_size: int = 20) -> Database:
        replica = make_engine(replica_url, pool_size) if replica_url else None
        return cls(make_engine(url, pool_size), replica)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction on the primary, committed on success."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads, on the replica when one is configured."""
        async with self._read_sessions() as session:
            yield session

    async def rows(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """Rows of a Core statement, without an ORM session: the fast path for batched reads.

        Build such statements once (module level, with bindparams): SQLAlchemy memoizes a
        statement's cache key, so a reused statement skips most of the per-call work.
        """
        async with self._read_engine.connect() as connection:
            return (await connection.execute(statement, params or {})).all()

    async def fetch(self, prepared: Prepared, params: Mapping[str, Any]) -> list[Any]:
        """Rows (``asyncpg.Record``: by position or ``row["name"]``) of a prepared read, through
        the same pool and replica as ``rows``. The pool's raw connection, not a SQLAlchemy
        ``Connection``: asyncpg runs the statement alone (autocommit), and the checkout, reset
        and checkin a Connection adds cost a third of a short read (375 -> 250 us)."""
        arguments = prepared.arguments(params)
        engine = self._read_engine
        if engine.sync_engine._has_events:
            # Statement listeners (the N+1 tests) hear these too.
            engine.sync_engine.dispatch.before_cursor_execute(
                None, None, prepared.sql, arguments, None, False
            )
        connection = await engine.raw_connection()
        try:
            rows: list[Any] = await connection.driver_connection.fetch(  # type: ignore[union-attr]
                prepared.sql, *arguments
            )
        except Exception:  # the statement failed; the connection is sound
            connection.close()
            raise
        except BaseException:
            # Cancelled mid-exchange (a read-ahead dropped, a request timed out): the server may
            # be left holding the statement's locks while it waits for the rest of it (a
            # TRUNCATE then waits forever), so the connection is closed, not reused.
            connection.invalidate()
            raise
        connection.close()
        return rows

    async def rows_planned_for_values(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """Like ``rows``, for a statement whose best plan depends on its values (search: a rare
        word wants the GIN bitmap, a common one the id index). After five runs PostgreSQL may
        settle on one generic plan for a prepared statement; this plans every run."""
        async with self._read_engine.connect() as connection:
            await connection.exec_driver_sql("SET plan_cache_mode = force_custom_plan")
            try:
                return (await connection.execute(statement, params or {})).all()
            finally:
                await connection.exec_driver_sql("RESET plan_cache_mode")

    async def write(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """One Core statement on the primary, in autocommit: a single statement is a
        transaction of its own, so this saves BEGIN, COMMIT and a session. Rows of RETURNING."""
        async with self._autocommit_primary.connect() as connection:
            result = await connection.execute(statement, params or {})
            return result.all() if result.returns_rows else []

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
