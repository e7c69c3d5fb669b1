"""Running a plan: level by level, each field source read once per level for all its parents."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import GraphQLError, GraphQLSchema
from graphql.execution.values import VariableValues, get_variable_values

from execution.fields import GROUPS, Known, Source, SourceGroup
from execution.plan import Fallback, FieldPlan, Plan, Selection
from schema.context import Context

NO_VARIABLES = VariableValues({}, {})


def coerce_variables(
    schema: GraphQLSchema, plan: Plan, inputs: Mapping[str, Any] | None
) -> VariableValues:
    """The operation's variables as graphql-core coerces them; any problem falls back (the normal
    path reports it)."""
    definitions = plan.operation.variable_definitions or ()
    if not definitions:
        return NO_VARIABLES
    coerced = get_variable_values(schema, definitions, dict(inputs or {}))
    if isinstance(coerced, list):
        raise Fallback("variables do not coerce")
    return coerced


@dataclass(slots=True)
class Executed:
    data: dict[str, Any]
    objects: int  # in ``data``, counted as they are made (the "actual" cost reported)


class ViewerValues(Protocol):
    """Stands in for the loads of per-viewer sources (live delivery answers many viewers).
    Called in the plan's order, which is the same on every run of a selection."""

    def load(
        self, source: Source, context: Context, parents: Sequence[Any]
    ) -> Awaitable[Sequence[Any]]: ...


class _Tally:
    __slots__ = ("known", "objects", "viewer_values")

    def __init__(self, viewer_values: ViewerValues | None = None) -> None:
        self.objects = 0
        self.viewer_values = viewer_values
        self.known = Known()


async def execute(plan: Plan, context: Context, variables: VariableValues) -> Executed:
    """The response's ``data``. Raises Fallback for anything graphql-core would answer with an
    error (and for any failure at all: the normal path then runs and reports it)."""
    tally = _Tally()
    [data] = await _falling_back(_run_selection(plan.root, [None], context, variables, tally))
    return Executed(data, tally.objects)


async def execute_selection(
    selection: Selection,
    parents: Sequence[Any],
    context: Context,
    variables: VariableValues,
    viewer_values: ViewerValues | None = None,
) -> list[dict[str, Any]]:
    """``selection`` completed on each of ``parents`` (a subscription's events), per-viewer
    sources read through ``viewer_values`` when given; Fallback as for ``execute``."""
    return await _falling_back(
        _run_selection(selection, parents, context, variables, _Tally(viewer_values))
    )


