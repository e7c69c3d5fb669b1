"""Test setup: real PostgreSQL and Redis, a fresh database migrated with Alembic per run.

Which servers: STARLING_TEST_DATABASE_URL / STARLING_TEST_REDIS_URL when set; else the local servers
(PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379) when they answer; else embedded ones.
Each test starts from empty tables and an empty Redis database.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from moto.server import ThreadedMotoServer
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from server.app import create_app
from server.migrate import upgrade
from starling.config import Settings
from starling.db import async_url
from starling.models import Base
from tests.support import UNLIMITED, Api, free_port, run_queued_jobs

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379"
TEST_REDIS_DATABASES = range(15, 0, -1)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _admin_database_url(tmp: Path) -> str:
    if url := os.environ.get("STARLING_TEST_DATABASE_URL"):
        return url
    if _answers("127.0.0.1", 5432):
        return LOCAL_POSTGRES
    from starling.embedded import _start_postgres

    return _start_postgres(tmp / "postgres").replace("/starling?", "/postgres?")


def _redis_url(tmp: Path, run_id: str) -> str:
    if url := os.environ.get("STARLING_TEST_REDIS_URL"):
        return url
    if _answers("127.0.0.1", 6379):
        return _claim_redis_database(run_id)
    from starling.embedded import _start_redis

    return _start_redis(tmp / "redis")


def _claim_redis_database(run_id: str) -> str:
    """A Redis database no other test run is using (each run flushes its own between tests)."""
    import redis

    client = redis.Redis.from_url(LOCAL_REDIS)
    try:
        for number in TEST_REDIS_DATABASES:
            if client.set(f"starling-test-claim:{number}", run_id, nx=True, ex=3600):
                return f"{LOCAL_REDIS}/{number}"
    finally:
        client.close()
    raise RuntimeError("every test Redis database is claimed by another run")


def _release_redis_database(url: str, run_id: str) -> None:
    import redis

    if not url.startswith(LOCAL_REDIS + "/"):
        return
    client = redis.Redis.from_url(LOCAL_REDIS)
    key = f"starling-test-claim:{url.rsplit('/', 1)[1]}"
    if client.get(key) == run_id.encode():
        client.delete(key)
    client.close()


def _with_database(url: str, name: str) -> str:
    head, _, rest = async_url(url).partition("://")
    authority, _, path_and_query = rest.partition("/")
    _, _, query = path_and_query.partition("?")
    return f"{head}://{authority}/{name}" + (f"?{query}" if query else "")


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(async_url(url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(statement))
    await engine.dispose()


@pytest.fixture(scope="session")
def test_settings() -> Iterator[Settings]:
    """Settings for a freshly created and migrated database, dropped at the end of the run."""
    tmp = Path(tempfile.mkdtemp(prefix="starling-test-"))
    admin_url = _admin_database_url(tmp)
    run_id = uuid.uuid4().hex[:12]
    name = f"starling_test_{run_id}"
    asyncio.run(_admin(admin_url, f"CREATE DATABASE {name}"))
    database_url = _with_database(admin_url, name)
    upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        redis_url=_redis_url(tmp, run_id),
        data_dir=tmp,
        # Cheap hashing keeps the suite fast; production cost is the default.
        argon2_time_cost=1,
        argon2_memory_cost_kib=64,
        # Small enough for tests to make a celebrity and to page past the Redis window.
        celebrity_follower_threshold=5,
        timeline_size=20,
        # Every query the suite sends that the compiled path can plan runs through both it and
        # graphql-core, and any difference fails the request (the differential test).
        compile_documents_after=1,
        compiled_execution_shadow=True,
        # Tests act fast and from one IP; the rate-limit tests set their own budgets.
        **UNLIMITED,
    )
    yield settings
    asyncio.run(
        _admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    assert settings.redis_url
    _release_redis_database(settings.redis_url, run_id)


@pytest.fixture(scope="session")
async def app(test_settings: Settings) -> AsyncIterator[Any]:
    application = create_app(test_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(autouse=True)
async def _clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty every table and the test Redis database before each test that uses them."""
    if "test_settings" not in request.fixturenames and "api" not in request.fixturenames:
        yield
        return
    settings: Settings = request.getfixturevalue("test_settings")
    assert settings.database_url
    assert settings.redis_url
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    engine = create_async_engine(async_url(settings.database_url))
    # A module's server processes (tests/e2e/test_realtime.py) keep working between its tests, and
    # their transactions lock tables in another order than TRUNCATE does: PostgreSQL may pick
    # the TRUNCATE as a deadlock's victim. It holds nothing yet, so trying again is safe.
    for attempt in itertools.count(1):
        try:
            async with engine.begin() as connection:
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            break
        except DBAPIError as error:
            if "deadlock detected" not in str(error) or attempt == 5:
                raise
            await asyncio.sleep(0.05 * attempt)
    await engine.dispose()
    redis = Redis.from_url(settings.redis_url)
    await redis.flushdb()
    await redis.aclose()
    yield


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://starling.test") as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest.fixture
def run_jobs(app: Any) -> Callable[[], Awaitable[int]]:
    """Run every queued job with a real arq worker (burst mode) until the queue is empty."""
    return lambda: run_queued_jobs(app.state.core)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3 server (a real S3-protocol server over HTTP), for the S3 media
    storage: MinIO and S3 cannot run here."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How much of the suite the differential check covered (compiled vs graphql-core)."""
    from starling import metrics

    outcomes = {
        sample.labels["outcome"]: int(sample.value)
        for sample in metrics.COMPILED.collect()[0].samples
        if sample.name.endswith("_total")
    }
    if outcomes:
        terminalreporter.write_line(f"compiled execution: {outcomes}")
