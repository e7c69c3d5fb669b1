"""The cost of a request, computed before it runs (GitHub's rule): every connection costs its
``first`` (20 when not given), multiplied by the ``first`` of each connection it is nested in;
``nodes(ids:)`` costs the number of ids and multiplies what it contains. A request costing more
than ``max_query_cost`` is refused whole with QUERY_TOO_COMPLEX, its cost and the maximum.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from schema.by_document import ByDocument
from starling.errors import ErrorCode
from starling.queries.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

# Arguments that say how many objects a field returns.
_PAGE_ARGUMENT = "first"
_LIST_ARGUMENTS = {"ids"}


class QueryCost:
    """Walks one operation's selections (fragments expanded) with its variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        defaults: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults

    def of(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        return self._selections(root, operation.selection_set, 1) if root else 0

    def _selections(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None, multiplier: int
    ) -> int:
        return sum(
            self._field(owner, field, multiplier)
            for owner, field in self._fields(parent, selection_set, set())
        )

    def _fields(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None, seen: set[str]
    ) -> Iterator[tuple[GraphQLNamedType, FieldNode]]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield parent, selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(
                    self._condition(selection.type_condition, parent),
                    selection.selection_set,
                    seen,
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                yield from self._fields(
                    self._condition(fragment.type_condition, parent),
                    fragment.selection_set,
                    seen | {name},
                )

    def _condition(self, condition: Any, parent: GraphQLNamedType) -> GraphQLNamedType:
        if condition is None:
            return parent
        return self.schema.get_type(condition.name.value) or parent

    def _field(self, parent: GraphQLNamedType, field: FieldNode, multiplier: int) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(field.name.value)
        if definition is None:
            return 0
        arguments = {argument.name.value: argument.value for argument in field.arguments or ()}
        size = self._size(field.name.value, definition.args, arguments)
        cost = multiplier * size if size is not None else 0
        inner = multiplier * (size or 1)
        return cost + self._selections(get_named_type(definition.type), field.selection_set, inner)

    def _size(
        self, name: str, declared: Mapping[str, Any], given: Mapping[str, ValueNode]
    ) -> int | None:
        """How many objects the field may return, or None when it is not a list we count."""
        if _PAGE_ARGUMENT in declared:
            first = self._int(given.get(_PAGE_ARGUMENT))
            # Out of range, the resolver refuses it with a precise message; cost it as the cap.
            return DEFAULT_PAGE_SIZE if first is None else max(0, min(first, MAX_PAGE_SIZE))
        for argument in _LIST_ARGUMENTS & set(declared):
            return min(self._length(given.get(argument)), MAX_PAGE_SIZE)
        return None

    def _value(self, node: ValueNode | None) -> Any:
        if isinstance(node, VariableNode):
            name = node.name.value
            return self.variables.get(name, self.defaults.get(name))
        return node

    def _int(self, node: ValueNode | None) -> int | None:
        value = self._value(node)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return None

    def _length(self, node: ValueNode | None) -> int:
        value = self._value(node)
        if isinstance(value, ListValueNode):
            return len(value.values)
        if isinstance(value, list):
            return len(value)
        return 1


class CostLimit(SchemaExtension):
    """Refuses a request whose cost is over the maximum, before anything runs. Reports it as a
    validation error (see ``schema/input_text.py`` for why extensions must not raise)."""

    def __init__(self, *, max_cost: int) -> None:
        super().__init__()
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context.pre_execution_errors:
            remembered = _remembered_cost(document, context.operation_name)
            if remembered is not None:
                cost = remembered.of(context.schema._schema, context.variables or {})
                context.context.query_cost = cost
                if cost > self.max_cost:
                    context.pre_execution_errors = [
                        GraphQLError(
                            f"This request costs {cost}; the maximum is {self.max_cost}. Ask "
                            "for smaller pages or fewer nested connections.",
                            extensions={
                                "code": ErrorCode.QUERY_TOO_COMPLEX.value,
                                "cost": cost,
                                "maxCost": self.max_cost,
                            },
                        )
                    ]
        yield


_COSTS: ByDocument[RememberedCost | None] = ByDocument()


def _remembered_cost(document: DocumentNode, operation_name: str | None) -> RememberedCost | None:
    def remember() -> RememberedCost | None:
        operation = _operation(document.definitions, operation_name)
        if operation is None:
            return None
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        return RememberedCost(fragments, operation)

    return _COSTS.get(document, operation_name, remember)


class PointsBudget(SchemaExtension):
    """Spends the operation's cost from the request's points budget (``context.spend_points``,
    set by the HTTP edge), after CostLimit priced it; an empty budget refuses the request with
    RATE_LIMITED before anything runs. Reports the cost, and the objects actually returned, in
    ``extensions.cost``."""

    async def on_execute(self) -> AsyncIterator[None]:
        # Runs once validation passed; a refusal stands in for the result, so nothing runs.
        context = self.execution_context
        spend = getattr(context.context, "spend_points", None)
        cost = getattr(context.context, "query_cost", None)
        if spend is not None and cost is not None:
            decision = await spend(cost)
            if not decision.allowed:
                context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            "The points budget is spent; retry in "
                            f"{decision.retry_after_seconds} s.",
                            extensions={
                                "code": ErrorCode.RATE_LIMITED.value,
                                "retryAfter": decision.retry_after_seconds,
                            },
                        )
                    ],
                )
        yield

    def get_results(self) -> dict[str, Any]:
        reported = getattr(self.execution_context.context, "extensions", {}).get("cost")
        if reported is None:
            return {}
        result = self.execution_context.result
        data = result.data if result is not None else None
        return {"cost": {**reported, "actual": objects_in(data)}}


