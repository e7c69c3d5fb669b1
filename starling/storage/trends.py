"""Trend counts in Redis: distinct accounts per hashtag per hour and scope, the decaying peaks,
the published lists, and recent engagement for velocity. Owns the ``trends:*`` and
``velocity:*`` keys (``starling.storage.keys``).

Counting is exact and idempotent: a tweet is counted once (a marker holds what it was counted
as), an account counts once per tag and hour however often it repeats it (a per-account tally in
``trends:uses``), and a delete takes away exactly what the post added.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from redis.asyncio import Redis

from starling.storage import keys

GLOBAL = "global"
MAX_LISTED = 50  # trends kept per scope
VELOCITY_WINDOW_SECONDS = 600
VELOCITY_KEEP_SECONDS = 3600


def region_scope(region: str) -> str:
    return f"region:{region.upper()}"


def hour_of(moment: datetime) -> int:
    return int(moment.timestamp() // 3600)


@dataclass(frozen=True)
class Counted:
    """What one tweet added: under these scopes and tags, in this hour, with this weight."""

    author_id: int
    hour: int
    scopes: list[str]
    tags: list[str]
    weight: float


@dataclass(frozen=True)
class Trend:
    name: str
    score: float
    tweet_count: int
    user_count: int


# KEYS: the marker, then per scope: accounts, people, tweets, then one uses key per tag.
# ARGV: +1 or -1, account, weight, ttl, marker value, scope count, then the tags.
# Adding needs the marker to be absent (it is set); taking away needs it to hold exactly the
# value given (it is deleted): either way a repeat does nothing.
_COUNT = """
local sign = tonumber(ARGV[1])
local account, weight, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if sign > 0 then
  if not redis.call('SET', KEYS[1], ARGV[5], 'NX', 'EX', ttl) then return 0 end
else
  if redis.call('GET', KEYS[1]) ~= ARGV[5] then return 0 end
  redis.call('DEL', KEYS[1])
end
local scopes = tonumber(ARGV[6])
local tags = #ARGV - 6
local key = 1 + 3 * scopes
for s = 0, scopes - 1 do
  local accounts, people, tweets = KEYS[2 + 3 * s], KEYS[3 + 3 * s], KEYS[4 + 3 * s]
  for t = 1, tags do
    local tag = ARGV[6 + t]
    key = key + 1
    local uses = KEYS[key]
    local n = redis.call('HINCRBY', uses, account, sign)
    if sign > 0 and n == 1 then
      redis.call('HSET', uses, 'w:' .. account, weight)
      redis.call('HINCRBYFLOAT', accounts, tag, weight)
      redis.call('HINCRBY', people, tag, 1)
    elseif sign < 0 and n <= 0 then
      local first = tonumber(redis.call('HGET', uses, 'w:' .. account) or weight)
      redis.call('HDEL', uses, account, 'w:' .. account)
      redis.call('HINCRBYFLOAT', accounts, tag, -first)
      redis.call('HINCRBY', people, tag, -1)
    end
    redis.call('HINCRBY', tweets, tag, sign)
    redis.call('EXPIRE', uses, ttl)
  end
  redis.call('EXPIRE', accounts, ttl)
  redis.call('EXPIRE', people, ttl)
  redis.call('EXPIRE', tweets, ttl)
