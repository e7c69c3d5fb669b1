"""The /graphql endpoint: HTTP (POST, GET) and WebSocket on one path, with a typed context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from dataloaders import Loaders
from schema.context import Context
from server.auth import authorization_param, bearer_token
from starling.core import Core
from starling.services import accounts
from starling.storage import sessions


class StarlingGraphQL(GraphQL[Context, None]):
    def __init__(self, schema, **options) -> None:  # type: ignore[no-untyped-def]
        super().__init__(
            schema,
            keep_alive=True,
            keep_alive_interval=15,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            **options,
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        core: Core = request.app.state.core
        token: str | None = None
        viewer_id: int | None = None
        if isinstance(request, Request):
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                viewer_id = await sessions.user_id_for(core, token)
            if viewer_id is not None:
                await accounts.touch_activity(core, viewer_id)
        return Context(
            core=core,
            loaders=Loaders(core, viewer_id),
            request=request,
            token=token,
            viewer_id=viewer_id,
            hub=request.app.state.hub,
            live=request.app.state.live,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a socket from its connection_init payload; a bad token closes it (4403)."""
        raw = authorization_param(context.connection_params)
        if raw is None:
            return None
        token = bearer_token(raw)
        viewer_id = await sessions.user_id_for(context.core, token) if token else None
        if viewer_id is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.token, context.viewer_id = token, viewer_id
        context.loaders = Loaders(context.core, viewer_id)
        return None
