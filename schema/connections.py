"""Relay connections: ``edges { cursor node }`` and ``pageInfo``, over keyset pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from starling.queries.pagination import Page, encode_cursor

NodeType = TypeVar("NodeType")
Row = TypeVar("Row")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[Row], wrap: Callable[[Row], NodeType]) -> Connection[NodeType]:
        cursors = [encode_cursor(key) for key in page.keys]
        return cls(
            edges=[
                Edge(cursor=cursor, node=wrap(item))
                for cursor, item in zip(cursors, page.items, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=False,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
        )

    @classmethod
    def empty(cls) -> Connection[NodeType]:
        return cls(
            edges=[],
            page_info=PageInfo(
                has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
            ),
        )