async def _falling_back(run: Awaitable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Any failure of a run as Fallback: the normal path then runs and reports it."""
    try:
        return await run
    except Fallback:
        raise
    except (GraphQLError, Exception) as error:
        raise Fallback(repr(error)) from error


async def _run_selection(
    selection: Selection,
    parents: Sequence[Any],
    context: Context,
    variables: VariableValues,
    tally: _Tally,
) -> list[dict[str, Any]]:
    fields = (
        [f for f in selection.fields if all(c.holds(variables.coerced) for c in f.conditions)]
        if selection.has_conditions
        else selection.fields
    )
    # Every read of this level at once: shared sources once (grouped ones in one statement),
    # fields with arguments each.
    wanted: dict[str, Source] = {}
    reads: dict[str | int | SourceGroup, Awaitable[Any]] = {}
    loaded: dict[Any, Any] = {}
    for index, field in enumerate(fields):
        reader = field.reader
        if reader is None:
            continue
        if reader.source is not None:
            wanted.setdefault(reader.source.name, reader.source)
        elif reader.batch is not None:
            args = field.arguments(variables)
            already = tally.known.take_read(reader, parents, args)
            if already is not None:
                loaded[index] = already
            else:
                reads[index] = _batch_read(field, context, parents, args, variables, tally.known)
    viewer_values = tally.viewer_values
    if viewer_values is not None:
        for name, source in list(wanted.items()):
            if source.per_viewer:
                reads[name] = viewer_values.load(source, context, parents)
                del wanted[name]
    for name, source in list(wanted.items()):
        known = tally.known.take(source, parents)
        if known is not None:
            loaded[name] = known
            del wanted[name]
    for group in GROUPS:
        if sum(member.name in wanted for member in group.members) >= 2:
            reads[group] = group.load(context, parents)
            for member in group.members:
                wanted.pop(member.name, None)
    for name, source in wanted.items():
        reads[name] = source.load(context, parents)
    if reads:
        pending = list(reads.values())
        done = await asyncio.gather(*pending) if len(pending) > 1 else [await pending[0]]
        for key, value in zip(reads, done, strict=True):
            if isinstance(key, SourceGroup):
                for position, member in enumerate(key.members):
                    loaded[member.name] = [row[position] for row in value]
            else:
                loaded[key] = value

    results: list[dict[str, Any]] = [{} for _ in parents]
    tally.objects += len(results)
    nested: list[tuple[FieldPlan, list[Any]]] = []
    for index, field in enumerate(fields):
        reader = field.reader
        if reader is None:
            values: Sequence[Any] = [selection.type_name] * len(parents)
        elif reader.item is not None:
            values = [reader.item(parent) for parent in parents]
        elif reader.source is not None:
            part = reader.part
            assert part is not None
            values = [part(value) for value in loaded[reader.source.name]]
        else:
            values = loaded[index]
        if field.children is None:
            _complete_leaves(field, values, results)
        else:
            # The key goes in now, so the response keeps the selection's order.
            for result in results:
                result[field.key] = None
            nested.append((field, list(values)))
    for field, values in nested:
        await _complete_objects(field, values, results, context, variables, tally)
    return results


def _batch_read(
    field: FieldPlan,
    context: Context,
    parents: Sequence[Any],
    args: Mapping[str, Any],
    variables: VariableValues,
    known: Known,
) -> Awaitable[Sequence[Any]]:
    """The field's batch, fused with the child field it can read along when that is selected."""
    reader = field.reader
    assert reader is not None
    assert reader.batch is not None
    fused = reader.fused
    if fused is not None and field.children is not None:
        for child in field.children.fields:
            if child.reader is fused.child and all(
                c.holds(variables.coerced) for c in child.conditions
            ):
                return fused.load(context, parents, args, child.arguments(variables), known)
    return reader.batch(context, parents, args, known)


def _complete_leaves(
    field: FieldPlan, values: Sequence[Any], results: list[dict[str, Any]]
) -> None:
    serialize = field.serialize
    key = field.key
    if serialize is None:  # __typename
        for result, value in zip(results, values, strict=True):
            result[key] = value
        return
    for result, value in zip(results, values, strict=True):
        if value is None:
            if not field.nullable:
                raise Fallback(f"null at non-null {key}")
            result[key] = None
        elif field.is_list:
            if any(item is None for item in value) and not field.item_nullable:
                raise Fallback(f"null item in {key}")
            result[key] = [serialize(item) if item is not None else None for item in value]
        else:
            result[key] = serialize(value)


async def _complete_objects(
    field: FieldPlan,
    values: list[Any],
    results: list[dict[str, Any]],
    context: Context,
    variables: VariableValues,
    tally: _Tally,
) -> None:
    children = field.children
    assert children is not None
    key = field.key
    # Flatten: every object under this field, from every parent, read as one level.
    flat: list[Any] = []
    for value in values:
        if value is None:
            if not field.nullable:
                raise Fallback(f"null at non-null {key}")
        elif field.is_list:
            for item in value:
                if item is None:
                    if not field.item_nullable:
                        raise Fallback(f"null item in {key}")
                else:
                    flat.append(item)
        else:
            flat.append(value)
    completed = iter(
        await _run_selection(children, flat, context, variables, tally) if flat else []
    )
    for result, value in zip(results, values, strict=True):
        if value is None:
            result[key] = None
        elif field.is_list:
            result[key] = [next(completed) if item is not None else None for item in value]
        else:
            result[key] = next(completed)
