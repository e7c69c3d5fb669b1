"""The GCRA rate limiter's Lua script (``starling/storage/rate_limits.py``) against real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from starling.storage import keys, rate_limits
from starling.storage.rate_limits import Budget


async def test_a_budget_allows_its_count_then_says_when_to_retry(app: Any) -> None:
    redis = app.state.core.redis.main
    budget = Budget(3, 60)

    decisions = [await rate_limits.spend(redis, "bucket", budget) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    # One unit comes back every 20 s.
    assert decisions[3].retry_after == pytest.approx(20, abs=1)
    assert decisions[3].retry_after_seconds in (20, 21)
    assert decisions[3].reset_after == pytest.approx(60, abs=1)


async def test_looking_spends_nothing_and_a_cost_spends_several_units(app: Any) -> None:
    redis = app.state.core.redis.main
    budget = Budget(5, 60)

    for _ in range(3):
        assert (await rate_limits.spend(redis, "look", budget, record=False)).remaining == 4
    assert (await rate_limits.spend(redis, "look", budget, cost=4)).remaining == 1
    assert not (await rate_limits.spend(redis, "look", budget, cost=2)).allowed
    assert (await rate_limits.spend(redis, "look", budget)).allowed


async def test_reset_gives_the_whole_budget_back(app: Any) -> None:
    redis = app.state.core.redis.main
    budget = Budget(1, 3600)
    assert (await rate_limits.spend(redis, "login", budget)).allowed
    assert not (await rate_limits.spend(redis, "login", budget)).allowed

    await rate_limits.reset(redis, "login")

    assert (await rate_limits.spend(redis, "login", budget)).allowed


@pytest.mark.parametrize("text", ["0/60", "5/0", "5", "five/60", "-1/60"])
def test_a_malformed_budget_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - Budget.parse raises only ValueError
        Budget.parse(text)


@pytest.mark.parametrize("budget", [Budget(3, 1), Budget(7, 60)])
async def test_a_budget_whose_interval_is_not_whole_milliseconds_spends(
    app: Any, budget: Budget
) -> None:
    """One unit every 333.3 ms (or 8,571.4 ms): the key's expiry is rounded up to whole ms,
    which Redis's PX requires (it was an INTERNAL_SERVER_ERROR; seen registering 60 accounts
    at once, when the bucket's time ran ahead of the clock by a fraction)."""
    redis = app.state.core.redis.main
    decisions = [
        await rate_limits.spend(redis, f"odd{budget}", budget) for _ in range(budget.count)
    ]
    assert all(d.allowed for d in decisions)
    assert decisions[-1].remaining == 0
    ttl_ms = await redis.pttl(keys.rate_limit(f"odd{budget}"))
    assert 0 < ttl_ms <= budget.seconds * 1000
