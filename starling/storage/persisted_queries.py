"""Automatic persisted queries (Apollo APQ) in Redis; owns the ``apq:*`` keys.

Any client may teach the server a document by its SHA-256, so the store is bounded: documents
over ``max_bytes`` are not kept, each expires ``ttl`` after its last use, and beyond
``max_documents`` the least recently used go first. A forgotten document costs the client one
round trip (PERSISTED_QUERY_NOT_FOUND, then the full text), never a failure.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from starling.storage import keys


class PersistedQueries:
    def __init__(self, redis: Redis, max_documents: int, max_bytes: int, ttl_seconds: int) -> None:
        self.redis = redis
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self.ttl = ttl_seconds

    async def get(self, sha256: str) -> str | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.getex(keys.apq_document(sha256), ex=self.ttl)
            pipe.zadd(keys.APQ_INDEX, {sha256: time.time()}, xx=True)
            found, _ = await pipe.execute()
        return found.decode() if found is not None else None

    async def put(self, sha256: str, document: str) -> bool:
        """Keep a document (its hash already checked); False when it is too big to keep."""
        if len(document.encode()) > self.max_bytes:
            return False
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.apq_document(sha256), document, ex=self.ttl)
            pipe.zadd(keys.APQ_INDEX, {sha256: time.time()})
            pipe.zcard(keys.APQ_INDEX)
            *_, kept = await pipe.execute()
        if kept > self.max_documents:
            oldest = await self.redis.zpopmin(keys.APQ_INDEX, kept - self.max_documents)
            await self.redis.delete(*(keys.apq_document(member.decode()) for member, _ in oldest))
        return True
