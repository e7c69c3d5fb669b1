"""Load driver: throughput and latency percentiles against a running Starling.

    .venv/bin/python -m bench.load home  --seconds 30 --concurrency 32
    .venv/bin/python -m bench.load mixed --seconds 60 --concurrency 64   # 60% home/30% user/10% post
    .venv/bin/python -m bench.load fanout --posts 200                     # entries/s and lag

Clients are the users in bench/data/tokens.tsv (written by bench.build_dataset). Requests are sent
to --url (default http://127.0.0.1:8000/graphql). The driver shares the machine with the server,
so on a small machine its own CPU use lowers what it can measure.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import time
from dataclasses import dataclass, field

import asyncpg
import httpx
from redis.asyncio import Redis

from bench.build_dataset import WORDS
from bench.common import DATA_DIR, add_target_arguments, plain

HOME = """query Home { homeTimeline(first: 20) { edges { cursor node {
  id text createdAt author { id username displayName }
  likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted viewerHasBookmarked
} } pageInfo { hasNextPage endCursor } } }"""
USER = """query Profile($username: String!) { user(username: $username) {
  id username followersCount tweets(first: 20) { edges { node {
    id text createdAt likeCount retweetCount replyCount viewerHasLiked } } } } }"""
POST = """mutation Post($text: String!) { postTweet(input: {text: $text}) {
  tweet { id } errors { code } } }"""
SEARCH = """query Search($q: String!, $sort: SearchSort!) {
  searchTweets(query: $q, sort: $sort, first: 20) { edges { node {
    id text createdAt author { id username } likeCount retweetCount } }
    pageInfo { hasNextPage endCursor } } }"""
TRENDS = """query Trends($region: String, $personalized: Boolean!) {
  trends(region: $region, limit: 10, personalized: $personalized) {
    name tweetCount userCount score } }"""
AUTOCOMPLETE = """query Autocomplete($p: String!) { autocomplete(prefix: $p, limit: 10) {
  ... on UserSuggestion { user { id username displayName } }
  ... on HashtagSuggestion { name tweetCount } } }"""


@dataclass
class Client:
    username: str
    user_id: int
    token: str
    followees: int


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def load_clients() -> list[Client]:
    clients = []
    for line in (DATA_DIR / "tokens.tsv").read_text().splitlines():
        username, user_id, token, followees = line.split("\t")
        clients.append(Client(username, int(user_id), token, int(followees)))
    return clients


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def request(
    http: httpx.AsyncClient, url: str, client: Client, query: str, variables: dict
) -> bool:
    response = await http.post(
        url,
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {client.token}"},
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        return False
    payload = next(iter(body["data"].values()))
    return not (isinstance(payload, dict) and payload.get("errors"))


async def one(
    kind: str, http: httpx.AsyncClient, url: str, rng: random.Random, clients: list[Client]
) -> bool:
    client = rng.choice(clients)
    if kind == "home":
        return await request(http, url, client, HOME, {})
    if kind == "user":
        return await request(http, url, client, USER, {"username": rng.choice(clients).username})
    if kind in ("search-top", "search-latest"):
        sort = "TOP" if kind == "search-top" else "LATEST"
        return await request(
            http, url, client, SEARCH, {"q": search_query(rng, clients), "sort": sort}
        )
    if kind == "autocomplete":
        return await request(http, url, client, AUTOCOMPLETE, {"p": prefix(rng, clients)})
    if kind == "trends":
        # Half personalised (one statement); a third of them for a region.
        variables = {
            "region": rng.choice([None, None, "US"]),
            "personalized": rng.random() < 0.5,
        }
        return await request(http, url, client, TRENDS, variables)
    # Unique across runs too: the seeds repeat, and a repeated text is a DUPLICATE_TWEET.
    text = f"bench {time.time_ns()} {rng.random():.12f} #load"
    return await request(http, url, client, POST, {"text": text})


def search_query(rng: random.Random, clients: list[Client]) -> str:
    """A mix of what people type: one word, two, a phrase, a hashtag, an author, an exclusion."""
    one, two = rng.sample(WORDS, 2)
    return rng.choice(
        [
            one,
            f"{one} {two}",
            f'"{one} {two}"',
            f"#{one}",
            f"from:{rng.choice(clients).username} {one}",
            f"{one} -{two}",
        ]
    )


def prefix(rng: random.Random, clients: list[Client]) -> str:
    """What a user has typed so far: 1-4 characters of a username or a tag, maybe with @ or #."""
    if rng.random() < 0.5:
        return rng.choice(["", "@"]) + rng.choice(clients).username[: rng.randint(1, 4)]
    return rng.choice(["", "#"]) + rng.choice(WORDS)[: rng.randint(1, 4)]


async def drive(args: argparse.Namespace) -> None:
    clients = load_clients()
    if args.min_followees:
        clients = [c for c in clients if c.followees >= args.min_followees] or clients
    mix = {
        "home": ["home"],
        "user": ["user"],
        "post": ["post"],
        "mixed": ["home"] * 6 + ["user"] * 3 + ["post"],
        "search-top": ["search-top"],
        "search-latest": ["search-latest"],
        "autocomplete": ["autocomplete"],
        "trends": ["trends"],
    }[args.scenario]
    stats = Stats()
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        deadline = time.monotonic() + args.warmup

        async def worker(seed: int, record: bool, until: float) -> None:
            rng = random.Random(seed)
            while time.monotonic() < until:
                kind = rng.choice(mix)
                started = time.perf_counter()
                try:
                    ok = await one(kind, http, args.url, rng, clients)
                except httpx.HTTPError:
                    ok = False
                if record:
                    stats.add(kind, time.perf_counter() - started, ok)

        await asyncio.gather(*(worker(i, False, deadline) for i in range(args.concurrency)))
        started = time.monotonic()
        await asyncio.gather(
            *(worker(1000 + i, True, started + args.seconds) for i in range(args.concurrency))
        )
        elapsed = time.monotonic() - started
    total = sum(len(v) for v in stats.latencies.values())
    print(
        f"scenario={args.scenario} concurrency={args.concurrency} seconds={elapsed:.1f} "
        f"requests={total} throughput={total / elapsed:.0f}/s"
    )
    for kind, values in sorted(stats.latencies.items()):
        print(
            f"  {kind:<13} n={len(values):>7} rate={len(values) / elapsed:>7.0f}/s "
            f"p50={percentile(values, 0.5) * 1000:7.1f}ms p95={percentile(values, 0.95) * 1000:7.1f}ms "
            f"p99={percentile(values, 0.99) * 1000:7.1f}ms errors={stats.errors.get(kind, 0)}"
        )


