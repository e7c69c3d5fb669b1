"""The Starlette application: /graphql, /healthz, /readyz, wired explicitly, clients owned by the
lifespan (opened once, closed once)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

from arq.worker import Worker
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dataloaders.live import LiveDeliveries
from dataloaders.sessions import SocketSessions
from schema.build import build_schema
from server import media
from server.edge import graphiql
from server.graphql import StarlingGraphQL
from server.metrics import metrics_endpoint
from starling.config import Settings
from starling.core import Core
from starling.storage.events import Hub
from workers.settings import media_worker_options, worker_options

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """Liveness with dependencies: PostgreSQL and Redis answer."""
    core: Core = request.app.state.core
    checks: dict[str, str] = {}
    try:
        async with core.db.read_session() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), timeout=2)
        checks["postgres"] = "ok"
    except Exception as exc:  # report, don't raise: this is the health endpoint
        checks["postgres"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.wait_for(core.redis.main.ping(), timeout=2)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", **checks}, 200 if healthy else 503
    )


async def readyz(request: Request) -> JSONResponse:
    ready = getattr(request.app.state, "ready", False)
    return JSONResponse({"ready": ready}, 200 if ready else 503)


class StarlingApp(Starlette):
    """The app, with WebSockets on /graphql handed straight to the GraphQL view (behind the
    same proxy-headers middleware): Starlette's error middlewares and router do nothing for
    them, yet each layer stayed on every socket's stack for its whole life (a fifth of an
    idle socket's objects, scanned by the collector) and wrapped every message it sent."""

    def __init__(self, *, sockets: ASGIApp, **options: Any) -> None:
        super().__init__(**options)
        self._sockets = sockets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/graphql":
            scope["app"] = self
            await self._sockets(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, run_worker: bool = False) -> StarlingApp:
    """The API. Settings must name a database and Redis (``ensure_services``) and migrations must
    have run (``starling serve`` does both)."""
    graphql = StarlingGraphQL(build_schema(settings), settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        core = await Core.open(settings)
        app.state.core = core
        hub = Hub(core.redis.pubsub)
        await hub.start()
        app.state.hub = hub
        app.state.live = LiveDeliveries(core.db)
        app.state.socket_sessions = SocketSessions(core)
        workers: list[tuple[Worker, asyncio.Task[None]]] = []
        if run_worker:
            for options in (worker_options, media_worker_options):
                worker = Worker(**options(settings, core), handle_signals=False)
                workers.append((worker, asyncio.create_task(worker.async_run())))
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            for worker, worker_task in workers:
                await worker.close()
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            await hub.stop()
            await core.close()

    return StarlingApp(
        # The client's IP is X-Forwarded-For's only when the peer is a trusted proxy.
        middleware=[Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)],
        # uvicorn types ASGI apps more narrowly than Starlette; both are ASGI.
        sockets=cast(
            ASGIApp,
            ProxyHeadersMiddleware(cast(Any, graphql), trusted_hosts=settings.forwarded_allow_ips),
        ),
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route(f"{graphiql.PREFIX}/{{name}}", graphiql.asset),
            Route("/media/{key:path}", media.download, methods=["GET", "HEAD"]),
            Route("/media-uploads/{token}", media.upload, methods=["PUT"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )
