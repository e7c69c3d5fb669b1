"""Values worked out once per parsed document, for the checks every request repeats."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from graphql import DocumentNode

T = TypeVar("T")


class ByDocument(Generic[T]):
    """Remembers ``compute()`` per document (and a key within it). ParserCache hands out the same
    DocumentNode for the same text, so a known document is looked at once, not per request (or
    per socket subscribing). An entry holds its document, so the id cannot be reused meanwhile."""

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, Hashable], tuple[DocumentNode, T]] = OrderedDict()

    def get(self, document: DocumentNode, key: Hashable, compute: Callable[[], T]) -> T:
        entry_key = (id(document), key)
        found = self._entries.get(entry_key)
        if found is not None and found[0] is document:
            self._entries.move_to_end(entry_key)
            return found[1]
        value = compute()
        self._entries[entry_key] = (document, value)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return value
