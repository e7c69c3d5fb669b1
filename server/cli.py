"""The ``starling`` command: serve, worker, migrate, export-schema."""

from __future__ import annotations

import argparse
import logging
import sys

from starling.config import Settings, get_settings
from starling.embedded import ensure_services


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
        lifespan="on",
        # The app applies X-Forwarded-For itself (STARLING_FORWARDED_ALLOW_IPS), so tests
        # and every server see the same client address.
        proxy_headers=False,
        # Per-message deflate keeps zlib state per socket (most of a socket's memory); live
        # messages are small JSON, so compression buys little.
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    worker_note = "without a worker" if args.no_worker else "with an in-process worker"
    print(f"Starling: GraphQL at http://{host}:{port}/graphql ({worker_note})", flush=True)
    server.run()


def worker(args: argparse.Namespace) -> None:
    from arq.worker import Worker

    from workers.settings import worker_options

    settings = _services(get_settings())
    print("Starling worker: consuming jobs", flush=True)
    Worker(**worker_options(settings)).run()


def migrate(args: argparse.Namespace) -> None:
    settings = _services(get_settings())
    print(f"migrated {settings.database_url}", flush=True)


def export_schema(args: argparse.Namespace) -> None:
    from schema.build import build_schema

    sys.stdout.write(build_schema(get_settings()).as_str() + "\n")


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

    commands.add_parser("worker", help="run an arq worker").set_defaults(run=worker)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=migrate)
    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        run=export_schema
    )

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
