"""Rate limits in Redis; owns the ``ratelimit:*`` keys.

A budget is "N per S seconds", enforced with GCRA (the generic cell rate algorithm, as in
redis-cell and go-redis/redis_rate): one key per bucket holding a theoretical arrival time. A
full budget can be spent at once; after that one more unit comes back every S/N seconds. So
a limit slows a client down evenly instead of shutting it out for a whole window, and the
answer says exactly when to retry. One Lua call per check, on Redis's clock (so every API
process agrees), compatible with the embedded Redis 6.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from redis.asyncio import Redis

from starling.storage import keys

# gcra(bucket key, interval (ms per unit), window (ms), cost, '1' to record or '0' to look).
# Returns: allowed (0/1), remaining, ms until retry, ms until the budget is whole again.
# A Lua function, so a script that first learns whose bucket it is can spend from it too.
GCRA_FUNCTION = """
local function gcra(key, interval_arg, window_arg, cost_arg, record_arg)
  local now_parts = redis.call('TIME')
  local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
  local interval, window = tonumber(interval_arg), tonumber(window_arg)
  local cost, record = tonumber(cost_arg), record_arg == '1'
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  local allow_at = new_tat - window
  if allow_at > now then
    return {0, 0, allow_at - now, tat - now}
  end
  if record and cost > 0 then
    -- PX takes whole milliseconds; the interval need not be one.
    redis.call('SET', key, new_tat, 'PX', math.max(1, math.ceil(new_tat - now)))
  end
  local remaining = math.floor((now - allow_at) / interval)
  if not record then new_tat = tat end
  return {1, remaining, 0, new_tat - now}
end
"""
_GCRA = GCRA_FUNCTION + "return gcra(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])\n"


@dataclass(frozen=True)
class Budget:
    """``count`` units per ``seconds``, written "count/seconds" in settings."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Budget:
        count, _, seconds = text.partition("/")
        budget = cls(int(count), int(seconds))
        if budget.count < 1 or budget.seconds < 1:
            raise ValueError(f"a budget is 'count/seconds' with both at least 1, not {text!r}")
        return budget

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until one more unit is allowed (0 when allowed)
    reset_after: float  # seconds until the whole budget is back
    window: int

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds, rounded up, as Retry-After wants them."""
        return max(1, math.ceil(self.retry_after)) if not self.allowed else 0


@cache
def budget(text: str) -> Budget:
    """A budget from its settings text, parsed once."""
    return Budget.parse(text)


async def spend(
    redis: Redis, bucket: str, budget: Budget, *, cost: int = 1, record: bool = True
) -> Decision:
    """Take ``cost`` units from the bucket if it has them (``record=False``: only look)."""
    answer = await redis.eval(  # type: ignore[misc]
        _GCRA, 1, keys.rate_limit(bucket), *gcra_arguments(budget, cost, record)
    )
    return decision_of(answer, budget)


def gcra_arguments(budget: Budget, cost: int, record: bool = True) -> tuple[str, str, str, str]:
    """``gcra``'s arguments after the key, for ``cost`` units of ``budget``."""
    interval = budget.seconds * 1000 / budget.count
    return str(interval), str(budget.seconds * 1000), str(cost), "1" if record else "0"


def decision_of(answer: list[int], budget: Budget) -> Decision:
    """What ``gcra`` returned, as a Decision."""
    allowed, remaining, retry_ms, reset_ms = answer
    return Decision(
        allowed=bool(allowed),
        limit=budget.count,
        remaining=int(remaining),
        retry_after=int(retry_ms) / 1000,
        reset_after=int(reset_ms) / 1000,
        window=budget.seconds,
    )


async def reset(redis: Redis, bucket: str) -> None:
    await redis.delete(keys.rate_limit(bucket))
