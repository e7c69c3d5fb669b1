"""Settings, read once from ``STARLING_*`` environment variables into typed values.

Nothing else in the project reads ``os.environ``. Every URL is optional: without one, Starling
starts an embedded server for that role (see ``starling.embedded``).
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STARLING_", frozen=True, extra="ignore")

    mode: Mode = Mode.DEV
    secret_key: str = Field(default="dev-secret-change-me", min_length=16)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    # PostgreSQL: the primary, and an optional streaming replica for read-only queries.
    database_url: str | None = None
    database_replica_url: str | None = None
    database_pool_size: int = Field(default=20, ge=1)

    # Redis: one URL for everything, or one per role so each can be scaled apart.
    redis_url: str | None = None
    redis_queue_url: str | None = None
    redis_timeline_url: str | None = None
    redis_pubsub_url: str | None = None

    # OpenSearch for search at scale (PostgreSQL answers when unset, or while it is down).
    opensearch_url: str | None = None
    # Index and alias names start with this, so several deployments (or test runs) can share one
    # cluster.
    opensearch_index_prefix: str = Field(default="starling", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    # A search waits this long for OpenSearch before answering from PostgreSQL.
    opensearch_timeout_seconds: float = Field(default=2.0, gt=0)

    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "starling-media"
    s3_region: str | None = None
    s3_secure: bool = True
    # Where clients fetch S3 media: a public bucket's (or CDN's) base URL; unset, presigned GETs.
    media_public_url: str | None = None
    # The largest image an upload may carry, checked on the bytes received.
    media_max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    # Media never attached to a tweet are removed after this long (with files nothing else uses).
    unattached_media_grace_hours: int = Field(default=24, ge=1)
    # The largest video (through createMediaUpload; uploadMedia carries at most an image's size).
    media_max_video_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    # postTweet waits this long for attached media still being processed, then refuses them.
    media_attach_wait_seconds: float = Field(default=3.0, ge=0, le=30)
    # Media jobs one worker runs at once (each decodes in a thread: about a core each).
    media_worker_concurrency: int = Field(default=2, ge=1)
    # The largest file a presigned upload may carry (a video: 512 MB).
    media_max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    # The app's own address as clients reach it (links to local media and upload URLs).
    public_url: str | None = None

    # Where embedded servers and local media live when no URL is configured.
    data_dir: Path = Path("var")
    media_dir: Path | None = None

    # Accounts.
    session_ttl_days: int = Field(default=30, ge=1)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Tweets.
    edit_window_minutes: int = Field(default=30, ge=0)
    max_edits: int = Field(default=5, ge=0)
    duplicate_window_minutes: int = Field(default=1440, ge=0)
    idempotency_window_minutes: int = Field(default=60, ge=1)
    deleted_tweet_grace_days: int = Field(default=30, ge=0)
    counter_flush_seconds: int = Field(default=5, ge=1, le=30)

    # Trends (starling/services/trends.py says what each rule does and why).
    trends_refresh_seconds: int = Field(default=60, ge=1, le=3600)
    trends_min_accounts: float = Field(default=5, gt=0)
    trends_half_life_hours: float = Field(default=2.0, gt=0)
    trends_new_account_hours: float = Field(default=24, ge=0)
    trends_max_tweets_per_hour: int = Field(default=30, ge=1)
    trends_baseline_days: int = Field(default=7, ge=1, le=28)
    # Comma-separated hashtags never shown as trends (without '#', any case).
    trends_deny: str = ""

    # Home timelines.
    celebrity_follower_threshold: int = Field(default=10_000, ge=1)
    timeline_size: int = Field(default=800, ge=20)
    inactive_after_days: int = Field(default=7, ge=1)
    # Event deliveries: the relay enqueues due deliveries this often; a delivery gets this long
    # per attempt and this many attempts, backing off exponentially, before it is dead-lettered.
    outbox_relay_every_seconds: int = Field(default=2, ge=1, le=30)
    delivery_timeout_seconds: float = Field(default=10, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_seconds: float = Field(default=1, gt=0)
    delivery_backoff_cap_seconds: float = Field(default=300, gt=0)
    # A delivery whose job has not started this long after it was enqueued (lost with Redis, or
    # held by a killed worker) is enqueued again under a fresh job id.
    delivery_redispatch_seconds: float = Field(default=10, gt=0)
    # Delivered events are kept this long (counter reconciliation reads the recent ones).
    delivered_event_retention_hours: int = Field(default=24, ge=1)
    # Jobs one worker runs at once: they mostly wait on PostgreSQL and Redis.
    worker_concurrency: int = Field(default=50, ge=1)

    # GraphQL limits.
    max_query_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=1)
    max_query_tokens: int = Field(default=2000, ge=100)
    # The most objects one request may ask for (connections' `first` multiplied through nesting).
    max_query_cost: int = Field(default=5000, ge=1)

    # The HTTP edge.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_json_depth: int = Field(default=32, ge=4)
    request_timeout_seconds: float = Field(default=10, gt=0)
    # uvicorn's line per request (off: a proxy in front logs requests anyway).
    access_log: bool = False
    # Compiled execution (execution/): a query document is compiled once it has run without
    # errors this many times (a persisted or registered document: once); 0 turns it off.
    compile_documents_after: int = Field(default=3, ge=0)
    # Tests: run every plannable query both ways and fail on any difference (a 500).
    compiled_execution_shadow: bool = False
    # Proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs; "*" for any).
    forwarded_allow_ips: str = "127.0.0.1"
    # Who may read /metrics (comma-separated IPs or CIDRs): loopback and private networks.
    metrics_allow_ips: str = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
    # A worker in its own process serves its metrics on this port (none when unset).
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Each defaults to on in dev and off in production.
    introspection: bool | None = None
    graphiql: bool | None = None
    field_suggestions: bool | None = None

    # Abuse limits: "count/seconds" budgets (Mastodon's numbers). See starling/limits.py.
    rate_limit_posts: str = "300/10800"
    rate_limit_follows: str = "400/86400"
    rate_limit_likes: str = "1000/86400"
    rate_limit_bookmarks: str = "1000/86400"
    rate_limit_logins_per_ip: str = "25/300"
    # Wrong passwords for one account from one IP; and for one account from all IPs that never
    # signed into it (the owner's own IPs are exempt, so nobody can lock the owner out).
    rate_limit_login_failures_per_account: str = "10/900"
    rate_limit_login_failures_per_account_all_ips: str = "100/3600"
    rate_limit_registrations_per_ip: str = "25/1800"
    # searchTweets and searchUsers (each costs PostgreSQL far more than a timeline page): per
    # user, or per IP when signed out. Twitter's search API allowed 180 per 15 minutes.
    rate_limit_searches: str = "180/900"
    # uploadMedia per user (Mastodon allows 30 in 30 minutes).
    rate_limit_media_uploads: str = "30/1800"
    # Points every request spends (its cost / 100, at least 1: GitHub's rule), per signed-in
    # user and per IP when signed out; an API client spends from its own plan
    # (api_clients.points_per_hour) instead.
    rate_limit_points_per_user: str = "5000/3600"
    rate_limit_points_per_ip: str = "1000/3600"

    # Automatic persisted queries kept in Redis: how many, how big, how long after last use.
    apq_max_documents: int = Field(default=10_000, ge=1)
    apq_max_document_bytes: int = Field(default=64 * 1024, ge=1)
    apq_ttl_days: int = Field(default=30, ge=1)

    @field_validator(
        "rate_limit_posts",
        "rate_limit_follows",
        "rate_limit_likes",
        "rate_limit_bookmarks",
        "rate_limit_logins_per_ip",
        "rate_limit_login_failures_per_account",
        "rate_limit_login_failures_per_account_all_ips",
        "rate_limit_registrations_per_ip",
        "rate_limit_searches",
        "rate_limit_media_uploads",
        "rate_limit_points_per_user",
        "rate_limit_points_per_ip",
    )
    @classmethod
    def _is_budget(cls, value: str) -> str:
        if not re.fullmatch(r"[1-9]\d*/[1-9]\d*", value):
            raise ValueError(f"a rate limit is 'count/seconds', like '300/10800', not {value!r}")
        return value

    @field_validator("trends_refresh_seconds")
    @classmethod
    def _fits_a_cron(cls, value: int) -> int:
        # The refresh is a cron job: seconds that divide a minute, or whole minutes that divide
        # an hour.
        if (value < 60 and 60 % value) or (value >= 60 and (value % 60 or 3600 % value)):
            raise ValueError("must divide 60 (seconds) or be whole minutes that divide an hour")
        return value

    @property
    def trends_denied(self) -> frozenset[str]:
        return frozenset(
            tag.strip().lstrip("#").lower() for tag in self.trends_deny.split(",") if tag.strip()
        )

    @field_validator("metrics_allow_ips")
    @classmethod
    def _is_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part)  # raises ValueError naming the bad part
        return value

    @model_validator(mode="after")
    def _production_needs_real_services(self) -> Settings:
        if self.mode is Mode.PRODUCTION:
            missing = [
                name
                for name, value in (
                    ("STARLING_DATABASE_URL", self.database_url),
                    ("STARLING_REDIS_URL", self.redis_url),
                )
                if not value
            ]
            if self.secret_key == "dev-secret-change-me":
                missing.append("STARLING_SECRET_KEY")
            if missing:
                raise ValueError(f"production mode needs {', '.join(missing)}")
        return self

    @property
    def introspection_enabled(self) -> bool:
        return self._dev_default(self.introspection)

    @property
    def graphiql_enabled(self) -> bool:
        return self._dev_default(self.graphiql)

    @property
    def field_suggestions_enabled(self) -> bool:
        return self._dev_default(self.field_suggestions)

    def _dev_default(self, value: bool | None) -> bool:
        return self.mode is Mode.DEV if value is None else value

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    def redis_url_for(self, role: str) -> str:
        """The Redis URL for one role (main, queue, timeline, pubsub), falling back to ``redis_url``."""
        specific = getattr(self, f"redis_{role}_url", None)
        url = specific or self.redis_url
        if url is None:
            raise RuntimeError("no Redis URL: call starling.embedded.ensure_services first")
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
