"""trends, as a query and as a subscription."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator

from resolvers.subscriptions import revocation_channels
from schema.context import Info
from schema.trends import Trend
from starling.errors import DomainError, ErrorCode
from starling.services import trends as trend_service
from starling.storage import keys
from starling.storage.trends import GLOBAL, MAX_LISTED, region_scope

REGION = re.compile(r"[A-Za-z]{2}")


def _region(region: str | None) -> str | None:
    if region is None:
        return None
    if not REGION.fullmatch(region):
        raise DomainError(
            ErrorCode.BAD_USER_INPUT,
            "region is a two-letter ISO 3166-1 country code.",
            "region",
        )
    return region.upper()


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LISTED:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT, f"limit must be between 1 and {MAX_LISTED}.", "limit"
        )
    return limit


async def trends(
    info: Info, region: str | None = None, limit: int = 10, personalized: bool = False
) -> list[Trend]:
    wanted = _region(region)
    listed = await trend_service.trends(
        info.context.core, info.context.viewer_id, wanted, _limit(limit), personalized
    )
    return [Trend.from_trend(t, wanted) for t in listed]


async def live_trends(
    info: Info, region: str | None = None, limit: int = 10
) -> AsyncGenerator[list[Trend], None]:
    """The current list at once, then again each time the refresh changes it."""
    wanted, count = _region(region), _limit(limit)
    core, hub = info.context.core, info.context.require_hub()
    channel = keys.trends_channel(region_scope(wanted) if wanted else GLOBAL)
    revoked = revocation_channels(info.context)
    async with hub.listen([channel, *revoked]) as queue:
        while True:
            listed = await trend_service.trends(core, info.context.viewer_id, wanted, count)
            yield [Trend.from_trend(t, wanted) for t in listed]
            got, _ = await queue.get()
            if got in revoked:
                return
            while not queue.empty():  # a burst of changes: one list
                if queue.get_nowait()[0] in revoked:
                    return
