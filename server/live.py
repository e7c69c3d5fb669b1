"""Live events rendered once for every socket that selects the same fields.

When a tweet lands in 10,000 home timelines at once, each socket's subscription would execute its
document on the tweet and serialize the result: 10,000 executions of the same fields on the same
row. A selection is compiled once per document with the compiled-execution plan, and:

- if it reads nothing per viewer (``execution.plan.reads_per_viewer``), it is executed once per
  event (``Delivery.rendered`` keeps the result for every socket the batch answered) and
  serialized once;
- if what it reads per viewer are values of sources that load many viewers at once
  (``viewerHasLiked``, ``viewerIsFollowing`` ...: ``viewers_load_together``), the sockets the
  event woke are batched: one run notes which per-viewer loads the selection makes, each is read
  for all the batch's viewers in one statement, and the viewers are grouped by those values. Each
  group is rendered once (a new tweet: usually one group).

Each socket then adds only its operation's id. Anything else (viewer-dependent links such as
``replyTo``, a field the compiled path cannot read, a value it would answer with an error) goes
the normal way: the resolver yields the value and strawberry executes the document per socket.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cachetools import LRUCache
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema
from graphql.execution.values import VariableValues
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

from dataloaders import Loaders
from dataloaders.live import Delivery
from execution.fields import Source
from execution.plan import (
    Fallback,
    Selection,
    Unplannable,
    compile_selection,
    reads_per_viewer,
    viewers_load_together,
)
from execution.run import execute_selection
from resolvers.subscriptions import home_deliveries
from schema.context import Context, HandedOver, Info, handed_over
from starling import metrics

log = logging.getLogger(__name__)

# (document, operation name, response key of the subscription field)
SelectionKey = tuple[str, str | None, str]


@dataclass(slots=True)
class _Compiled:
    selection: Selection
    # Reads per-viewer values (viewerHasLiked, viewerIsFollowing ...): sockets are grouped by
    # them and each group answered once; else one answer serves everyone.
    per_viewer: bool


@dataclass(frozen=True, slots=True)
class LiveDocument:
    """A homeTimeline subscription document that has started the normal way (so it is valid),
    has no variables and a shareable selection: the next sockets that send it start without
    the normal execution (``run_home_timeline``)."""

    compiled: _Compiled
    selection_key: SelectionKey


class _ViewerBatch:
    """The sockets asking for one event with one per-viewer selection in the same tick."""

    def __init__(self) -> None:
        self.viewers: dict[int, None] = {}
        self.started = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.payloads: dict[int, str] = {}
        self.task: asyncio.Task[None] | None = None


class SharedRendering:
    """The compiled, shareable selections of this process's subscription documents."""

    def __init__(self, schema: GraphQLSchema, maxsize: int = 512) -> None:
        self.schema = schema
        # None: looked at and not shareable (never looked at again while remembered).
        self._selections: LRUCache[SelectionKey, _Compiled | None] = LRUCache(maxsize)
        # By (document, operation name as the client gave it).
        self._documents: LRUCache[tuple[str, str | None], LiveDocument] = LRUCache(maxsize)

    def started(self, info: Info, query: str, operation_name: str | None) -> None:
        """A homeTimeline operation passed validation and started the normal way: remember its
        document when the next sockets sending it may start directly."""
        key = (query, operation_name)
        if self._documents.get(key) is not None:
            return
        raw = info._raw_info
        selection_key = _selection_key(raw)
        if (
            raw.field_name != "homeTimeline"
            or selection_key is None
            or selection_key[0] != query
            or raw.operation.variable_definitions
            or len(raw.field_nodes) != 1
        ):
            return
        compiled = self._selection(selection_key, raw)
        if compiled is None:
            return
        self._documents[key] = LiveDocument(compiled, selection_key)

    def document(self, query: str, operation_name: str | None) -> LiveDocument | None:
        """The document, when sockets sending it may start directly."""
        return self._documents.get((query, operation_name))

    async def payload(self, info: Info, delivery: Delivery) -> str | None:
        """The ``next`` message's payload for ``delivery`` as JSON text, rendered once for every
        socket with the same selection, variables and per-viewer values; None when it cannot be
        shared."""
        raw = info._raw_info
        key = _selection_key(raw)
        if key is None:
            return None
        compiled = self._selection(key, raw)
        if compiled is None:
            return None
        # Typed as VariableValues; subscription events get the coerced dict.
        given = raw.variable_values
        coerced = given.coerced if isinstance(given, VariableValues) else dict(given)
        return await self.rendered(compiled, key, coerced, info.context, delivery)

    async def rendered(
        self,
        compiled: _Compiled,
        key: SelectionKey,
        coerced: dict[str, Any],
        context: Context,
        delivery: Delivery,
    ) -> str | None:
        """``payload`` of a compiled selection with its coerced variables."""
        try:
            variables_key = orjson.dumps(coerced, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        memo = (key, variables_key)
        # The coerced values are all the plan reads (conditions, arguments).
        variables = VariableValues({}, coerced)
        if compiled.per_viewer:
            return await self._grouped(context, delivery, compiled, key[2], variables, memo)
        rendering = delivery.rendered.get(memo)
        if rendering is None:
            rendering = asyncio.ensure_future(
                _render(compiled.selection, key[2], context, variables, delivery)
            )
            delivery.rendered[memo] = rendering
        # Shielded: one socket closing must not cancel what the others wait for.
        payload: str | None = await asyncio.shield(rendering)
        return payload

    async def _grouped(
        self,
        context: Context,
        delivery: Delivery,
        compiled: _Compiled,
        response_key: str,
        variables: VariableValues,
        memo: Any,
    ) -> str | None:
        viewer_id = context.viewer_id
        if viewer_id is None:
            return None
        batch = delivery.rendered.get(memo)
        if batch is None or batch.started:
            # Every socket the event woke asks in the ticks before the batch starts.
            batch = delivery.rendered[memo] = _ViewerBatch()
            render = functools.partial(
                _render_groups,
                batch,
                compiled.selection,
                response_key,
                context,
                variables,
                delivery,
            )
            asyncio.get_running_loop().call_soon(_start, batch, render)
        batch.viewers[viewer_id] = None
        await asyncio.shield(batch.done)
        return batch.payloads.get(viewer_id)

    def _selection(self, key: SelectionKey, raw: Any) -> _Compiled | None:
        if key in self._selections:
            return self._selections[key]
        parent = raw.return_type
        if isinstance(parent, GraphQLNonNull):
            parent = parent.of_type
        found: _Compiled | None = None
        if isinstance(parent, GraphQLObjectType):
            try:
                selection = compile_selection(self.schema, raw.fragments, parent, raw.field_nodes)
            except Unplannable:
                selection = None
            if selection is not None and not reads_per_viewer(selection):
                found = _Compiled(selection, per_viewer=False)
            elif selection is not None and viewers_load_together(selection):
                found = _Compiled(selection, per_viewer=True)
        self._selections[key] = found
        return found


def _selection_key(raw: Any) -> SelectionKey | None:
    operation = raw.operation
    if operation.loc is None:
        return None
    name = operation.name.value if operation.name else None
    return (operation.loc.source.body, name, str(raw.path.key))


async def _render(
    selection: Selection,
    response_key: str,
    asker: Context,
    variables: VariableValues,
    delivery: Delivery,
) -> str | None:
    # Nobody's context: the selection reads nothing per viewer, so it is everyone's answer.
    context = Context(core=asker.core, loaders=Loaders(asker.core, None))
    try:
        [data] = await execute_selection(selection, [delivery.tweet], context, variables)
        return orjson.dumps({"data": {response_key: data}}).decode()
    except (Fallback, TypeError):  # TypeError: text orjson will not write
        return None


def _start(batch: _ViewerBatch, render: Callable[[], Awaitable[None]]) -> None:
    batch.started = True
    batch.task = asyncio.ensure_future(render())


async def _render_groups(
    batch: _ViewerBatch,
    selection: Selection,
    response_key: str,
    asker: Context,
    variables: VariableValues,
    delivery: Delivery,
) -> None:
    """Read every per-viewer value the selection needs for all the batch's viewers at once
    (one statement a source), group the viewers by those values, render each group once."""
    core = asker.core
    viewers = list(batch.viewers)
    try:
        # A first run finds which per-viewer loads the selection makes, for which objects.
        nobody = Context(core=core, loaders=Loaders(core, None))
        probe = _Probe()
        await execute_selection(selection, [delivery.tweet], nobody, variables, probe)
        loaded = await asyncio.gather(
            *(_for_viewers(source, nobody, viewers, parents) for source, parents in probe.calls)
        )
        groups: dict[tuple[Any, ...], list[int]] = {}
        for viewer in viewers:
            values = tuple(tuple(per_viewer[viewer]) for per_viewer in loaded)
            groups.setdefault(values, []).append(viewer)
        for values, members in groups.items():
            member = members[0]
            context = Context(core=core, loaders=Loaders(core, member), viewer_id=member)
            replay = _Replay(probe.calls, values)
            [data] = await execute_selection(
                selection, [delivery.tweet], context, variables, replay
            )
            text = orjson.dumps({"data": {response_key: data}}).decode()
            for viewer in members:
                batch.payloads[viewer] = text
    except (Fallback, TypeError):  # the sockets without a payload execute their own
        pass
    except Exception:
        log.warning("grouped live rendering failed", exc_info=True)
    finally:
        batch.done.set_result(None)


def _for_viewers(
    source: Source, context: Context, viewers: list[int], parents: Sequence[Any]
) -> Awaitable[Mapping[int, Sequence[Any]]]:
    load = source.load_for_viewers
    assert load is not None  # the probe refuses any other source
    return load(context, viewers, parents)


class _Probe:
    """Notes each per-viewer load a run makes (answered as for nobody)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Source, Sequence[Any]]] = []

    def load(
        self, source: Any, context: Context, parents: Sequence[Any]
    ) -> Awaitable[Sequence[Any]]:
        if source.load_for_viewers is None:
            raise Fallback(f"{source.name} cannot load for many viewers")
        self.calls.append((source, list(parents)))
        return source.load(context, parents)  # type: ignore[no-any-return]


class _Replay:
    """Answers a run's per-viewer loads, in the probe's order, with one group's values."""

    def __init__(self, calls: list[tuple[Source, Sequence[Any]]], values: tuple[Any, ...]) -> None:
        self.calls = calls
        self.values = values
        self.next = 0

    def load(
        self, source: Any, context: Context, parents: Sequence[Any]
    ) -> Awaitable[Sequence[Any]]:
        index = self.next
        self.next += 1
        if (
            index >= len(self.calls)
            or self.calls[index][0] is not source
            or len(self.calls[index][1]) != len(parents)
        ):
            raise Fallback("the run made other per-viewer loads than the probe")
        return _ready(self.values[index])


async def _ready(values: Sequence[Any]) -> Sequence[Any]:
    return values


class OperationDelivery:
    """``schema.context.SharedDelivery`` for one graphql-transport-ws operation."""

    def __init__(
        self,
        rendering: SharedRendering,
        operation: Operation[Context, None],
        send_text: Any,
        shadow: dict[str, str] | None,
    ) -> None:
        self.rendering = rendering
        self.operation = operation
        self.send_text = send_text
        self.prefix = '{"id":' + orjson.dumps(operation.id).decode() + ',"type":"next","payload":'
        # Shadow mode (tests): the payload is noted for the handler to compare with what the
        # normal execution sends, and the normal execution runs.
        self.shadow = shadow

    def started(self, info: Info) -> None:
        if self.shadow is None:  # shadow mode compares every event with the normal execution
            operation = self.operation
            self.rendering.started(info, operation.query, operation.operation_name)

    async def send(self, info: Info, delivery: Delivery) -> bool:
        payload = await self.rendering.payload(info, delivery)
        if payload is None:
            return False
        if self.shadow is not None:
            self.shadow[self.operation.id] = payload
            return False
        await self.send_payload(payload)
        return True

    async def send_payload(self, payload: str) -> None:
        if not self.operation.completed:
            await self.send_text(self.prefix + payload + "}")
            metrics.LIVE_SHARED.inc()


async def run_home_timeline(
    document: LiveDocument,
    context: Context,
    sender: OperationDelivery,
    run_normally: Callable[[], Awaitable[None]],
) -> None:
    """A homeTimeline operation whose document is known (``SharedRendering.document``), started
    without graphql-core: its start (extensions, validation lookups, the subscribe machinery)
    was most of what opening a socket cost. Each event is rendered shared; one that cannot be
    (or a failure) is handed to the normal execution with the rest of the stream, which then
    answers it exactly as it would have from the start."""
    started = time.perf_counter()
    rendering, operation = sender.rendering, sender.operation
    deliveries = home_deliveries(context)
    try:
        while True:
            try:
                delivery = await anext(deliveries)
            except StopAsyncIteration:  # the token was revoked
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
                name = metrics.operation_label(document.selection_key[1])
                metrics.observe_operation(name, "subscription", failed=False, started=started)
                return
            except Exception as error:  # the normal execution reports it as it would its own
                handed_over.set(HandedOver(error, deliveries))
                break
            payload = await rendering.rendered(
                document.compiled, document.selection_key, {}, context, delivery
            )
            if payload is None:
                handed_over.set(HandedOver(delivery, deliveries))
                break
            await sender.send_payload(payload)
        await run_normally()
    finally:
        await deliveries.aclose()
