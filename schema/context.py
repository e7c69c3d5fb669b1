"""The typed request context every resolver receives as ``info.context``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from dataloaders import Loaders
from dataloaders.live import Delivery, LiveDeliveries
from starling.core import Core
from starling.errors import DomainError, ErrorCode
from starling.queries.documents import ApiClientRecord
from starling.storage.events import Hub
from starling.storage.rate_limits import Decision
from starling.storage.search import Searched


@dataclass
class Context:
    core: Core
    loaders: Loaders
    request: Request | WebSocket | None = None
    token: str | None = None
    viewer_id: int | None = None
    hub: Hub | None = None
    live: LiveDeliveries | None = None
    # Set by strawberry from a WebSocket's connection_init payload.
    connection_params: dict[str, object] | None = None
    # Tasks that live as long as a WebSocket (cancelled when it closes).
    background: list[asyncio.Task[None]] = field(default_factory=list)
    # How many operations a WebSocket has running (set by its protocol handler).
    open_operations: Callable[[], int] = lambda: 0
    # The tightest rate limit this request met, for the RateLimit-* headers.
    rate_limit: Decision | None = None
    # Added to the response's top-level ``extensions`` (schema/response_extensions.py).
    extensions: dict[str, object] = field(default_factory=dict)
    # The third-party client the request came from (server/edge), if any.
    api_client: ApiClientRecord | None = None
    # Spends the request's cost from its points budget (set by the HTTP edge; a socket's
    # operations spend nothing). Called by schema.cost.PointsBudget.
    spend_points: Callable[[int], Awaitable[Decision]] | None = None
    # The cost schema.cost.CostLimit computed for the operation.
    query_cost: int | None = None
    # What spending it decided: a request spends once, whichever execution path asks.
    points_spent: Decision | None = None
    # Shadow mode (tests): the compiled path's (plan, variables, response), to compare.
    shadow: tuple[Any, Any, dict[str, Any]] | None = None

    def note_search(self, searched: Searched[Any]) -> None:
        """Tell the client when its search was answered by the fallback backend."""
        if searched.fallback_reason is not None:
            self.extensions["search"] = {
                "backend": searched.backend,
                "fallback": True,
                "reason": searched.fallback_reason,
            }

    def note_rate_limit(self, decision: Decision) -> None:
        current = self.rate_limit
        if current is None or (current.allowed, current.remaining) > (
            decision.allowed,
            decision.remaining,
        ):
            self.rate_limit = decision

    @property
    def client_ip(self) -> str:
        """The client's address (a trusted proxy's X-Forwarded-For applied by the app)."""
        client = self.request.client if self.request is not None else None
        return client.host if client is not None else "unknown"

    def require_viewer(self) -> int:
        """The signed-in user's id, or an UNAUTHENTICATED error."""
        if self.viewer_id is None:
            raise DomainError(ErrorCode.UNAUTHENTICATED, "You need to be signed in.")
        return self.viewer_id

    def require_hub(self) -> Hub:
        if self.hub is None:
            raise RuntimeError("subscriptions need the API's pub/sub hub")
        return self.hub

    def require_live(self) -> LiveDeliveries:
        if self.live is None:
            raise RuntimeError("subscriptions need the API's live delivery batcher")
        return self.live

    @property
    def user_agent(self) -> str | None:
        return self.request.headers.get("user-agent") if self.request is not None else None


Info = StrawberryInfo[Context, None]


class SharedDelivery(Protocol):
    """How a subscription operation sends an event rendered once for every socket that selects
    the same fields (server/live.py, for graphql-transport-ws)."""

    def started(self, info: Info) -> None:
        """The operation passed validation and its resolver started: the next sockets with the
        same document may skip the normal execution's start."""
        ...

    async def send(self, info: Info, delivery: Delivery) -> bool:
        """Send ``delivery`` as this operation's next message; False when its selection cannot
        be shared (the resolver then yields it for the normal execution)."""
        ...


# Set in each subscription operation's task by the protocol handler that offers it.
shared_delivery: ContextVar[SharedDelivery | None] = ContextVar("shared_delivery", default=None)


@dataclass(frozen=True, slots=True)
class HandedOver:
    """A home timeline stream started without the normal execution, handed to it at an event
    it could not render alone (or at a failure, raised there): that first, then the rest of
    the same stream (already listening, so nothing is missed)."""

    first: Delivery | Exception
    rest: AsyncGenerator[Delivery, None]


# Set by the protocol handler in the operation's task before it starts the normal execution.
handed_over: ContextVar[HandedOver | None] = ContextVar("handed_over", default=None)
