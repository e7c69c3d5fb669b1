"""Home timelines and authors' recent tweets in Redis sorted sets. Owns ``timeline:*`` and
``recent:*`` keys.

A home timeline is ``timeline:<user id>``: members are tweet ids (``"<id>"``, or
``"<id>:<original id>"`` for a retweet), scored by the tweet id. Ids are 53-bit (starling.ids), so
scores are exact and order equals id order. A sentinel member ``"0"`` (score 0) marks a timeline as
built: fan-out only writes into built timelines (or ones being rebuilt), so a timeline is either
complete or absent, and an absent one is rebuilt from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from starling.storage import keys

SENTINEL = b"0"
RECENT_SIZE = 200
REPEAT_WINDOW = 40  # like Mastodon: the top 40 entries carry no repeats of one original

# ARGV: score, member, original id ("0" for a non-retweet), size, window, timeline key prefix,
# user ids joined by ",". The script names the keys itself: packing thousands of key arguments
# cost the worker more than Redis spent on the writes. (Keys not passed in KEYS are fine on one
# Redis server, which is what Starling runs; fan-out already spans every slot.)
_PUSH = """
local added = 0
local size = tonumber(ARGV[4])
local window = tonumber(ARGV[5]) - 1
local retweet = ARGV[3] ~= '0'
for id in string.gmatch(ARGV[7], '%d+') do
  local key = ARGV[6] .. id
  -- Only a build (which adds the sentinel, never removed) or a push during a rebuild creates
  -- the key, and Redis deletes an emptied sorted set, so a count above 0 answers "built or being
  -- rebuilt" (more cheaply than ZSCORE on the sentinel) and is the size the trim needs: one call
  -- for both. A rebuild that died leaves entries without the sentinel: reads still rebuild it,
  -- and the entries pushed meanwhile are real ones the rebuild keeps.
  local count = redis.call('ZCARD', key)
  if count > 0 or redis.call('EXISTS', key .. ':rebuilding') == 1 then
    local repeated = false
    if retweet then
      for _, member in ipairs(redis.call('ZREVRANGE', key, 0, window)) do
        local original = string.match(member, ':(%d+)$') or member
        if original == ARGV[3] then repeated = true break end
      end
    end
    if not repeated then
      local new = redis.call('ZADD', key, ARGV[1], ARGV[2])
      added = added + new
      if count + new > size + 1 then
        redis.call('ZREMRANGEBYRANK', key, 1, -(size + 1))
      end
    end
  end
