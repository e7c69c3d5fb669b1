"""Compiling a validated query document into a plan of batched field readers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from execution.fields import READERS, Reader
from schema.cost import RememberedCost


class Unplannable(Exception):
    """The document uses something the compiled path does not do; the normal path runs it."""


class Fallback(Exception):
    """This request cannot be answered by its plan exactly as graphql-core would; run it the
    normal way (which also reports whatever went wrong)."""


@dataclass(frozen=True, slots=True)
class Condition:
    """``@include(if: $var)`` (include=True) or ``@skip(if: $var)`` (include=False)."""

    variable: str
    include: bool

    def holds(self, variables: Mapping[str, Any]) -> bool:
        return bool(variables.get(self.variable)) is self.include


@dataclass(slots=True)
class FieldPlan:
    key: str
    name: str
    reader: Reader | None  # None: __typename
    conditions: tuple[Condition, ...]
    # Arguments: constant when they use no variable, else coerced per request.
    arguments: Callable[[VariableValues], dict[str, Any]]
    nullable: bool
    is_list: bool
    item_nullable: bool
    serialize: Callable[[Any], Any] | None  # leaves
    children: Selection | None  # objects


@dataclass(slots=True)
class Selection:
    type_name: str
    fields: list[FieldPlan]
    has_conditions: bool


@dataclass(slots=True)
class Plan:
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root: Selection
    remembered_cost: RememberedCost

    def cost(self, schema: GraphQLSchema, variables: Mapping[str, Any]) -> int:
        """``operation_cost`` of this operation with these (uncoerced) variables, remembered."""
        return self.remembered_cost.of(schema, variables)


def compile_plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan:
    """A plan for the query ``operation_name`` names in a document that passed validation."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            raise Unplannable("no single operation")
        operation = operations[0]
    else:
        named = [o for o in operations if o.name and o.name.value == operation_name]
        if len(named) != 1:
            raise Unplannable("no operation by that name")
        operation = named[0]
    if operation.operation is not OperationType.QUERY:
        raise Unplannable("only queries are compiled")
    if operation.directives:
        raise Unplannable("directives on the operation")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    query_type = schema.query_type
    assert query_type is not None
    compiler = _Compiler(schema, fragments)
    return Plan(
        operation,
        fragments,
        compiler.selection(query_type, [operation.selection_set]),
        RememberedCost(fragments, operation),
    )


def compile_selection(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    parent: GraphQLObjectType,
    field_nodes: list[FieldNode],
) -> Selection:
    """A plan for what a field of ``parent`` type selects (a subscription's event: the
    sub-selection of its root field), from a document that passed validation."""
    sets = [node.selection_set for node in field_nodes if node.selection_set is not None]
    return _Compiler(schema, fragments).selection(parent, sets)


def reads_per_viewer(selection: Selection) -> bool:
    """Whether any field under ``selection`` depends on who asks."""
    return any(
        (field.reader is not None and field.reader.reads_per_viewer)
        or (field.children is not None and reads_per_viewer(field.children))
        for field in selection.fields
    )


def viewers_load_together(selection: Selection) -> bool:
    """Whether everything under ``selection`` that depends on who asks comes from sources that
    load many viewers at once (``Source.load_for_viewers``), none of it deciding what objects
    are there: then viewers can be grouped by those values and each group answered once."""
    for field in selection.fields:
        reader = field.reader
        if reader is not None and reader.reads_per_viewer:
            if reader.source is None or reader.source.load_for_viewers is None:
                return False
            if field.children is not None:
                return False
        if field.children is not None and not viewers_load_together(field.children):
            return False
    return True


