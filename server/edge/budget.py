"""Points budgets (GitHub's published rule): a request spends its cost / 100, rounded up, at
least 1, from an hourly plan: its API client's (``api_clients.points_per_hour``), else its
signed-in user's (``STARLING_RATE_LIMIT_POINTS_PER_USER``), else its IP's
(``STARLING_RATE_LIMIT_POINTS_PER_IP``). What it spent and what is left are reported in
``extensions.cost`` and the ``RateLimit-*`` headers; an empty budget is RATE_LIMITED with
``Retry-After``."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from schema.context import Context
from starling.storage import rate_limits
from starling.storage.rate_limits import Budget, Decision

HOUR = 3600
COST_PER_POINT = 100


async def spend_points(context: Context, cost: int) -> Decision:
    if context.points_spent is not None:  # the compiled path fell back to the normal one
        return context.points_spent
    points = max(1, math.ceil(cost / COST_PER_POINT))
    settings = context.core.settings
    client = context.api_client
    if client is not None:
        bucket, budget = f"points:client:{client.id}", Budget(client.points_per_hour, HOUR)
    elif context.viewer_id is not None:
        bucket = f"points:user:{context.viewer_id}"
        budget = rate_limits.budget(settings.rate_limit_points_per_user)
    else:
        bucket = f"points:ip:{context.client_ip}"
        budget = rate_limits.budget(settings.rate_limit_points_per_ip)
    decision = await rate_limits.spend(context.core.redis.main, bucket, budget, cost=points)
    context.note_rate_limit(decision)
    context.extensions["cost"] = {
        "requested": cost,
        "points": points,
        "limit": decision.limit,
        "remaining": decision.remaining,
        "resetAt": (datetime.now(UTC) + timedelta(seconds=decision.reset_after)).isoformat(
            timespec="seconds"
        ),
    }
    context.points_spent = decision
    return decision
