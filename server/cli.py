"""The ``starling`` command: serve, worker, migrate, export-schema, and the operator's tools for
the event pipeline (``events failed|retry``), counters (``counters check|repair``) and search
indexes (``reindex``), API clients (``clients create``) and their documents (``documents push``)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import socket
import sys
from collections.abc import Awaitable, Callable

from starling.config import Settings, get_settings
from starling.core import Core
from starling.embedded import ensure_services
from starling.services import api_clients, counting, search_indexing
from starling.storage import counters, outbox


def _services(settings: Settings) -> Settings:
    resolved = ensure_services(settings)
    assert resolved.database_url is not None
    from server.migrate import upgrade

    upgrade(resolved.database_url)
    return resolved


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from server.app import create_app

    settings = _services(get_settings())
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    app = create_app(settings, run_worker=not args.no_worker)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        # A line per request costs ~2% of a read's CPU; a proxy in front logs requests anyway.
        access_log=settings.access_log,
        lifespan="on",
        # The app applies X-Forwarded-For itself (STARLING_FORWARDED_ALLOW_IPS), so tests
        # and every server see the same client address.
        proxy_headers=False,
        # Per-message deflate keeps zlib state per socket (most of a socket's memory); live
        # messages are small JSON, so compression buys little.
        ws_per_message_deflate=False,
    )
    server = (uvicorn.Server if settings.access_log else _quiet_server_class())(config)
    _tune_garbage_collection()
    worker_note = "without a worker" if args.no_worker else "with an in-process worker"
    print(f"Starling: GraphQL at http://{host}:{port}/graphql ({worker_note})", flush=True)
    server.run()


def _quiet_server_class() -> type:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """Without the per-socket lines: uvicorn logs every WebSocket it accepts (an access log
        by another name: a reconnect storm would write thousands of lines a second) at INFO on
        its main logger. Its level goes up while serving, so the lines are not even built (a
        filter dropping them was 5% of opening a socket); start-up and shutdown lines stay."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            logging.getLogger("uvicorn.error").setLevel(logging.WARNING)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            logging.getLogger("uvicorn.error").setLevel(logging.INFO)
            await super().shutdown(sockets)

    return QuietServer


