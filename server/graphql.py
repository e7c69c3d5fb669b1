"""The /graphql endpoint: HTTP (POST, GET) and WebSocket on one path, with a typed context."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import math
import time
from collections.abc import Mapping
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from graphql.execution.values import VariableValues
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from dataloaders import Loaders
from dataloaders.sessions import SocketSessions
from execution.cache import CompiledDocuments
from execution.plan import Fallback, Plan
from execution.run import Executed, coerce_variables, execute
from schema.context import Context, shared_delivery
from schema.input_text import has_unstorable
from server.auth import authorization_param, bearer_token
from server.edge import graphiql
from server.edge.budget import note_spent, sign_in_spending, spend_points
from server.edge.clients import client_of
from server.edge.documents import document_of
from server.live import OperationDelivery, SharedRendering, run_home_timeline
from server.request_body import RequestRejected, decode_json, graphql_params, read_body
from starling import metrics
from starling.config import Settings
from starling.core import Core
from starling.errors import ErrorCode
from starling.queries.documents import ApiClientRecord
from starling.services import accounts
from starling.storage import keys, sessions
from starling.storage.rate_limits import Decision

FORBIDDEN = 4403
GRAPHQL_RESPONSE = "application/graphql-response+json"
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
REVOKED_GRACE_STEPS = 100  # of 10 ms
# Bounds the look at a document's operation types; longer documents fail validation anyway.
MAX_TOKENS_SCANNED = 10_000


@dataclasses.dataclass
class EdgeRequestData(GraphQLRequestData):
    """The request's parameters, with a persisted document's id (GraphQL over HTTP)."""

    document_id: str | None = None


async def _session_still_valid(context: Context) -> bool:
    """A socket's token is checked again before each operation: logout closes the socket, and
    this covers an operation that races the close."""
    if context.token is None:
        return True
    return await _socket_sessions(context).user_id_for(context.token) == context.viewer_id


def _socket_sessions(context: Context) -> SocketSessions:
    assert context.request is not None
    found: SocketSessions = context.request.app.state.socket_sessions
    return found


class TextFrameAdapter(ASGIWebSocketAdapter):
    """Messages as text frames: both protocols define their messages as JSON text, and
    graphql-ws (what Apollo, urql and Relay use) drops a binary frame as malformed."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        await self.send_text(_json_bytes(message).decode())

    async def send_text(self, text: str) -> None:
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as disconnect:
            raise WebSocketDisconnected from disconnect


