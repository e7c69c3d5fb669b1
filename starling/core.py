"""The handles every service needs, opened once by whoever runs the process (API or worker)."""

from __future__ import annotations

from dataclasses import dataclass

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from starling.config import Settings
from starling.db import Database
from starling.redis import RedisClients
from starling.storage.events import Publisher
from starling.storage.media import MediaStorage
from starling.storage.media.local import LocalMediaStorage
from starling.storage.media.s3 import S3MediaStorage
from starling.storage.persisted_queries import PersistedQueries
from starling.storage.search import Searcher
from starling.storage.search.opensearch import OpenSearchSearch, client_for
from starling.storage.search.opensearch_index import OpenSearchIndex
from starling.storage.search.postgres import PostgresSearch
from starling.storage.timelines import Timelines
from starling.storage.trends import TrendCounts, Velocity


@dataclass(frozen=True)
class Core:
    settings: Settings
    db: Database
    redis: RedisClients
    queue: ArqRedis
    timelines: Timelines
    events: Publisher
    search: Searcher
    trend_counts: TrendCounts
    velocity: Velocity
    persisted_queries: PersistedQueries
    media: MediaStorage
    # Set when OpenSearch is configured: what the indexing worker writes to.
    search_index: OpenSearchIndex | None = None

    @classmethod
    async def open(cls, settings: Settings) -> Core:
        """Settings must already name a database and Redis (see ``embedded.ensure_services``)."""
        assert settings.database_url is not None
        redis = RedisClients.from_settings(settings)
        db = Database.from_urls(
            settings.database_url, settings.database_replica_url, settings.database_pool_size
        )
        postgres = PostgresSearch(db)
        search, search_index = Searcher(postgres), None
        if settings.opensearch_url is not None:
            client = client_for(settings)
            prefix = settings.opensearch_index_prefix
            search = Searcher(OpenSearchSearch(client, prefix, postgres), fallback=postgres)
            search_index = OpenSearchIndex(client, prefix, db)
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            queue=await create_pool(queue_settings(settings)),
            timelines=Timelines(redis.timelines, settings.timeline_size),
            events=Publisher(redis.pubsub),
            search=search,
            search_index=search_index,
            # Kept for the baseline days and the day being counted.
            trend_counts=TrendCounts(redis.main, 24 * (settings.trends_baseline_days + 1) + 2),
            velocity=Velocity(redis.main),
            media=media_storage(settings),
            persisted_queries=PersistedQueries(
                redis.main,
                settings.apq_max_documents,
                settings.apq_max_document_bytes,
                settings.apq_ttl_days * 86400,
            ),
        )

    async def close(self) -> None:
        if self.search_index is not None:
            await self.search_index.client.close()
        await self.db.dispose()
        await self.redis.close()
        await self.queue.aclose()


def media_storage(settings: Settings) -> MediaStorage:
    """S3 (through the minio SDK) when an endpoint is configured, the local directory otherwise."""
    if settings.s3_endpoint:
        from minio import Minio

        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        return S3MediaStorage(client, settings.s3_bucket, settings.media_public_url)
    return LocalMediaStorage(
        settings.resolved_media_dir, settings.resolved_public_url, settings.secret_key
    )


def queue_settings(settings: Settings) -> RedisSettings:
    """Where the arq job queue lives."""
    return RedisSettings.from_dsn(settings.redis_url_for("queue"))
