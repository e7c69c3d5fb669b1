"""Who consumes which events. Each consumer declares the kinds it handles and gets its own
delivery of each (``starling.storage.outbox``); a new consumer (media, views) plugs in
by adding a line here. Handlers are idempotent: a delivery may run twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starling.config import Settings
from starling.core import Core
from starling.events import Event
from starling.services import notifications, search_indexing, timeline_events, trends


@dataclass(frozen=True)
class Consumer:
    name: str
    kinds: frozenset[str]
    handle: Callable[[Core, Event], Awaitable[object]]
    # Whether this deployment runs it: a consumer that is off gets no deliveries.
    enabled: Callable[[Settings], bool] = lambda settings: True


CONSUMERS: dict[str, Consumer] = {
    consumer.name: consumer
    for consumer in (
        Consumer("timelines", timeline_events.KINDS, timeline_events.handle),
        Consumer("notifications", notifications.KINDS, notifications.handle),
        Consumer("trends", trends.KINDS, trends.handle),
        Consumer(
            "search",
            search_indexing.KINDS,
            search_indexing.handle,
            enabled=lambda settings: settings.opensearch_url is not None,
        ),
    )
}


def consumers_of(kind: str, settings: Settings) -> list[str]:
    return [c.name for c in CONSUMERS.values() if kind in c.kinds and c.enabled(settings)]
