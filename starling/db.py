"""The async engine and sessions: a primary, and an optional read replica for read-only queries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={"server_settings": {"application_name": "starling"}},
    )


class Database:
    """Owns the engines. ``session()`` writes on the primary; ``read_session()`` may use a replica."""

    def __init__(self, primary: AsyncEngine, replica: AsyncEngine | None = None) -> None:
        self.engine = primary
        self.replica_engine = replica
        self._sessions = async_sessionmaker(primary, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(replica or primary, expire_on_commit=False)

    @classmethod
    def from_urls(cls, url: str, replica_url: str | None = None, pool_size: int = 10) -> Database:
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

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