class _Compiler:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments

    def selection(self, parent: GraphQLObjectType, sets: list[SelectionSetNode]) -> Selection:
        grouped: dict[str, list[tuple[FieldNode, tuple[Condition, ...]]]] = {}
        for selection_set in sets:
            self._collect(parent, selection_set, (), grouped, set())
        fields = [self._field(parent, key, nodes) for key, nodes in grouped.items()]
        return Selection(parent.name, fields, has_conditions=any(f.conditions for f in fields))

    def _collect(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        conditions: tuple[Condition, ...],
        grouped: dict[str, list[tuple[FieldNode, tuple[Condition, ...]]]],
        visited: set[str],
    ) -> None:
        for node in selection_set.selections:
            own = _conditions(node.directives or ())
            if own is None:
                continue  # a literal @skip(if: true) / @include(if: false)
            here = conditions + own
            if isinstance(node, FieldNode):
                key = node.alias.value if node.alias else node.name.value
                grouped.setdefault(key, []).append((node, here))
            elif isinstance(node, InlineFragmentNode):
                if node.type_condition is None or self._applies(
                    parent, node.type_condition.name.value
                ):
                    self._collect(parent, node.selection_set, here, grouped, visited)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments[name]
                if self._applies(parent, fragment.type_condition.name.value):
                    self._collect(parent, fragment.selection_set, here, grouped, visited)

    def _applies(self, parent: GraphQLObjectType, type_name: str) -> bool:
        if type_name == parent.name:
            return True
        condition = self.schema.get_type(type_name)
        if not is_abstract_type(condition):
            return False
        return self.schema.is_sub_type(condition, parent)

    def _field(
        self,
        parent: GraphQLObjectType,
        key: str,
        nodes: list[tuple[FieldNode, tuple[Condition, ...]]],
    ) -> FieldPlan:
        first = nodes[0][0]
        name = first.name.value
        # A field selected under different conditions is there when any of them holds: too
        # rare to plan for.
        if len({conditions for _, conditions in nodes}) > 1:
            raise Unplannable(f"{key} selected under different conditions")
        conditions = nodes[0][1]
        if name == "__typename":
            return FieldPlan(
                key, name, None, conditions, lambda _: {}, False, False, False, None, None
            )
        if name.startswith("__"):
            raise Unplannable("introspection")
        reader = READERS.get((parent.name, name))
        if reader is None:
            raise Unplannable(f"no reader for {parent.name}.{name}")
        field_def = parent.fields[name]
        return_type = field_def.type
        nullable = not isinstance(return_type, GraphQLNonNull)
        if isinstance(return_type, GraphQLNonNull):
            return_type = return_type.of_type
        is_list = isinstance(return_type, GraphQLList)
        item_nullable = False
        if isinstance(return_type, GraphQLList):
            return_type = return_type.of_type
            item_nullable = not isinstance(return_type, GraphQLNonNull)
            if isinstance(return_type, GraphQLNonNull):
                return_type = return_type.of_type
            if isinstance(return_type, GraphQLList):
                raise Unplannable("nested lists")
        if is_leaf_type(return_type):
            serialize = return_type.serialize
            children = None
        elif isinstance(return_type, GraphQLObjectType):
            serialize = None
            children = self.selection(
                return_type, [n.selection_set for n, _ in nodes if n.selection_set is not None]
            )
        else:
            raise Unplannable(f"abstract type at {parent.name}.{name}")
        if any(n.directives for n, _ in nodes if _field_directives(n)):
            raise Unplannable("directives other than skip and include")
        return FieldPlan(
            key,
            name,
            reader,
            conditions,
            _arguments(field_def, first),
            nullable,
            is_list,
            item_nullable,
            serialize,
            children,
        )


def _field_directives(node: FieldNode) -> list[str]:
    return [d.name.value for d in node.directives or () if d.name.value not in ("skip", "include")]


def _conditions(directives: Any) -> tuple[Condition, ...] | None:
    """The run-time conditions of a selection; None when a literal condition drops it."""
    found: list[Condition] = []
    for directive in directives:
        name = directive.name.value
        if name not in ("skip", "include"):
            if name in ("defer", "stream"):
                raise Unplannable(f"@{name}")
            continue
        argument = directive.arguments[0].value
        include = name == "include"
        if isinstance(argument, BooleanValueNode):
            if argument.value is not include:
                return None
        elif isinstance(argument, VariableNode):
            found.append(Condition(argument.name.value, include))
        else:
            raise Unplannable("odd directive argument")
    return tuple(found)


def _arguments(field_def: Any, node: FieldNode) -> Callable[[VariableValues], dict[str, Any]]:
    uses_variables = any(_has_variable(a.value) for a in node.arguments or ())
    if not uses_variables:
        constant = get_argument_values(field_def, node, None)
        return lambda _: constant
    return lambda variables: get_argument_values(field_def, node, variables)


def _has_variable(value: Any) -> bool:
    if isinstance(value, VariableNode):
        return True
    children = getattr(value, "values", None) or getattr(value, "fields", None) or ()
    return any(_has_variable(getattr(c, "value", c)) for c in children)
