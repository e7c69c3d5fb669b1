"""Per-action budgets, spent before a use case runs: by the signed-in user for their writes, by
client IP for what anonymous clients do (register, log in), and by either for searches. Budgets come from settings
(``STARLING_RATE_LIMIT_*``, Mastodon's numbers by default)."""

from __future__ import annotations

from enum import StrEnum

from schema.context import Info
from starling.errors import RateLimited
from starling.storage import rate_limits


class Action(StrEnum):
    """Each names its setting: ``rate_limit_<value>``."""

    POST = "posts"
    FOLLOW = "follows"
    LIKE = "likes"
    BOOKMARK = "bookmarks"
    REGISTER = "registrations_per_ip"
    LOGIN = "logins_per_ip"
    SEARCH = "searches"
    MEDIA = "media_uploads"


PER_IP = {Action.REGISTER, Action.LOGIN}
# Reads anyone may do: the viewer's budget when signed in, the IP's when not.
PER_VIEWER_OR_IP = {Action.SEARCH}


async def spend(info: Info, action: Action) -> None:
    """Take one unit of the action's budget, or raise RATE_LIMITED with when to retry."""
    context = info.context
    by_ip = action in PER_IP or (action in PER_VIEWER_OR_IP and context.viewer_id is None)
    who = f"ip:{context.client_ip}" if by_ip else f"user:{context.require_viewer()}"
    budget = rate_limits.budget(getattr(context.core.settings, f"rate_limit_{action.value}"))
    decision = await rate_limits.spend(context.core.redis.main, f"{action.value}:{who}", budget)
    context.note_rate_limit(decision)
    if not decision.allowed:
        raise RateLimited(decision)
