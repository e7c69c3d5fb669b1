"""Real-time events over Redis pub/sub, presence, and watchers. Owns ``presence``, ``watching``,
``events:*`` channels and the engagement throttle keys.

Publishers (workers, services) publish only where someone listens: a user's home and
notification events only when the user is present (connected to some API process), a tweet's
engagement only while someone watches it, and at most every ``ENGAGEMENT_INTERVAL_MS``.
Each API process keeps one pub/sub connection (``Hub``) and multiplexes its local subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from starling.storage import keys

log = logging.getLogger(__name__)

Event = tuple[str, str]  # (channel, data)

PRESENCE_TTL = 60
REFRESH_EVERY = 20
ENGAGEMENT_INTERVAL_MS = 200


# KEYS: watching, throttle key, channel. ARGV: tweet id, now, interval ms.
_ENGAGEMENT = """
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expiry or tonumber(expiry) < tonumber(ARGV[2]) then return 0 end
if not redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[3]) then return 0 end
return redis.call('PUBLISH', KEYS[3], ARGV[1])
"""


# KEYS: presence[, channel]. ARGV: now, user ids joined by ","[, message]. Returns the present
# ones (ids in one argument: see _PUSH in storage/timelines); with a channel, also publishes
# "<message>:<id>,<id>..." there when any is present.
_PRESENT = """
local present = {}
local online = redis.call('ZCARD', KEYS[1])
if online > 0 then
  local now = tonumber(ARGV[1])
  local ids = {}
  for id in string.gmatch(ARGV[2], '%d+') do ids[#ids + 1] = id end
  if online < #ids then
    -- Fewer people online than asked about: read them all once instead of one ZSCORE per id.
    local live = {}
    for _, id in ipairs(redis.call('ZRANGE', KEYS[1], '(' .. ARGV[1], '+inf', 'BYSCORE')) do
      live[id] = true
    end
    for _, id in ipairs(ids) do
      if live[id] then present[#present + 1] = id end
    end
  else
    for _, id in ipairs(ids) do
      local expiry = redis.call('ZSCORE', KEYS[1], id)
      if expiry and tonumber(expiry) > now then present[#present + 1] = id end
    end
  end
end
if KEYS[2] and #present > 0 then
  redis.call('PUBLISH', KEYS[2], ARGV[3] .. ':' .. table.concat(present, ','))
end
return present
"""


class Publisher:
    """What workers and services use to announce events."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._engagement = redis.register_script(_ENGAGEMENT)
        self._present = redis.register_script(_PRESENT)

    async def present(self, user_ids: Sequence[int]) -> list[int]:
        """The users among ``user_ids`` connected to some API process right now."""
        if not user_ids:
            return []
        present = await self._present(
            keys=[keys.PRESENCE], args=[time.time(), ",".join(map(str, user_ids))]
        )
        return [int(user_id) for user_id in present]

    async def publish_many(self, channels: Iterable[str], message: str | int) -> None:
        channels = list(channels)
        if not channels:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for channel in channels:
                pipe.publish(channel, message)
            await pipe.execute()

    async def tweet_in_homes(self, user_ids: Sequence[int], tweet_id: int) -> None:
        """Tell every API process that a tweet landed in these users' home timelines, naming
        the present ones in one message (``keys.HOME_DELIVERIES``)."""
        if user_ids:
            await self._present(
                keys=[keys.PRESENCE, keys.HOME_DELIVERIES],
                args=[time.time(), ",".join(map(str, user_ids)), tweet_id],
            )

    async def to_present_users(
        self, user_ids: Sequence[int], channel_of: Callable[[int], str], message: str | int
    ) -> None:
        present = await self.present(user_ids)
        await self.publish_many([channel_of(u) for u in present], message)

    async def engagement_changed(self, tweet_ids: Iterable[int]) -> None:
        """Announce new counts of watched tweets, coalesced to one message per interval."""
        now = time.time()
        for tweet_id in set(tweet_ids):
            await self._engagement(
                keys=[
                    keys.WATCHING,
                    keys.engagement_throttle(tweet_id),
                    keys.engagement_channel(tweet_id),
                ],
                args=[tweet_id, now, ENGAGEMENT_INTERVAL_MS],
            )


class Inbox:
    """One listener's events, in order, at most ``maxsize`` waiting: ``asyncio.Queue``'s get,
    get_nowait, put_nowait, empty and full for a single consumer. Every socket holds two; an
    asyncio.Queue is three deques and an Event, which the collector scans for the socket's
    whole life."""

    __slots__ = ("_events", "_maxsize", "_waiter")

    def __init__(self, maxsize: int) -> None:
        self._events: deque[Event] = deque()
        self._maxsize = maxsize
        self._waiter: asyncio.Future[None] | None = None

    def empty(self) -> bool:
        return not self._events

    def full(self) -> bool:
        return len(self._events) >= self._maxsize

    def put_nowait(self, event: Event) -> None:
        if self.full():
            raise asyncio.QueueFull
        self._events.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> Event:
        if not self._events:
            raise asyncio.QueueEmpty
        return self._events.popleft()

    async def get(self) -> Event:
        while not self._events:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.popleft()


class _Arrivals:
    """Users whose presence one ZADD writes, and when it is written."""

    def __init__(self) -> None:
        self.user_ids: list[int] = []
        self.written: asyncio.Future[None] = asyncio.get_running_loop().create_future()


def _filled_locally(channel: str) -> bool:
    """Home and revocation channels are filled from one shared channel each
    (``keys.HOME_DELIVERIES``, ``keys.REVOCATIONS``), never subscribed one by one: a socket
    costs no SUBSCRIBE, and a fan-out batch one message."""
    return channel.startswith((keys.HOME_CHANNEL_PREFIX, keys.REVOKED_CHANNEL_PREFIX))


class Hub:
    """One pub/sub connection per process, shared by every local subscriber.

    A channel is subscribed when its first local listener arrives and unsubscribed when its last
    one leaves. Presence and watches are refreshed for everyone connected here.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._pubsub: PubSub | None = None
        self._listeners: dict[str, set[Inbox]] = defaultdict(set)
        self._present: dict[int, int] = defaultdict(int)
        self._watched: dict[int, int] = defaultdict(int)
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._arrivals: _Arrivals | None = None
        self._presence_write = asyncio.Lock()
        self._writes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        # Always subscribed, they also keep the connection in pub/sub mode between other channels.
        await self._pubsub.subscribe(keys.HOME_DELIVERIES, keys.REVOCATIONS)
        self._tasks = [
            asyncio.create_task(self._read(), name="hub-reader"),
            asyncio.create_task(self._refresh(), name="hub-presence"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pubsub is not None:
            await self._pubsub.aclose()

    @contextlib.asynccontextmanager
    async def listen(self, channels: Sequence[str]) -> AsyncIterator[Inbox]:
        """An inbox receiving every message on ``channels`` as (channel, data); one consumer
        reads it."""
        queue = Inbox(maxsize=1000)
        # Channels filled locally need no SUBSCRIBE, so no lock either (nothing here awaits).
        remote = not all(map(_filled_locally, channels))
        if remote:
            async with self._lock:
                new = [c for c in channels if not self._listeners[c] and not _filled_locally(c)]
                self._add(queue, channels)
                if new and self._pubsub is not None:
                    await self._pubsub.subscribe(*new)
        else:
            self._add(queue, channels)
        try:
            yield queue
        finally:
            if remote:
                async with self._lock:
                    gone = [c for c in self._remove(queue, channels) if not _filled_locally(c)]
                    if gone and self._pubsub is not None:
                        await self._pubsub.unsubscribe(*gone)
            else:
                self._remove(queue, channels)

    def _add(self, queue: Inbox, channels: Sequence[str]) -> None:
        for channel in channels:
            self._listeners[channel].add(queue)

    def _remove(self, queue: Inbox, channels: Sequence[str]) -> list[str]:
        """Stop ``queue`` listening; the channels nobody here listens to any more."""
        gone = []
        for channel in channels:
            self._listeners[channel].discard(queue)
            if not self._listeners[channel]:
                del self._listeners[channel]
                gone.append(channel)
        return gone

    @contextlib.asynccontextmanager
    async def presence(self, user_id: int) -> AsyncIterator[None]:
        """Mark a user present (so workers publish to them) while the block runs."""
        self._present[user_id] += 1
        if self._present[user_id] == 1:
            await self._mark_present(user_id)
        try:
            yield
        finally:
            self._present[user_id] -= 1
            if not self._present[user_id]:
                del self._present[user_id]

    async def _mark_present(self, user_id: int) -> None:
        """Sockets opening together share one ZADD: those arriving while one is in flight go
        in the next (a reconnect storm opens thousands a second)."""
        arrivals = self._arrivals
        if arrivals is None:
            arrivals = self._arrivals = _Arrivals()
            write = asyncio.get_running_loop().create_task(self._write_arrivals(arrivals))
            self._writes.add(write)
            write.add_done_callback(self._writes.discard)
        arrivals.user_ids.append(user_id)
        # Shielded: a socket closing while it waits must not cancel the others' write.
        await asyncio.shield(arrivals.written)

    async def _write_arrivals(self, arrivals: _Arrivals) -> None:
        try:
            async with self._presence_write:
                self._arrivals = None
                expiry = time.time() + PRESENCE_TTL
                await self.redis.zadd(keys.PRESENCE, {str(u): expiry for u in arrivals.user_ids})
            arrivals.written.set_result(None)
        except Exception as error:
            arrivals.written.set_exception(error)
            arrivals.written.exception()  # retrieved: whoever still waits hears it

    @contextlib.asynccontextmanager
    async def watching(self, tweet_id: int) -> AsyncIterator[None]:
        self._watched[tweet_id] += 1
        if self._watched[tweet_id] == 1:
            await self.redis.zadd(keys.WATCHING, {str(tweet_id): time.time() + PRESENCE_TTL})
        try:
            yield
        finally:
            self._watched[tweet_id] -= 1
            if not self._watched[tweet_id]:
                del self._watched[tweet_id]

    async def _read(self) -> None:
        assert self._pubsub is not None
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep serving: a dropped connection is retried by redis-py
                log.warning("pub/sub read failed", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()
            data = message["data"].decode()
            if channel == keys.HOME_DELIVERIES:
                tweet_id, _, user_ids = data.partition(":")
                for user_id in user_ids.split(","):
                    self._dispatch(keys.home_channel(user_id), tweet_id)
            elif channel == keys.REVOCATIONS:
                self._dispatch(keys.revoked_channel(data), "revoked")
            else:
                self._dispatch(channel, data)

    def _dispatch(self, channel: str, data: str) -> None:
        for queue in self._listeners.get(channel, ()):
            if queue.full():
                continue  # a stalled client loses events rather than memory
            queue.put_nowait((channel, data))

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY)
            expiry = time.time() + PRESENCE_TTL
            try:
                if self._present:
                    await self.redis.zadd(keys.PRESENCE, {str(u): expiry for u in self._present})
                if self._watched:
                    await self.redis.zadd(keys.WATCHING, {str(t): expiry for t in self._watched})
                now = time.time()
                await self.redis.zremrangebyscore(keys.PRESENCE, "-inf", now)
                await self.redis.zremrangebyscore(keys.WATCHING, "-inf", now)
            except Exception:
                log.warning("presence refresh failed", exc_info=True)