end
return added
"""

# KEYS: timeline key. ARGV: size, then score/member pairs. Adds entries and the sentinel.
_BUILD = """
local size = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('ZADD', KEYS[1], 0, '0')
redis.call('ZREMRANGEBYRANK', KEYS[1], 1, -(size + 1))
redis.call('DEL', KEYS[1] .. ':rebuilding')
return redis.call('ZCARD', KEYS[1]) - 1
"""


@dataclass(frozen=True)
class Entry:
    tweet_id: int
    original_id: int | None = None  # for a retweet

    @property
    def member(self) -> str:
        return f"{self.tweet_id}:{self.original_id}" if self.original_id else str(self.tweet_id)

    @classmethod
    def parse(cls, member: bytes) -> Entry:
        tweet_id, _, original = member.decode().partition(":")
        return cls(int(tweet_id), int(original) if original else None)


CELEBRITIES_MAX_AGE = 1.0


class Timelines:
    def __init__(self, redis: Redis, size: int) -> None:
        self.redis = redis
        self.size = size
        self._push = redis.register_script(_PUSH)
        self._build = redis.register_script(_BUILD)
        self._celebrities: tuple[float, list[int]] | None = None
        self._celebrities_read: asyncio.Future[list[int]] | None = None

    async def push(self, user_ids: Sequence[int], entry: Entry) -> int:
        """Add an entry to the built timelines among ``user_ids``; returns how many took it."""
        if not user_ids:
            return 0
        original = str(entry.original_id or 0)
        return int(
            await self._push(
                args=[
                    entry.tweet_id,
                    entry.member,
                    original,
                    self.size,
                    REPEAT_WINDOW,
                    keys.HOME_TIMELINE_PREFIX,
                    ",".join(map(str, user_ids)),
                ],
            )
        )

    async def remove(self, user_ids: Sequence[int], entries: Sequence[Entry]) -> None:
        if not user_ids or not entries:
            return
        members = [e.member for e in entries]
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zrem(keys.home_timeline(user_id), *members)
            await pipe.execute()

    async def drop(self, user_ids: Sequence[int]) -> None:
        """Forget timelines (inactive users): they are rebuilt when their owner comes back."""
        if user_ids:
            await self.redis.delete(*[keys.home_timeline(u) for u in user_ids])

    async def is_built(self, user_id: int) -> bool:
        return await self.redis.zscore(keys.home_timeline(user_id), SENTINEL) is not None

    async def read(self, user_id: int, before: int | None, count: int) -> list[Entry] | None:
        """Up to ``count`` entries newest first below ``before``; None if the timeline is not built."""
        key = keys.home_timeline(user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zscore(key, SENTINEL)
            pipe.zrevrangebyscore(
                key, f"({before}" if before is not None else "+inf", "(0", start=0, num=count
            )
            built, members = await pipe.execute()
        if built is None:
            return None
        return [Entry.parse(m) for m in members]

    async def read_with_celebrities(
        self, user_id: int, before: int | None, count: int
    ) -> tuple[list[Entry] | None, list[int]]:
        """``read`` and ``celebrities`` in one round trip (the start of every home page)."""
        key = keys.home_timeline(user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zscore(key, SENTINEL)
            pipe.zrevrangebyscore(
                key, f"({before}" if before is not None else "+inf", "(0", start=0, num=count
            )
            pipe.smembers(keys.CELEBRITIES)
            built, members, celebrities = await pipe.execute()
        entries = [Entry.parse(m) for m in members] if built is not None else None
        return entries, [int(member) for member in celebrities]

    async def oldest_id(self, user_id: int) -> int | None:
        """The oldest tweet id in the timeline, or None when it is empty or not built."""
        members = await self.redis.zrangebyscore(
            keys.home_timeline(user_id), "(0", "+inf", start=0, num=1
        )
        return Entry.parse(members[0]).tweet_id if members else None

    async def start_rebuild(self, user_id: int) -> None:
        """From now on fan-out writes into this timeline while it is rebuilt."""
        await self.redis.set(keys.home_timeline_rebuilding(user_id), 1, ex=300)

    async def finish_rebuild(self, user_id: int, entries: Sequence[Entry]) -> int:
        args: list[int | str] = [self.size]
        for entry in entries:
            args += [entry.tweet_id, entry.member]
        return int(await self._build(keys=[keys.home_timeline(user_id)], args=args))

    async def entries(self, user_id: int) -> list[Entry]:
        """Every entry, newest first (for tests and tools)."""
        members = await self.redis.zrevrangebyscore(keys.home_timeline(user_id), "+inf", "(0")
        return [Entry.parse(m) for m in members]

    # --- authors' recent tweets (celebrity merge on read) ----------------------------------

    async def add_recent(self, author_id: int, entry: Entry) -> None:
        key = keys.recent_tweets(author_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {entry.member: entry.tweet_id})
            pipe.zremrangebyrank(key, 0, -(RECENT_SIZE + 1))
            await pipe.execute()

    async def remove_recent(self, author_id: int, entries: Sequence[Entry]) -> None:
        if entries:
            await self.redis.zrem(keys.recent_tweets(author_id), *[e.member for e in entries])

    async def recent(
        self, author_ids: Sequence[int], before: int | None, count: int
    ) -> list[Entry]:
        """Newest entries of several authors below ``before``, merged newest first."""
        if not author_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for author_id in author_ids:
                pipe.zrevrangebyscore(
                    keys.recent_tweets(author_id),
                    f"({before}" if before is not None else "+inf",
                    "-inf",
                    start=0,
                    num=count,
                )
            results = await pipe.execute()
        merged = [Entry.parse(m) for members in results for m in members]
        merged.sort(key=lambda e: e.tweet_id, reverse=True)
        return merged[:count]

    # --- who is a celebrity (fanned out on read) --------------------------------------------

    async def celebrities(self) -> list[int]:
        """Read at most every ``CELEBRITIES_MAX_AGE`` seconds in a process: every subscription
        to a home timeline asks when it opens, thousands a second after a deploy, and those
        asking while it is read wait for that one read."""
        if (
            self._celebrities is not None
            and time.monotonic() - self._celebrities[0] < CELEBRITIES_MAX_AGE
        ):
            return self._celebrities[1]
        if self._celebrities_read is None:
            self._celebrities_read = asyncio.ensure_future(self._read_celebrities())
        read = self._celebrities_read
        try:
            # Shielded: one asker going away must not cancel the read the others wait for.
            return await asyncio.shield(read)
        finally:
            if read.done() and self._celebrities_read is read:
                self._celebrities_read = None

    async def _read_celebrities(self) -> list[int]:
        members = await self.redis.smembers(keys.CELEBRITIES)  # type: ignore[misc]  # redis-py types results T | Awaitable[T]
        found = [int(member) for member in members]
        self._celebrities = (time.monotonic(), found)
        return found

    async def mark_celebrity(self, author_id: int, is_celebrity: bool) -> None:
        if is_celebrity:
            await self.redis.sadd(keys.CELEBRITIES, author_id)  # type: ignore[misc]
        else:
            await self.redis.srem(keys.CELEBRITIES, author_id)  # type: ignore[misc]
