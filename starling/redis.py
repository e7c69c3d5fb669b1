"""Redis clients, one per role, so caches, timelines and pub/sub can live on separate servers.

The arq queue has its own URL too (``Settings.redis_url_for("queue")``); arq opens that pool itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from starling.config import Settings


@dataclass(frozen=True)
class RedisClients:
    main: Redis  # caches, counters, rate limits, sessions
    timelines: Redis
    pubsub: Redis

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisClients:
        by_url: dict[str, Redis] = {}

        def client_for(url: str) -> Redis:
            if url not in by_url:
                by_url[url] = Redis.from_url(url)
            return by_url[url]

        return cls(
            main=client_for(settings.redis_url_for("main")),
            timelines=client_for(settings.redis_url_for("timeline")),
            pubsub=client_for(settings.redis_url_for("pubsub")),
        )

    async def close(self) -> None:
        for client in {id(c): c for c in (self.main, self.timelines, self.pubsub)}.values():
            await client.aclose()
