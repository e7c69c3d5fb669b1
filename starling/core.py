"""The handles every service needs, opened once by whoever runs the process (API or worker)."""

from __future__ import annotations

from dataclasses import dataclass

from starling.config import Settings
from starling.db import Database
from starling.redis import RedisClients


@dataclass(frozen=True)
class Core:
    settings: Settings
    db: Database
    redis: RedisClients

    @classmethod
    def open(cls, settings: Settings) -> Core:
        """Settings must already name a database and Redis (see ``embedded.ensure_services``)."""
        assert settings.database_url is not None
        return cls(
            settings=settings,
            db=Database.from_urls(
                settings.database_url, settings.database_replica_url, settings.database_pool_size
            ),
            redis=RedisClients.from_settings(settings),
        )

    async def close(self) -> None:
        await self.db.dispose()
        await self.redis.close()