async def warm(args: argparse.Namespace) -> None:
    """One home read per client (builds their Redis timelines through the workers), then wait
    for the queue to drain."""
    clients = load_clients()
    async with httpx.AsyncClient(timeout=60) as http:
        semaphore = asyncio.Semaphore(16)

        async def read(client: Client) -> None:
            async with semaphore:
                await request(http, args.url, client, HOME, {})

        started = time.monotonic()
        await asyncio.gather(*(read(c) for c in clients))
    redis = Redis.from_url(args.redis_url)
    while await redis.zcard("arq:queue"):  # noqa: ASYNC110 - polling another process's queue
        await asyncio.sleep(0.5)
    built = sum(
        [1 for c in clients if await redis.zscore(f"timeline:{c.user_id}", "0") is not None]
    )
    await redis.aclose()
    print(
        f"warmed {len(clients)} clients in {time.monotonic() - started:.1f}s; built timelines: {built}"
    )


async def fanout(args: argparse.Namespace) -> None:
    """Post from authors with many followers, then read the outbox: post -> fanned-out lag and
    timeline entries written per second."""
    connection = await asyncpg.connect(plain(args.database_url))
    authors = await connection.fetch(
        """SELECT u.username, u.id, s.followers_count FROM users u JOIN user_stats s ON s.user_id = u.id
           WHERE s.followers_count BETWEEN $1 AND $2 ORDER BY s.followers_count DESC LIMIT $3""",
        args.min_followers,
        args.max_followers,
        args.posts,
    )
    active = {
        row["user_id"]: row["n"]
        for row in await connection.fetch(
            """SELECT f.user_id, count(*) AS n FROM followers f JOIN users u ON u.id = f.follower_id
               WHERE f.user_id = ANY($1::bigint[]) AND u.last_active_at > now() - interval '7 days'
               GROUP BY f.user_id""",
            [a["id"] for a in authors],
        )
    }
    tokens = {}
    for author in authors:
        token = "stl_bench_" + str(author["id"])
        await connection.execute(
            """INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 day')
               ON CONFLICT (token_hash) DO NOTHING""",
            author["id"],
            hashlib.sha256(token.encode()).digest(),
        )
        tokens[author["id"]] = token
    started_at = await connection.fetchval("SELECT now()")
    async with httpx.AsyncClient(timeout=60) as http:
        for author in authors:
            client = Client(author["username"], author["id"], tokens[author["id"]], 0)
            await request(http, args.url, client, POST, {"text": f"fan-out {random.random()}"})
            await asyncio.sleep(args.interval)
    while await connection.fetchval(  # noqa: ASYNC110 - polling the workers' progress
        "SELECT count(*) FROM outbox o JOIN outbox_deliveries d ON d.event_id = o.id "
        "WHERE o.created_at >= $1 AND d.state = 'pending'",
        started_at,
    ):
        await asyncio.sleep(0.2)
    rows = await connection.fetch(
        """SELECT (o.payload->>'author_id')::bigint AS author, o.created_at,
                  d.updated_at AS processed_at
           FROM outbox o JOIN outbox_deliveries d ON d.event_id = o.id AND d.consumer = 'timelines'
           WHERE o.created_at >= $1 AND o.event = 'tweet.posted' ORDER BY o.created_at""",
        started_at,
    )
    await connection.close()
    lags = [(r["processed_at"] - r["created_at"]).total_seconds() for r in rows]
    span = (rows[-1]["processed_at"] - rows[0]["created_at"]).total_seconds()
    entries = sum(active.get(r["author"], 0) for r in rows)
    followers = [a["followers_count"] for a in authors]
    print(
        f"fan-out: {len(rows)} tweets from authors with {min(followers)}-{max(followers)} followers "
        f"({entries:,} active-follower timeline entries) in {span:.1f}s -> {entries / span:,.0f} entries/s\n"
        f"  lag post->delivered to all followers: p50={statistics.median(lags) * 1000:.0f}ms "
        f"p95={percentile(lags, 0.95) * 1000:.0f}ms max={max(lags) * 1000:.0f}ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "scenario",
        choices=[
            "home",
            "user",
            "post",
            "mixed",
            "search-top",
            "search-latest",
            "autocomplete",
            "trends",
            "warm",
            "fanout",
        ],
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    add_target_arguments(parser)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--min-followees", type=int, default=0)
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument(
        "--interval", type=float, default=0.01, help="seconds between fan-out posts"
    )
    parser.add_argument("--min-followers", type=int, default=100)
    parser.add_argument("--max-followers", type=int, default=9_999)
    args = parser.parse_args()
    runner = {"warm": warm, "fanout": fanout}.get(args.scenario, drive)
    asyncio.run(runner(args))


if __name__ == "__main__":
    main()
