"""Build a benchmark data set: N users with a power-law follow graph and M tweets.

    .venv/bin/python -m bench.build_dataset --users 100000 --tweets 1000000

Creates the database named by --database-url (BENCH_DATABASE_URL, default starling_bench on
127.0.0.1) -- dropping it first only if a bench command created it -- migrates it, and bulk-loads with COPY. Popularity follows a Zipf law, so a few accounts get far
more followers than the celebrity threshold; most users follow 50-1,000 accounts (Pareto, most
near the low end). It also writes login tokens for a sample of users to bench/data/tokens.tsv.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import itertools
import random
import secrets
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from argon2 import PasswordHasher

from bench.common import (
    DATA_DIR,
    PASSWORD,
    Progress,
    add_target_arguments,
    database_name,
    plain,
    recreate_database,
)
from server.migrate import upgrade
from starling import ids

WORDS = [
    "the",
    "a",
    "graph",
    "timeline",
    "fan",
    "out",
    "cache",
    "redis",
    "postgres",
    "query",
    "tweet",
    "follow",
    "like",
    "share",
    "coffee",
    "morning",
    "news",
    "today",
    "launch",
    "build",
    "ship",
    "release",
    "bug",
    "fix",
    "deploy",
    "scale",
    "learn",
    "read",
    "write",
    "code",
    "python",
    "async",
    "await",
    "index",
    "shard",
    "replica",
    "worker",
    "queue",
    "event",
    "stream",
]
CHUNK = 200_000
FOLLOW_INDEXES_DROP = [
    "ALTER TABLE followers DROP CONSTRAINT pk_followers",
    "ALTER TABLE following DROP CONSTRAINT pk_following",
    "DROP INDEX ix_followers_recent",
    "DROP INDEX ix_following_recent",
]
FOLLOW_INDEXES_CREATE = [
    "ALTER TABLE followers ADD CONSTRAINT pk_followers PRIMARY KEY (user_id, follower_id)",
    "ALTER TABLE following ADD CONSTRAINT pk_following PRIMARY KEY (user_id, following_id)",
    "CREATE INDEX ix_followers_recent ON followers (user_id, created_at, follower_id)",
    "CREATE INDEX ix_following_recent ON following (user_id, created_at, following_id)",
]


def zipf_cumulative(n: int, exponent: float) -> list[float]:
    weights = [1.0 / (rank**exponent) for rank in range(1, n + 1)]
    return list(itertools.accumulate(weights))


def followee_count(rng: random.Random) -> int:
    """Most users follow 50-150 accounts, a long tail up to 1,000."""
    return min(1000, int(50 * rng.paretovariate(1.6)))


async def copy(connection: asyncpg.Connection, table: str, columns: list[str], rows: list) -> None:
    await connection.copy_records_to_table(table, records=rows, columns=columns)


async def build(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    await recreate_database(args.database_url)
    await asyncio.to_thread(upgrade, args.database_url)
    connection = await asyncpg.connect(plain(args.database_url))
    started = time.monotonic()
    now = datetime.now(UTC)

    # Users: ids from 90 days ago, one per id (they stay below anything made today).
    first_user_id = ids.lowest_id_at(now - timedelta(days=90))
    user_ids = [first_user_id + i for i in range(args.users)]
    password_hash = PasswordHasher().hash(PASSWORD)
    active_since = now - timedelta(days=7)
    progress = Progress("users", args.users)
    for chunk_start in range(0, args.users, CHUNK):
        chunk = user_ids[chunk_start : chunk_start + CHUNK]
        rows = []
        for i, user_id in enumerate(chunk, start=chunk_start):
            # 85% were active in the last week; the rest are skipped by fan-out.
            seen = (
                now - timedelta(hours=rng.uniform(0, 160))
                if rng.random() < 0.85
                else (active_since - timedelta(days=rng.uniform(1, 60)))
            )
            rows.append(
                (
                    user_id,
                    f"u{i}",
                    f"u{i}@bench.example",
                    password_hash,
                    f"User {i}",
                    now,
                    now,
                    seen,
                )
            )
        await copy(
            connection,
            "users",
            [
                "id",
                "username",
                "email",
                "password_hash",
                "display_name",
                "created_at",
                "updated_at",
                "last_active_at",
            ],
            rows,
        )
        progress.advance(len(chunk))

    # Follows: each user picks followees by Zipf popularity (rank 0 = most popular). Random-order
    # inserts into a growing primary key are slow, so the keys are built after the load.
    for statement in FOLLOW_INDEXES_DROP:
        await connection.execute(statement)
    cumulative = zipf_cumulative(args.users, args.zipf)
    top = cumulative[-1]
    followers_count = [0] * args.users
    following_count = [0] * args.users
    progress = Progress("follows (users)", args.users)
    following_rows: list[tuple[int, int, datetime]] = []
    follower_rows: list[tuple[int, int, datetime]] = []
    total_follows = 0

    async def flush_follows() -> None:
        await copy(
            connection, "following", ["user_id", "following_id", "created_at"], following_rows
        )
        await copy(connection, "followers", ["user_id", "follower_id", "created_at"], follower_rows)
        following_rows.clear()
        follower_rows.clear()

    for follower in range(args.users):
        wanted = followee_count(rng)
        chosen: set[int] = set()
        while len(chosen) < wanted:
            pick = bisect.bisect_left(cumulative, rng.random() * top)
            if pick != follower:
                chosen.add(min(pick, args.users - 1))
        when = now - timedelta(days=rng.uniform(8, 80))
        for followee in chosen:
            following_rows.append((user_ids[follower], user_ids[followee], when))
            follower_rows.append((user_ids[followee], user_ids[follower], when))
            followers_count[followee] += 1
        following_count[follower] = len(chosen)
        total_follows += len(chosen)
        if len(following_rows) >= CHUNK:
            await flush_follows()
        progress.advance()
    await flush_follows()
    progress = Progress("follow indexes", len(FOLLOW_INDEXES_CREATE))
    await connection.execute("SET maintenance_work_mem = '1GB'")
    for statement in FOLLOW_INDEXES_CREATE:
        await connection.execute(statement)
        progress.advance()

    # Tweets: popular accounts post more; ids follow their time, unique within a millisecond.
    author_weights = zipf_cumulative(args.users, 0.6)
    author_top = author_weights[-1]
    moments = sorted(rng.uniform(0, 30 * 86400) for _ in range(args.tweets))
    tweets_count = [0] * args.users
    progress = Progress("tweets", args.tweets)
    previous_id = 0
    start_moment = now - timedelta(days=30)
    for chunk_start in range(0, args.tweets, CHUNK):
        tweet_rows, version_rows, stats_rows, tag_rows = [], [], [], []
        for offset in moments[chunk_start : chunk_start + CHUNK]:
            created = start_moment + timedelta(seconds=offset)
            tweet_id = max(previous_id + 1, ids.lowest_id_at(created))
            previous_id = tweet_id
            author = min(
                bisect.bisect_left(author_weights, rng.random() * author_top), args.users - 1
            )
            tweets_count[author] += 1
            words = rng.choices(WORDS, k=rng.randint(4, 18))
            tag = None
            if rng.random() < 0.3:
                tag = rng.choice(WORDS)
                words.append(f"#{tag}")
            text = " ".join(words)
            digest = hashlib.sha256(f"{text}\x00".encode()).digest()
            tweet_rows.append(
                (tweet_id, user_ids[author], text, tweet_id, tweet_id + 1, digest, created)
            )
            version_rows.append((tweet_id + 1, tweet_id, 1, text, created))
            stats_rows.append((tweet_id, rng.randint(0, 50), 0, 0, 0, 0))
            if tag:
                tag_rows.append((tweet_id, tag))
            previous_id = tweet_id + 1  # the version id
        await copy(
            connection,
            "tweets",
            [
                "id",
                "author_id",
                "text",
                "conversation_id",
                "current_version_id",
                "content_hash",
                "created_at",
            ],
            tweet_rows,
        )
        await copy(
            connection,
            "tweet_versions",
            ["id", "tweet_id", "number", "text", "created_at"],
            version_rows,
        )
        await copy(
            connection,
            "tweet_stats",
            [
                "tweet_id",
                "like_count",
                "retweet_count",
                "reply_count",
                "quote_count",
                "bookmark_count",
            ],
            stats_rows,
        )
        await copy(connection, "tweet_hashtags", ["tweet_id", "tag"], tag_rows)
        progress.advance(len(tweet_rows))

    await copy(
        connection,
        "user_stats",
        ["user_id", "followers_count", "following_count", "tweets_count", "likes_count"],
        [
            (user_ids[i], followers_count[i], following_count[i], tweets_count[i], 0)
            for i in range(args.users)
        ],
    )
    await connection.execute("ALTER SEQUENCE starling_id_seq RESTART WITH 1")
    await connection.execute("ANALYZE")

    # Login tokens for a sample of active readers, as the load driver's clients.
    sample = rng.sample(range(args.users), min(args.token_users, args.users))
    DATA_DIR.mkdir(exist_ok=True)
    session_rows = []
    with (DATA_DIR / "tokens.tsv").open("w") as out:
        for index in sample:
            token = "stl_" + secrets.token_urlsafe(32)
            session_rows.append(
                (
                    user_ids[index],
                    hashlib.sha256(token.encode()).digest(),
                    now,
                    now,
                    now + timedelta(days=30),
                )
            )
            out.write(f"u{index}\t{user_ids[index]}\t{token}\t{following_count[index]}\n")
    await copy(
        connection,
        "sessions",
        ["user_id", "token_hash", "created_at", "last_used_at", "expires_at"],
        session_rows,
    )
    await connection.execute(
        "UPDATE users SET last_active_at = now() WHERE id = ANY($1::bigint[])",
        [user_ids[i] for i in sample],
    )
    await connection.close()

    ranked = sorted(followers_count, reverse=True)
    print(
        f"\nbuilt {database_name(args.database_url)}: {args.users:,} users, {total_follows:,} follows "
        f"(mean {total_follows / args.users:.0f} followees), {args.tweets:,} tweets in "
        f"{time.monotonic() - started:.0f}s\n"
        f"most followed: {ranked[:5]}; accounts over 10,000 followers: "
        f"{sum(1 for c in ranked if c >= 10_000)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_target_arguments(parser)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--tweets", type=int, default=1_000_000)
    parser.add_argument("--token-users", type=int, default=2_000)
    parser.add_argument("--zipf", type=float, default=0.9, help="popularity exponent")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(build(parser.parse_args()))


if __name__ == "__main__":
    main()