end
return 1
"""


class TrendCounts:
    def __init__(self, redis: Redis, keep_hours: int) -> None:
        self.redis = redis
        self.ttl = keep_hours * 3600
        self._count = redis.register_script(_COUNT)

    async def add(self, tweet_id: int, counted: Counted) -> bool:
        """Count a tweet; False when it was counted already."""
        return await self._apply(tweet_id, counted, +1)

    async def remove(self, tweet_id: int) -> Counted | None:
        """Take away what a tweet added; None when it was not counted (or already taken)."""
        raw = await self.redis.get(keys.trends_counted(tweet_id))
        if raw is None:
            return None
        counted = Counted(**json.loads(raw))
        return counted if await self._apply(tweet_id, counted, -1) else None

    async def _apply(self, tweet_id: int, counted: Counted, sign: int) -> bool:
        if not counted.tags:
            return False
        scope_keys = [
            key
            for scope in counted.scopes
            for key in (
                keys.trends_accounts(scope, counted.hour),
                keys.trends_people(scope, counted.hour),
                keys.trends_tweets(scope, counted.hour),
            )
        ]
        uses = [
            keys.trends_uses(scope, counted.hour, tag)
            for scope in counted.scopes
            for tag in counted.tags
        ]
        done = await self._count(
            keys=[keys.trends_counted(tweet_id), *scope_keys, *uses],
            args=[
                sign,
                counted.author_id,
                counted.weight,
                self.ttl,
                json.dumps(asdict(counted), sort_keys=True),
                len(counted.scopes),
                *counted.tags,
            ],
        )
        if done and sign > 0:
            await self.redis.sadd(keys.TRENDS_SCOPES, *counted.scopes)  # type: ignore[misc]
        return bool(done)

    async def scopes(self) -> list[str]:
        members = await self.redis.smembers(keys.TRENDS_SCOPES)  # type: ignore[misc]
        return sorted({GLOBAL, *(m.decode() for m in members)})

    async def hour_counts(
        self, family: str, scope: str, hours: Sequence[int]
    ) -> list[dict[str, float]]:
        """One hash per hour of ``family`` (accounts, people or tweets): tag -> count."""
        key_of = {
            "accounts": keys.trends_accounts,
            "people": keys.trends_people,
            "tweets": keys.trends_tweets,
        }[family]
        async with self.redis.pipeline(transaction=False) as pipe:
            for hour in hours:
                pipe.hgetall(key_of(scope, hour))
            found = await pipe.execute()
        return [{k.decode(): float(v) for k, v in hashed.items()} for hashed in found]

    async def peaks(self, scope: str) -> dict[str, tuple[float, float]]:
        """tag -> (peak score, when, as epoch seconds)."""
        raw = await self.redis.hgetall(keys.trends_peaks(scope))  # type: ignore[misc]
        return {
            tag.decode(): (float(peak["score"]), float(peak["at"]))
            for tag, peak in ((t, json.loads(v)) for t, v in raw.items())
        }

    async def set_peaks(
        self, scope: str, changed: dict[str, tuple[float, float]], gone: Sequence[str]
    ) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            if changed:
                pipe.hset(
                    keys.trends_peaks(scope),
                    mapping={
                        tag: json.dumps({"score": score, "at": at})
                        for tag, (score, at) in changed.items()
                    },
                )
            if gone:
                pipe.hdel(keys.trends_peaks(scope), *gone)
            await pipe.execute()

    async def publish_list(self, scope: str, trends: list[Trend]) -> bool:
        """Store a scope's list; True (and a message on its channel) when it changed."""
        encoded = json.dumps([asdict(t) for t in trends])
        previous = await self.redis.set(keys.trends_list(scope), encoded, get=True)
        if (previous.decode() if previous is not None else "[]") == encoded:
            return False  # no list and an empty one are the same to a subscriber
        await self.redis.publish(keys.trends_channel(scope), "1")
        return True

    async def current(self, scope: str) -> list[Trend]:
        raw = await self.redis.get(keys.trends_list(scope))
        return [Trend(**t) for t in json.loads(raw)] if raw else []


class Velocity:
    """Likes and retweets of recent minutes, per tweet (one sorted set each, kept an hour)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add(self, tweet_id: int, member: str, at: datetime) -> None:
        key = keys.engagement_velocity(tweet_id)
        when = at.timestamp()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {member: when}, nx=True)  # a repeated delivery adds nothing
            pipe.zremrangebyscore(key, "-inf", when - VELOCITY_KEEP_SECONDS)
            pipe.expire(key, VELOCITY_KEEP_SECONDS)
            await pipe.execute()

    async def remove(self, tweet_id: int, member: str) -> None:
        await self.redis.zrem(keys.engagement_velocity(tweet_id), member)

    async def per_minute(self, tweet_ids: Sequence[int], now: float) -> list[float]:
        """Likes + retweets a minute over the last ``VELOCITY_WINDOW_SECONDS``."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for tweet_id in tweet_ids:
                pipe.zcount(
                    keys.engagement_velocity(tweet_id), now - VELOCITY_WINDOW_SECONDS, "+inf"
                )
            counts = await pipe.execute()
        return [count / (VELOCITY_WINDOW_SECONDS / 60) for count in counts]