def operation_cost(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> int:
    """What running ``operation`` with these (uncoerced) variables costs."""
    defaults = {
        v.variable.name.value: v.default_value
        for v in operation.variable_definitions or ()
        if v.default_value is not None
    }
    return QueryCost(schema, fragments, variables, defaults).of(operation)


class RememberedCost:
    """``operation_cost`` of one operation, remembered by the values of the variables the cost
    reads (page sizes, id-list lengths: the names noted on its first run), so a known document
    is not walked again per request."""

    __slots__ = ("costs", "fragments", "inputs", "operation")

    def __init__(
        self, fragments: Mapping[str, FragmentDefinitionNode], operation: OperationDefinitionNode
    ) -> None:
        self.fragments = fragments
        self.operation = operation
        self.inputs: tuple[str, ...] | None = None
        self.costs: dict[tuple[Any, ...], int] = {}

    def of(self, schema: GraphQLSchema, variables: Mapping[str, Any]) -> int:
        if self.inputs is not None:
            known = self.costs.get(self._key(variables))
            if known is not None:
                return known
        read = _ReadNames(variables)
        cost = operation_cost(schema, self.fragments, self.operation, read)
        self.inputs = tuple(dict.fromkeys(read.names))
        key = self._key(variables)
        if None not in key:
            if len(self.costs) >= _REMEMBERED_COSTS:
                self.costs.clear()
            self.costs[key] = cost
        return cost

    def _key(self, variables: Mapping[str, Any]) -> tuple[Any, ...]:
        assert self.inputs is not None
        return tuple(_cost_key(variables.get(name)) for name in self.inputs)


_REMEMBERED_COSTS = 1024


class _ReadNames(dict[str, Any]):
    """Variables that note which names the cost asks for."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        super().__init__(variables)
        self.names: list[str] = []

    def get(self, name: str, default: Any = None) -> Any:
        self.names.append(name)
        return super().get(name, default)


def _cost_key(value: Any) -> tuple[str, Any] | None:
    """What the cost reads of a variable's value (an int, or a list's length); None when it may
    read more, and the cost is computed afresh."""
    if isinstance(value, list):
        return ("list", len(value))
    if value is None or isinstance(value, int | str):
        return ("value", value)
    return None


def objects_in(value: object) -> int:
    """Objects in a response's data (GitHub's "actual" cost: what was returned, not asked for)."""
    if isinstance(value, dict):
        return 1 + sum(objects_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(objects_in(v) for v in value)
    return 0


def _operation(definitions: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)
