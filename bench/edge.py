"""What the API edge adds to each request: pricing the document (cost analysis), spending the
points budget (one Redis script), and looking up an automatic persisted query (one Redis
pipeline), each timed alone over many calls on this machine's Redis; then a whole small request
through the app in-process with its text, and with only its APQ hash.

    .venv/bin/python -m bench.edge --calls 3000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from bench.common import add_target_arguments, sqlalchemy_url
from schema.build import build_schema
from schema.cost import QueryCost
from server.app import create_app
from starling.config import Settings
from starling.storage import rate_limits
from starling.storage.rate_limits import Budget

HOME = """query Home { homeTimeline(first: 20) { edges { cursor node {
  id text createdAt author { id username displayName } likeCount retweetCount replyCount
  viewerHasLiked quoted { id text author { username } } } } pageInfo { hasNextPage endCursor } } }"""


async def _per_call(calls: int, work: Callable[[], Awaitable[object]]) -> float:
    """Median microseconds a call, over batches of 100."""
    batches = []
    for _ in range(max(calls // 100, 1)):
        started = time.perf_counter()
        for _ in range(100):
            await work()
        batches.append((time.perf_counter() - started) / 100 * 1e6)
    return statistics.median(batches)


async def run(args: argparse.Namespace) -> None:
    settings = Settings(
        database_url=sqlalchemy_url(args.database_url),
        redis_url=args.redis_url,
        rate_limit_points_per_ip="1000000000/3600",
    )
    schema = build_schema(settings)._schema
    document = parse(HOME)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments: dict[str, FragmentDefinitionNode] = {}

    async def price() -> int:
        return QueryCost(schema, fragments, {}, {}).of(operation)

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        core = app.state.core
        budget = Budget(1_000_000_000, 3600)

        async def spend() -> object:
            return await rate_limits.spend(core.redis.main, "points:bench", budget, cost=1)

        tiny = "{ __typename }"
        sha = hashlib.sha256(tiny.encode()).hexdigest()
        await core.persisted_queries.put(sha, tiny)

        async def lookup() -> object:
            return await core.persisted_queries.get(sha)

        parts = {
            "cost analysis (home page document)": await _per_call(args.calls, price),
            "points budget (Redis script)": await _per_call(args.calls, spend),
            "APQ lookup (Redis pipeline)": await _per_call(args.calls, lookup),
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            with_text = {"query": tiny}
            by_hash = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}}}

            async def send_text() -> object:
                return await http.post("/graphql", json=with_text)

            async def send_hash() -> object:
                return await http.post("/graphql", json=by_hash)

            whole = {
                "whole request, text": await _per_call(args.calls, send_text),
                "whole request, APQ hash": await _per_call(args.calls, send_hash),
            }
    for name, micros in {**parts, **whole}.items():
        print(f"{name:40} {micros / 1000:7.3f} ms")
    print(f"{'edge total (the three parts)':40} {sum(parts.values()) / 1000:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_target_arguments(parser)
    parser.add_argument("--calls", type=int, default=3000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
