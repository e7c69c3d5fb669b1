"""Migrations: up, down and up again on a scratch database, and the models agree with them."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command

from server.migrate import alembic_config
from starling.config import Settings
from tests.conftest import _admin, _with_database


def test_migrations_round_trip_and_match_the_models(test_settings: Settings) -> None:
    assert test_settings.database_url
    name = f"starling_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(test_settings.database_url, f"CREATE DATABASE {name}"))
    try:
        config = alembic_config(_with_database(test_settings.database_url, name))
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        command.upgrade(config, "head")
        # Fails when a model changed without a migration.
        command.check(config)
    finally:
        asyncio.run(_admin(test_settings.database_url, f"DROP DATABASE {name} WITH (FORCE)"))
