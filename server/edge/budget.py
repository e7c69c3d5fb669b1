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
from starling.core import Core
from starling.services import accounts
from starling.storage import rate_limits
from starling.storage.rate_limits import Budget, Decision

HOUR = 3600
COST_PER_POINT = 100


USER_BUCKET = "points:user:"  # + the user's id


async def spend_points(context: Context, cost: int) -> Decision:
    if context.points_spent is not None:  # the compiled path fell back to the normal one
        return context.points_spent
    settings = context.core.settings
    client = context.api_client
    if client is not None:
        bucket, budget = f"points:client:{client.id}", Budget(client.points_per_hour, HOUR)
    elif context.viewer_id is not None:
        bucket = f"{USER_BUCKET}{context.viewer_id}"
        budget = rate_limits.budget(settings.rate_limit_points_per_user)
    else:
        bucket = f"points:ip:{context.client_ip}"
        budget = rate_limits.budget(settings.rate_limit_points_per_ip)
    decision = await rate_limits.spend(
        context.core.redis.main, bucket, budget, cost=points_for(cost)
    )
    return note_spent(context, cost, decision)


async def sign_in_spending(core: Core, token: str, cost: int) -> tuple[int, Decision] | None:
    """A first-party request's sign-in and its spending from its user's budget in one round
    trip (``accounts.signed_in_viewer_spending``); None when that cannot be: the caller signs
    in, then ``spend_points``."""
    return await accounts.signed_in_viewer_spending(
        core,
        token,
        USER_BUCKET,
        rate_limits.budget(core.settings.rate_limit_points_per_user),
        points_for(cost),
    )


def points_for(cost: int) -> int:
    return max(1, math.ceil(cost / COST_PER_POINT))


def note_spent(context: Context, cost: int, decision: Decision) -> Decision:
    """What a request spent, in its rate-limit headers and ``extensions.cost``; it spends once,
    whichever execution path asks."""
    context.note_rate_limit(decision)
    context.extensions["cost"] = {
        "requested": cost,
        "points": points_for(cost),
        "limit": decision.limit,
        "remaining": decision.remaining,
        "resetAt": (datetime.now(UTC) + timedelta(seconds=decision.reset_after)).isoformat(
            timespec="seconds"
        ),
    }
    context.points_spent = decision
    return decision