# Bound once: every socket's operation counts one, and labels() is a locked lookup each time.
_NORMAL_STARTS = metrics.LIVE_STARTS.labels("normal")
_DIRECT_STARTS = metrics.LIVE_STARTS.labels("direct")


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    view: StarlingGraphQL
    websocket: TextFrameAdapter

    async def handle(self) -> None:
        self.context.open_operations = lambda: len(self.operations)
        self.shadow_payloads: dict[str, str] | None = (
            {} if self.view.settings.compiled_execution_shadow else None
        )
        await super().handle()

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        rendering = self.view.live_rendering
        sender = OperationDelivery(
            rendering, operation, self.websocket.send_text, self.shadow_payloads
        )
        shared_delivery.set(sender)
        document = (
            rendering.document(operation.query, operation.operation_name)
            if self.shadow_payloads is None
            and self.context.viewer_id is not None
            and isinstance(operation.variables, dict | None)
            else None
        )
        normally = functools.partial(super().run_operation, operation)
        if document is None:
            _NORMAL_STARTS.inc()
            await normally()
        else:
            _DIRECT_STARTS.inc()
            await run_home_timeline(document, self.context, sender, normally)

    async def send_message(self, message: Message) -> None:
        if self.shadow_payloads is not None and message["type"] == "next":
            shared = self.shadow_payloads.pop(message["id"], None)
            if shared is not None and _json_bytes(message["payload"]).decode() != shared:
                raise CompiledExecutionMismatch("a shared live message", shared, message)
        await super().send_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        # Cancelled once connection_init arrives; kept, it would hold its CancelledError and
        # that error's traceback frames for the socket's life: a tenth of an idle socket's
        # objects, which the collector scans again and again during a reconnect storm.
        self.connection_init_timeout_task = None

    async def handle_subscribe(self, message: Any) -> None:
        if self.connection_acknowledged and not await _session_still_valid(self.context):
            await self.websocket.close(code=FORBIDDEN, reason="Forbidden")
            return
        await super().handle_subscribe(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    async def handle(self) -> None:
        self.context.open_operations = lambda: len(self.tasks)
        await super().handle()

    async def handle_start(self, message: Any) -> None:
        if not await _session_still_valid(self.context):
            await self.websocket.close(code=FORBIDDEN, reason="Forbidden")
            return
        await super().handle_start(message)


class StarlingGraphQL(GraphQL[Context, None]):
    """Queries and mutations over HTTP (bodies checked by ``server.request_body``, queries cut
    off after ``request_timeout_seconds``); everything over WebSocket, subscriptions only there."""

    graphql_transport_ws_handler_class = TransportWSHandler
    websocket_adapter_class = TextFrameAdapter
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            keep_alive=True,
            multipart_uploads_enabled=True,
            keep_alive_interval=15,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.settings = settings
        self.compiled = CompiledDocuments(schema._schema, settings.compile_documents_after)
        self.live_rendering = SharedRendering(schema._schema)

    def encode_json(self, data: object) -> bytes:
        return _json_bytes(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope, receive)
        try:
            if request.method == "POST":
                multipart = request.headers.get("content-type", "").startswith("multipart/")
                # An upload may carry one image and a little JSON beside it.
                limit = (
                    self.settings.media_max_image_bytes + self.settings.max_body_bytes
                    if multipart
                    else self.settings.max_body_bytes
                )
                await read_body(request, limit)
            context: Any = UNSET
            if request.method == "POST" and not multipart and self.compiled.enabled:
                compiled, known = await self.compiled_response(request)
                if known is not None:
                    context = known
            else:
                compiled = None
            response = compiled if compiled is not None else await self.run(request, context)
        except RequestRejected as rejected:
            response = JSONResponse(rejected.body(), status_code=rejected.status)
        except HTTPException as e:
            refused = RequestRejected(e.status_code, e.reason)
            response = JSONResponse(refused.body(), status_code=refused.status)
        if GRAPHQL_RESPONSE in request.headers.get("accept", ""):
            response = _as_graphql_response(response)
        await response(scope, receive, send)
        return None

    async def compiled_response(self, request: Request) -> tuple[Response | None, Context | None]:
        """The response from the document's compiled plan, when it has one and can answer this
        request exactly as the normal path would; else None (and the context made, which the
        normal path then reuses: the request authenticates and spends its points once)."""
        content_type, _ = parse_content_type(request.headers.get("content-type", ""))
        if content_type != "application/json" and not content_type.endswith("+json"):
            return None, None
        try:
            params = orjson.loads(request._body)
        except orjson.JSONDecodeError:
            return None, None
        if not isinstance(params, dict) or _nests_deeper(params, self.settings.max_json_depth):
            return None, None
        core: Core = request.app.state.core
        try:
            graphql_params(params)
            api_client = await client_of(request, core)
        except RequestRejected:
            return None, None
        try:
            query = await document_of(core, params, api_client)
        except RequestRejected:
            query = None
        plan = None if query is None else self._plan_of(query, params.get("operationName"))
        ready = None if plan is None else self._ready(plan, params.get("variables") or {})
        token = bearer_token(request.headers.get("authorization"))
        context: Context | None = None
        if ready is not None and token is not None and api_client is None:
            # The common case (a first-party reader): sign-in and points in one round trip.
            signed_in = await sign_in_spending(core, token, ready.cost)
            if signed_in is not None:
                context = self._context(request, core, token, signed_in[0], api_client)
                note_spent(context, ready.cost, signed_in[1])
        if context is None:
            context = await self.get_context(request, Response())
        if plan is None:
            return None, context
        response = None if ready is None else await self._run_plan(plan, context, ready)
        if response is not None:
            metrics.COMPILED.labels("served").inc()
        elif context.shadow is None:
            metrics.COMPILED.labels("fell_back").inc()
        return response, context

    def _plan_of(self, query: str, operation_name: str | None) -> Plan | None:
        plan = self.compiled.plan_for(query, operation_name)
        if plan is None and self.settings.compiled_execution_shadow:
            self.compiled.ran_cleanly(query, operation_name, persisted=True)
            plan = self.compiled.plan_for(query, operation_name)
        return plan

    def _ready(self, plan: Plan, raw_variables: dict[str, Any]) -> _Ready | None:
        """The request's variables coerced and its cost, when the plan may answer it."""
        schema = self.compiled.schema
        try:
            variables = coerce_variables(schema, plan, raw_variables)
        except Fallback:
            return None
        if has_unstorable(raw_variables):
            return None
        cost = plan.cost(schema, raw_variables)
        if cost > self.settings.max_query_cost:
            return None
        return _Ready(variables, cost)

    async def _run_plan(self, plan: Plan, context: Context, ready: _Ready) -> Response | None:
        started = time.perf_counter()
        variables = ready.variables
        context.query_cost = ready.cost
        if (
            context.spend_points is not None
            and not (await context.spend_points(ready.cost)).allowed
        ):
            return None
        try:
            async with asyncio.timeout(self.settings.request_timeout_seconds):
                body = _response_body(await execute(plan, context, variables), context)
        except Fallback:
            return None
        except TimeoutError:
            raise RequestRejected(
                503,
                f"The request took longer than {self.settings.request_timeout_seconds} s.",
                ErrorCode.TIMEOUT,
            ) from None
        if self.settings.compiled_execution_shadow:
            context.shadow = (plan, variables, body)
            return None  # the normal path runs too, and execute_single compares
        name = metrics.operation_label(plan.operation.name.value if plan.operation.name else None)
        metrics.observe_operation(name, "query", failed=False, started=started)
        headers = rate_limit_headers(context.rate_limit) if context.rate_limit is not None else {}
        return Response(orjson.dumps(body), headers=headers, media_type="application/json")

    async def _compare_with_plan(self, context: Context, result: ExecutionResult) -> None:
        """Shadow mode (tests): the compiled answer must equal graphql-core's, keys in order."""
        assert context.shadow is not None
        plan, variables, compiled = context.shadow
        context.shadow = None
        if result.errors:
            # Errors at a path are something the plan should have fallen back on; errors
            # without one (validation) never meet a plan outside shadow mode.
            if any(error.path for error in result.errors):
                raise CompiledExecutionMismatch(plan, compiled, result.errors)
            return
        normal: dict[str, Any] = {"data": result.data}
        if result.extensions:
            normal["extensions"] = result.extensions
        if orjson.dumps(normal) == orjson.dumps(compiled):
            metrics.COMPILED.labels("shadow_matched").inc()
            return
        # A write may have landed between the two reads: the plan reads once more.
        try:
            again = _response_body(await execute(plan, context, variables), context)
        except Fallback:
            again = None
        if again is None or orjson.dumps(normal) != orjson.dumps(again):
            raise CompiledExecutionMismatch(plan, compiled, normal)
        metrics.COMPILED.labels("shadow_matched").inc()

    def should_render_graphql_ide(self, request: Any) -> bool:
        """The IDE for a browser's plain GET of /graphql; a GET that carries any GraphQL
        parameter (a persisted query's hash, a documentId) is a request to run."""
        params = request.query_params
        return (
            request.method == "GET"
            and not any(params.get(name) for name in ("query", "extensions", "documentId"))
            and "text/html" in request.headers.get("accept", "")
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page()

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data, self.settings.max_json_depth)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "GET":
            data: object = self.parse_query_params(request.query_params)
        elif content_type == "application/json" or content_type.endswith("+json"):
            data = self.decode_json(await request.get_body())
        elif content_type == "multipart/form-data":
            # A browser may send a multipart form to any site without asking (no CORS
            # preflight): demanding a header only scripts can set stops cross-site uploads.
            if not any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
                raise RequestRejected(
                    400,
                    "A multipart request needs the Apollo-Require-Preflight header "
                    "(cross-site request forgery protection).",
                )
            data = await self.parse_multipart(request)
        else:
            raise RequestRejected(415, "Send the request as application/json.")
        params = graphql_params(data)
        return EdgeRequestData(
            query=params.get("query"),
            variables=params.get("variables"),
            operation_name=params.get("operationName"),
            extensions=params.get("extensions"),
            document_id=params.get("documentId"),
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        request_data.query = await document_of(
            context.core,
            {
                "query": request_data.query,
                "documentId": getattr(request_data, "document_id", None),
                "extensions": request_data.extensions,
            },
            context.api_client,
        )
        # Queries over GET and POST, mutations over POST; subscriptions only over WebSocket.
        allowed = {OperationType.QUERY}
        if request_adapter.method == "POST":
            allowed.add(OperationType.MUTATION)
        execution = self.schema.execute(
            request_data.query,
            root_value=root_value,
            variable_values=request_data.variables,
            context_value=context,
            operation_name=request_data.operation_name,
            allowed_operation_types=allowed,
            operation_extensions=request_data.extensions,
        )
        try:
            if _is_mutation(request_data):
                # Never cut off: a write the database accepted is never reported as failed.
                result = await execution
            else:
                async with asyncio.timeout(self.settings.request_timeout_seconds):
                    result = await execution
        except TimeoutError:
            raise RequestRejected(
                503,
                f"The request took longer than {self.settings.request_timeout_seconds} s.",
                ErrorCode.TIMEOUT,
            ) from None
        except CannotGetOperationTypeError as e:
            raise RequestRejected(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            if e.operation_type is OperationType.SUBSCRIPTION:
                raise RequestRejected(
                    400, "Subscriptions are served over WebSocket at /graphql."
                ) from e
            raise RequestRejected(405, e.as_http_error_reason(request_adapter.method)) from e
        except MissingQueryError as e:
            raise RequestRejected(400, "No GraphQL query found in the request.") from e
        if context.shadow is not None:
            await self._compare_with_plan(context, result)
        if not result.errors and not _is_mutation(request_data) and request_data.query:
            persisted = getattr(request_data, "document_id", None) is not None or bool(
                (request_data.extensions or {}).get("persistedQuery")
            )
            self.compiled.ran_cleanly(request_data.query, request_data.operation_name, persisted)
        if context.rate_limit is not None:
            sub_response.headers.update(rate_limit_headers(context.rate_limit))
        return result

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        core: Core = request.app.state.core
        token: str | None = None
        viewer_id: int | None = None
        api_client = None
        if isinstance(request, Request):
            api_client = await client_of(request, core)
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                viewer_id = await accounts.signed_in_viewer(core, token)
        return self._context(request, core, token, viewer_id, api_client)

    def _context(
        self,
        request: Request | WebSocket,
        core: Core,
        token: str | None,
        viewer_id: int | None,
        api_client: ApiClientRecord | None,
    ) -> Context:
        context = Context(
            core=core,
            loaders=Loaders(core, viewer_id),
            request=request,
            token=token,
            viewer_id=viewer_id,
            hub=request.app.state.hub,
            live=request.app.state.live,
            api_client=api_client,
        )
        if isinstance(request, Request):
            context.spend_points = functools.partial(spend_points, context)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a socket from its connection_init payload; a bad token closes it (4403)."""
        raw = authorization_param(context.connection_params)
        if raw is None:
            return None
        token = bearer_token(raw)
        viewer_id = await _socket_sessions(context).user_id_for(token) if token else None
        if token is None or viewer_id is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.token, context.viewer_id = token, viewer_id
        context.loaders = Loaders(context.core, viewer_id)
        context.background.append(asyncio.create_task(_close_when_revoked(context, token)))
        return None

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Any:
        if not isinstance(request, WebSocket):
            return await super().run(request, context, root_value)
        # The context is made here, not by strawberry, so its watchers end with the socket.
        context = await self.get_context(request, request)
        try:
            return await super().run(request, context, root_value)
        finally:
            for task in context.background:
                task.cancel()


def _json_bytes(data: object) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # text orjson will not write (an unpaired surrogate in a message)
        return json.dumps(data, separators=(",", ":")).encode()


@dataclasses.dataclass(frozen=True, slots=True)
class _Ready:
    """A request a plan may answer: its variables coerced, and its cost."""

    variables: VariableValues
    cost: int


class CompiledExecutionMismatch(AssertionError):
    """Shadow mode found a request the compiled path answers differently from graphql-core."""


def _response_body(executed: Executed, context: Context) -> dict[str, Any]:
    """The data with the extensions the normal path adds (schema.response_extensions, then
    PointsBudget's cost with the objects returned), in the same order."""
    body: dict[str, Any] = {"data": executed.data}
    extensions = {k: v for k, v in context.extensions.items() if k != "cost"}
    reported = context.extensions.get("cost")
    if isinstance(reported, dict):
        extensions["cost"] = {**reported, "actual": executed.objects}
    if extensions:
        body["extensions"] = extensions
    return body


def _nests_deeper(value: object, limit: int) -> bool:
    """Whether a parsed JSON value nests objects and arrays deeper than ``limit`` (iterative:
    the value may be as deep as the parser allows)."""
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth + 1 > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


def _as_graphql_response(response: Response) -> Response:
    """GraphQL over HTTP's own media type, for clients that ask for it: a request that never
    ran (it did not parse, validate or coerce, or was refused) has no ``data`` entry and a 4xx
    status (429 when rate limited), so the status alone tells a client what happened."""
    if response.media_type != "application/json" or not isinstance(response.body, bytes):
        return response
    status = response.status_code
    body = orjson.loads(response.body)
    if isinstance(body, dict) and body.get("errors") and body.get("data") is None:
        body.pop("data", None)
        if status == 200:
            codes = {e.get("extensions", {}).get("code") for e in body["errors"]}
            status = 429 if ErrorCode.RATE_LIMITED.value in codes else 400
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=headers,
        media_type=GRAPHQL_RESPONSE,
    )


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers), and
    Retry-After when the limit was hit."""
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(math.ceil(decision.reset_after)),
        "RateLimit-Policy": f"{decision.limit};w={decision.window}",
    }
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after_seconds)
    return headers


def _is_mutation(request_data: GraphQLRequestData) -> bool:
    """Whether the operation to run is a mutation (a cheap look, cached per document)."""
    return (
        request_data.query is not None
        and _operation_types(request_data.query).get(request_data.operation_name)
        is OperationType.MUTATION
    )


@functools.lru_cache(maxsize=512)
def _operation_types(query: str) -> dict[str | None, OperationType]:
    try:
        document = parse(query, max_tokens=MAX_TOKENS_SCANNED)
    except GraphQLError:
        return {}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    kinds: dict[str | None, OperationType] = {
        op.name.value: OperationType(op.operation.value) for op in operations if op.name
    }
    if len(operations) == 1:
        kinds[None] = OperationType(operations[0].operation.value)
    return kinds


async def _close_when_revoked(context: Context, token: str) -> None:
    """Logging out (anywhere) closes every socket opened with that token: 4403."""
    hub = context.require_hub()
    async with hub.listen([keys.revoked_channel(sessions.hash_token(token).hex())]) as queue:
        await queue.get()
    # Open subscriptions hear the same message and complete; let them say so before the close.
    for _ in range(REVOKED_GRACE_STEPS):
        if not context.open_operations():
            break
        await asyncio.sleep(0.01)
    assert isinstance(context.request, WebSocket)
    with contextlib.suppress(RuntimeError):
        await context.request.close(code=FORBIDDEN, reason="Forbidden")
