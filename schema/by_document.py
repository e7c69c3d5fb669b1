"""Values worked out once per parsed document, for the checks every request repeats."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache
from graphql import DocumentNode

T = TypeVar("T")


class ByDocument(Generic[T]):
    """Remembers ``compute()`` per document (and a key within it). ParserCache hands out the same
    DocumentNode for the same text, so a known document is looked at once, not per request (or
    per socket subscribing). An entry holds its document, so the id cannot be reused meanwhile."""

    def __init__(self, maxsize: int = 512) -> None:
        self._entries: LRUCache[tuple[int, Hashable], tuple[DocumentNode, T]] = LRUCache(maxsize)

    def get(self, document: DocumentNode, key: Hashable, compute: Callable[[], T]) -> T:
        entry_key = (id(document), key)
        found = self._entries.get(entry_key)
        if found is not None and found[0] is document:
            return found[1]
        value = compute()
        self._entries[entry_key] = (document, value)
        return value
