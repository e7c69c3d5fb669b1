"""Live events rendered once for every socket that selects the same fields.

When a tweet lands in 10,000 home timelines at once, each socket's subscription would execute its
document on the tweet and serialize the result: 10,000 executions of the same fields on the same
row. A selection that reads nothing per viewer (``execution.plan.reads_per_viewer``) is compiled
once per document, executed once per event (``Delivery.rendered`` keeps the result for every
socket the batch answered) and serialized once; each socket adds only its operation's id.

Anything else (a selection with viewer state, a field the compiled path cannot read, a value it
would answer with an error) goes the normal way: the resolver yields the value and strawberry
executes the document for that socket.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import orjson
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema
from graphql.execution.values import VariableValues
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

from dataloaders import Loaders
from dataloaders.live import Delivery
from execution.plan import Fallback, Selection, Unplannable, compile_selection, reads_per_viewer
from execution.run import execute_selection
from schema.context import Context, Info
from starling import metrics

# (document, operation name, response key of the subscription field)
SelectionKey = tuple[str, str | None, str]


class SharedRendering:
    """The compiled, shareable selections of this process's subscription documents."""

    def __init__(self, schema: GraphQLSchema, maxsize: int = 512) -> None:
        self.schema = schema
        self.maxsize = maxsize
        # None: looked at and not shareable (never looked at again while remembered).
        self._selections: OrderedDict[SelectionKey, Selection | None] = OrderedDict()

    async def payload(self, info: Info, delivery: Delivery) -> str | None:
        """The ``next`` message's payload for ``delivery`` as JSON text, rendered once for every
        socket with the same selection and variables; None when it cannot be shared."""
        raw = info._raw_info
        key = _selection_key(raw)
        if key is None:
            return None
        selection = self._selection(key, raw)
        if selection is None:
            return None
        # Typed as VariableValues; subscription events get the coerced dict.
        given = raw.variable_values
        coerced = given.coerced if isinstance(given, VariableValues) else dict(given)
        try:
            variables_key = orjson.dumps(coerced, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        memo = (key, variables_key)
        rendering = delivery.rendered.get(memo)
        if rendering is None:
            # The coerced values are all the plan reads (conditions, arguments).
            variables = VariableValues({}, coerced)
            rendering = asyncio.ensure_future(
                _render(selection, key[2], info.context, variables, delivery)
            )
            delivery.rendered[memo] = rendering
        # Shielded: one socket closing must not cancel what the others wait for.
        payload: str | None = await asyncio.shield(rendering)
        return payload

    def _selection(self, key: SelectionKey, raw: Any) -> Selection | None:
        if key in self._selections:
            self._selections.move_to_end(key)
            return self._selections[key]
        parent = raw.return_type
        if isinstance(parent, GraphQLNonNull):
            parent = parent.of_type
        selection: Selection | None = None
        if isinstance(parent, GraphQLObjectType):
            try:
                compiled = compile_selection(self.schema, raw.fragments, parent, raw.field_nodes)
            except Unplannable:
                compiled = None
            if compiled is not None and not reads_per_viewer(compiled):
                selection = compiled
        self._selections[key] = selection
        if len(self._selections) > self.maxsize:
            self._selections.popitem(last=False)
        return selection


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

    async def send(self, info: Info, delivery: Delivery) -> bool:
        payload = await self.rendering.payload(info, delivery)
        if payload is None:
            return False
        if self.shadow is not None:
            self.shadow[self.operation.id] = payload
            return False
        if not self.operation.completed:
            await self.send_text(self.prefix + payload + "}")
            metrics.LIVE_SHARED.inc()
        return True
