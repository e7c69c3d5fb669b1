"""Text PostgreSQL cannot store (NUL) or UTF-8 cannot encode (lone surrogates) is refused at the
door, for every string a client sends: variables and literals in the document alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

from schema.by_document import ByDocument
from starling.errors import ErrorCode

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def has_unstorable(value: Any) -> bool:
    """Whether any string in a JSON value (keys included) is unstorable. Iterative: variables
    arrive over WebSocket too, where no HTTP depth check has run."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item) is not None:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


_has_unstorable = has_unstorable  # its earlier name, which tests/e2e/test_http_edge.py uses


class _FindUnstorable(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.found = self.found or has_unstorable(node.value)


_LITERALS: ByDocument[bool] = ByDocument()


def _literals_unstorable(document: DocumentNode) -> bool:
    def find() -> bool:
        finder = _FindUnstorable()
        visit(document, finder)
        return finder.found

    return _LITERALS.get(document, None, find)


class RejectUnstorableText(SchemaExtension):
    """Reports the problem as a validation error rather than raising: strawberry runs the
    operation hooks' post-processing (error codes, masking) only for errors returned this way.
    Must come after ValidationCache, which fills ``pre_execution_errors`` first."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        bad = has_unstorable(context.variables or {})
        if not bad and context.graphql_document is not None:
            bad = _literals_unstorable(context.graphql_document)
        if bad:
            problem = GraphQLError(
                "Text may not contain NUL characters or unpaired surrogates.",
                extensions={"code": ErrorCode.BAD_USER_INPUT.value},
            )
            # A new list: the one ValidationCache put here is its cached value.
            context.pre_execution_errors = [*(context.pre_execution_errors or []), problem]
        yield
