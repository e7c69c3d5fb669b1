"""The hand-written peer: the home and profile reads with no GraphQL, as fast as plain Python
goes (bare ASGI, asyncpg, redis-py, orjson), returning the JSON Starling's documents return.

    .venv/bin/python -m bench.peers.raw --port 8801 [--database-url ... --redis-url ...]

    GET /home                      Authorization: Bearer <token>   -> homeTimeline(first: 20)
    GET /profile?username=<name>   Authorization: Bearer <token>   -> user(username:) + tweets

It applies the same rules as Starling (session lookup, visibility, mutes, blocks, protected
accounts, celebrity merge, counts with pending deltas, viewer state): one Redis round trip for
the session and timeline, one SQL statement for the whole page. A timeline that is not built is
answered from PostgreSQL (Starling rebuilds it; run the warm-up first so both read Redis).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import orjson
import uvicorn
from redis.asyncio import Redis

from bench.common import DATABASE_URL, REDIS_URL, plain

PAGE = 20

# The viewer's visibility rule (starling.visibility) over a tweet alias ``t``, written out.
_AUTHOR_OK = """NOT EXISTS (SELECT 1 FROM users pu WHERE pu.id = {a} AND pu.protected AND pu.id <> $1
    AND NOT EXISTS (SELECT 1 FROM following f WHERE f.user_id = $1 AND f.following_id = pu.id))
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = {a} AND b.blocked_id = $1)
    OR (b.blocker_id = $1 AND b.blocked_id = {a}))"""
_VISIBLE = f"""t.deleted_at IS NULL AND {_AUTHOR_OK.format(a="t.author_id")}
  AND (t.retweet_of_tweet_id IS NULL OR EXISTS (SELECT 1 FROM tweets o
    WHERE o.id = t.retweet_of_tweet_id AND o.deleted_at IS NULL AND {_AUTHOR_OK.format(a="o.author_id")}))"""
_NOT_MUTED = """NOT EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = $1 AND m.muted_id = t.author_id)
  AND NOT EXISTS (SELECT 1 FROM tweets o JOIN mutes m ON m.muted_id = o.author_id
    WHERE o.id = t.retweet_of_tweet_id AND m.muter_id = $1)"""
_IN_HOME = f"""(t.author_id = $1 OR EXISTS (SELECT 1 FROM following f
    WHERE f.user_id = $1 AND f.following_id = t.author_id)) AND {_VISIBLE} AND {_NOT_MUTED}"""

# A page of tweets with author, counts (stored + pending deltas) and the viewer's state.
_HYDRATE = """SELECT t.id, t.text, t.created_at, u.id AS author_id, u.username, u.display_name,
  s.like_count + coalesce(p.like_count, 0) AS like_count,
  s.retweet_count + coalesce(p.retweet_count, 0) AS retweet_count,
  s.reply_count + coalesce(p.reply_count, 0) AS reply_count,
  EXISTS (SELECT 1 FROM likes l WHERE l.tweet_id = t.id AND l.user_id = $1) AS liked,
  EXISTS (SELECT 1 FROM tweets r WHERE r.retweet_of_tweet_id = t.id AND r.author_id = $1
    AND r.deleted_at IS NULL) AS retweeted,
  EXISTS (SELECT 1 FROM bookmarks k WHERE k.tweet_id = t.id AND k.user_id = $1) AS bookmarked
FROM {source}
JOIN users u ON u.id = t.author_id
JOIN tweet_stats s ON s.tweet_id = t.id
LEFT JOIN LATERAL (SELECT
    sum(amount) FILTER (WHERE field = 'like_count') AS like_count,
    sum(amount) FILTER (WHERE field = 'retweet_count') AS retweet_count,
    sum(amount) FILTER (WHERE field = 'reply_count') AS reply_count
  FROM counter_deltas d WHERE d.kind = 'tweet' AND d.object_id = t.id) p ON true
WHERE {where}
ORDER BY t.id DESC LIMIT {limit}"""
HOME_BY_IDS = _HYDRATE.format(
    source="tweets t", where=f"t.id = ANY($2) AND {_IN_HOME}", limit=PAGE + 1
)
HOME_FROM_POSTGRES = _HYDRATE.format(
    source="tweets t",
    where=f"""t.author_id IN (SELECT following_id FROM following WHERE user_id = $1
      UNION ALL SELECT $1) AND {_IN_HOME}""",
    limit=PAGE + 1,
)
FOLLOWED_AMONG = "SELECT following_id FROM following WHERE user_id = $1 AND following_id = ANY($2)"
PROFILE = f"""WITH owner AS (SELECT u.id, u.username, coalesce(us.followers_count, 0)
    + coalesce((SELECT sum(amount) FROM counter_deltas d WHERE d.kind = 'user'
      AND d.object_id = u.id AND d.field = 'followers_count'), 0) AS followers_count
  FROM users u LEFT JOIN user_stats us ON us.user_id = u.id WHERE lower(u.username) = lower($2))