def _tune_garbage_collection() -> None:
    """Everything made at start-up (modules, the schema, the app) lives as long as the process:
    frozen, the collector stops scanning it again and again; and a request makes thousands of
    short-lived objects, so the youngest generation is collected less often. The collector was
    a tenth of a read's samples before."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def worker(args: argparse.Namespace) -> None:
    import uvloop
    from arq.worker import Worker

    from workers.settings import media_worker_options, worker_options

    settings = _services(get_settings())
    if settings.worker_metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    print(f"Starling worker: consuming {args.queue} jobs", flush=True)
    options = media_worker_options if args.queue == "media" else worker_options
    # The API runs on uvloop (uvicorn picks it); on asyncio's own loop the worker spent a
    # quarter of a fan-out in its pure-Python socket transports. arq takes the current loop.
    asyncio.set_event_loop(uvloop.new_event_loop())
    Worker(**options(settings)).run()


def migrate(args: argparse.Namespace) -> None:
    settings = _services(get_settings())
    print(f"migrated {settings.database_url}", flush=True)


def export_schema(args: argparse.Namespace) -> None:
    from schema.build import build_schema

    sys.stdout.write(build_schema(get_settings()).as_str() + "\n")


def _with_core(action: Callable[[Core], Awaitable[int]]) -> int:
    settings = _services(get_settings())

    async def run() -> int:
        core = await Core.open(settings)
        try:
            return await action(core)
        finally:
            await core.close()

    return asyncio.run(run())


def events_failed(args: argparse.Namespace) -> None:
    async def show(core: Core) -> int:
        dead = await outbox.dead_letters(core.db, args.limit)
        for d in dead:
            error = (d.last_error or "").splitlines()[0][:120] if d.last_error else ""
            print(
                f"{d.event_id}\t{d.consumer}\t{d.kind}\t{d.attempts} tries\t"
                f"{d.updated_at:%Y-%m-%d %H:%M:%S}\t{error}"
            )
        print(f"{len(dead)} dead-lettered deliveries", file=sys.stderr)
        return 0

    _with_core(show)


def events_retry(args: argparse.Namespace) -> None:
    async def revive(core: Core) -> int:
        return await outbox.retry(core.db, core.queue, args.event_id, args.consumer)

    revived = _with_core(revive)
    print(f"{revived} deliveries queued again")
    if not revived:
        sys.exit(1)


def counters_check(args: argparse.Namespace) -> None:
    async def check(core: Core) -> int:
        drifted = [d for kind in counters.FIELDS for d in await counting.drift(core.db, kind)]
        for d in drifted:
            print(f"{d.kind} {d.object_id} {d.field}: counted {d.counted}, actually {d.actual}")
        return len(drifted)

    drifted = _with_core(check)
    print(f"{drifted} counts differ from a recount", file=sys.stderr)
    if drifted:
        sys.exit(1)


def counters_repair(args: argparse.Namespace) -> None:
    async def repair(core: Core) -> int:
        return sum([await counting.repair(core.db, kind) for kind in counters.FIELDS])

    print(f"{_with_core(repair)} stats rows set to their recount")


# PostgreSQL's search indexes (migration 0006): the tsvector is a generated column every write
# keeps, so "rebuilding" means rebuilding the indexes, without locking writes out.
POSTGRES_SEARCH_INDEXES = (
    "ix_tweets_search",
    "ix_users_username_trgm",
    "ix_users_display_name_trgm",
    "ix_users_username_prefix",
    "ix_tweet_hashtags_tag_prefix",
)


def reindex(args: argparse.Namespace) -> None:
    from sqlalchemy import text
    from tqdm import tqdm

    async def rebuild(core: Core) -> int:
        backend = args.backend or ("opensearch" if core.search_index else "postgres")
        if backend == "postgres":
            for name in tqdm(POSTGRES_SEARCH_INDEXES, desc="postgres", unit="index"):
                await core.db.write(text(f"REINDEX INDEX CONCURRENTLY {name}"))
            return 0
        if core.search_index is None:
            print("OpenSearch is not configured: set STARLING_OPENSEARCH_URL", file=sys.stderr)
            return 2
        for kind in args.only or search_indexing.KINDS_OF_INDEX:
            total = await search_indexing.estimated_rows(core, kind)
            with tqdm(total=total, desc=kind, unit="doc", unit_scale=True) as bar:
                done = await search_indexing.reindex(core, kind, bar.update)
            print(
                f"{kind}: {done.rows} documents in {done.index}, {done.replayed} events "
                f"replayed, replaced {', '.join(done.dropped) or 'nothing'}"
            )
        return 0

    sys.exit(_with_core(rebuild))


def clients_create(args: argparse.Namespace) -> None:
    async def create(core: Core) -> int:
        created = await api_clients.create_client(
            core,
            args.name,
            points_per_hour=args.points_per_hour,
            trusted_documents_only=not args.any_document,
        )
        print(created.key)
        print(
            f"client {created.name!r} created; its key is shown once, above: send it as "
            "X-Starling-Client",
            file=sys.stderr,
        )
        return 0

    sys.exit(_with_core(create))


def documents_push(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from graphql import GraphQLError, parse, validate

    from schema.build import build_schema

    schema = build_schema(get_settings())._schema

    def problems(document: str) -> list[str]:
        try:
            return [error.message for error in validate(schema, parse(document))]
        except GraphQLError as error:
            return [error.message]

    try:
        raw = json.loads(Path(args.file).read_text())
    except (ValueError, OSError) as error:
        print(f"nothing registered: {error}", file=sys.stderr)
        sys.exit(1)

    async def push(core: Core) -> int:
        try:
            manifest = api_clients.parse_manifest(raw)
            count = await api_clients.register_documents(core, args.client, manifest, problems)
        except (api_clients.ManifestError, ValueError, OSError) as error:
            print(f"nothing registered: {error}", file=sys.stderr)
            return 1
        print(f"{count} documents registered for {args.client!r}")
        return 0

    sys.exit(_with_core(push))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="starling", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the API (and a worker, by default)")
    serve_parser.add_argument("--host", default=None)
    serve_parser.add_argument("--port", type=int, default=None)
    serve_parser.add_argument(
        "--no-worker", action="store_true", help="run the API only; start workers apart"
    )
    serve_parser.set_defaults(run=serve)

    worker_parser = commands.add_parser("worker", help="run an arq worker")
    worker_parser.add_argument(
        "--queue",
        choices=["default", "media"],
        default="default",
        help="events, timelines and housekeeping (default), or media processing",
    )
    worker_parser.set_defaults(run=worker)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=migrate)
    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        run=export_schema
    )

    events = commands.add_parser("events", help="the event pipeline's dead letters")
    event_commands = events.add_subparsers(dest="events_command", required=True)
    failed = event_commands.add_parser("failed", help="list dead-lettered deliveries")
    failed.add_argument("--limit", type=int, default=100)
    failed.set_defaults(run=events_failed)
    retry = event_commands.add_parser("retry", help="deliver a dead-lettered event again")
    retry.add_argument("event_id", type=int)
    retry.add_argument("--consumer", default=None, help="only this consumer's delivery")
    retry.set_defaults(run=events_retry)

    counter = commands.add_parser("counters", help="check counts against a recount")
    counter_commands = counter.add_subparsers(dest="counters_command", required=True)
    counter_commands.add_parser("check", help="list counts that differ").set_defaults(
        run=counters_check
    )
    counter_commands.add_parser("repair", help="set drifted counts right").set_defaults(
        run=counters_repair
    )

    clients = commands.add_parser("clients", help="third-party API clients")
    client_commands = clients.add_subparsers(dest="clients_command", required=True)
    create = client_commands.add_parser("create", help="create a client and print its key")
    create.add_argument("name")
    create.add_argument("--points-per-hour", type=int, default=5000)
    create.add_argument(
        "--any-document",
        action="store_true",
        help="may send any query, not only its registered documents",
    )
    create.set_defaults(run=clients_create)

    documents = commands.add_parser("documents", help="trusted documents of API clients")
    document_commands = documents.add_subparsers(dest="documents_command", required=True)
    pushing = document_commands.add_parser(
        "push", help="register an Apollo or Relay persisted-query manifest for a client"
    )
    pushing.add_argument("file")
    pushing.add_argument("--client", required=True)
    pushing.set_defaults(run=documents_push)

    reindex_parser = commands.add_parser(
        "reindex", help="rebuild the search indexes from PostgreSQL, with no downtime"
    )
    reindex_parser.add_argument(
        "--backend",
        choices=["opensearch", "postgres"],
        default=None,
        help="which backend's indexes (default: OpenSearch when configured)",
    )
    reindex_parser.add_argument(
        "--only", choices=["tweets", "users"], action="append", help="one index (repeatable)"
    )
    reindex_parser.set_defaults(run=reindex)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
