"""What a query selects below the current field, for resolvers that prefetch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from strawberry.types.nodes import SelectedField, Selection

from schema.context import Info


def subfield_names(info: Info, path: Sequence[str]) -> set[str]:
    """GraphQL names of the fields selected at ``path`` below the current field (fragments
    flattened), e.g. ``("edges", "node")`` in a connection."""
    # selected_fields holds the current field itself; its selections are where paths start.
    level: list[Selection] = [
        child for field in _fields(info.selected_fields) for child in field.selections
    ]
    for name in path:
        level = [
            child for field in _fields(level) if field.name == name for child in field.selections
        ]
    return {field.name for field in _fields(level)}


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)