SELECT owner.id AS owner_id, owner.username AS owner_username,
  owner.followers_count AS owner_followers, page.*
FROM owner LEFT JOIN LATERAL ({
    _HYDRATE.format(
        source="tweets t",
        where=f"t.author_id = owner.id AND t.reply_to_tweet_id IS NULL AND {_VISIBLE}",
        limit=PAGE + 1,
    )
}) page ON true"""


def global_id(kind: str, db_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{db_id}".encode()).decode().rstrip("=")


def cursor(tweet_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([tweet_id])).decode().rstrip("=")


def tweet_json(row: asyncpg.Record, with_author: bool) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": global_id("Tweet", row["id"]),
        "text": row["text"],
        "createdAt": row["created_at"],
    }
    if with_author:
        node["author"] = {
            "id": global_id("User", row["author_id"]),
            "username": row["username"],
            "displayName": row["display_name"],
        }
    node.update(
        likeCount=row["like_count"],
        retweetCount=row["retweet_count"],
        replyCount=row["reply_count"],
        viewerHasLiked=row["liked"],
        viewerHasRetweeted=row["retweeted"],
        viewerHasBookmarked=row["bookmarked"],
    )
    return node


class RawPeer:
    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url, self.redis = plain(database_url), Redis.from_url(redis_url)
        self.pool: asyncpg.Pool | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                if message["type"] == "lifespan.startup":
                    self.pool = await asyncpg.create_pool(self.database_url, min_size=8, max_size=8)
                    await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").removeprefix(b"Bearer ")
        query = parse_qs(scope["query_string"].decode())
        if scope["path"] == "/home":
            body = await self.home(token)
        else:
            body = await self.profile(token, query.get("username", [""])[0])
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(body)})

    async def home(self, token: bytes) -> dict[str, Any]:
        session_key = f"session:{hashlib.sha256(token).hexdigest()}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(session_key)
            pipe.smembers("timeline:celebrities")
            viewer, celebrities = await pipe.execute()
        if viewer is None:
            return {"data": None, "errors": [{"message": "Sign in"}]}
        viewer_id = int(viewer)
        key = f"timeline:{viewer_id}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zscore(key, b"0")
            pipe.zrevrangebyscore(key, "+inf", "(0", start=0, num=2 * (PAGE + 1))
            built, members = await pipe.execute()
        assert self.pool is not None
        async with self.pool.acquire() as connection:
            if built is None:
                rows = await connection.fetch(HOME_FROM_POSTGRES, viewer_id)
            else:
                ids = {int(m.partition(b":")[0]) for m in members}
                if celebrities:
                    followed = await connection.fetch(
                        FOLLOWED_AMONG, viewer_id, [int(c) for c in celebrities]
                    )
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for row in followed:
                            pipe.zrevrangebyscore(
                                f"recent:{row[0]}", "+inf", "-inf", start=0, num=PAGE + 1
                            )
                        for recent in await pipe.execute():
                            ids.update(int(m.partition(b":")[0]) for m in recent)
                rows = await connection.fetch(HOME_BY_IDS, viewer_id, list(ids))
        edges = [
            {"cursor": cursor(row["id"]), "node": tweet_json(row, True)} for row in rows[:PAGE]
        ]
        return {
            "data": {
                "homeTimeline": {
                    "edges": edges,
                    "pageInfo": {
                        "hasNextPage": len(rows) > PAGE,
                        "endCursor": edges[-1]["cursor"] if edges else None,
                    },
                }
            }
        }

    async def profile(self, token: bytes, username: str) -> dict[str, Any]:
        viewer = await self.redis.get(f"session:{hashlib.sha256(token).hexdigest()}")
        viewer_id = int(viewer) if viewer is not None else 0
        assert self.pool is not None
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(PROFILE, viewer_id, username)
        if not rows:
            return {"data": {"user": None}}
        owner = rows[0]
        nodes = [tweet_json(row, True) for row in rows[:PAGE] if row["id"] is not None]
        return {
            "data": {
                "user": {
                    "id": global_id("User", owner["owner_id"]),
                    "username": owner["owner_username"],
                    "followersCount": owner["owner_followers"],
                    "tweets": {"edges": [{"node": node} for node in nodes]},
                }
            }
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()
    uvicorn.run(
        RawPeer(args.database_url, args.redis_url),
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
