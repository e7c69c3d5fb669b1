"""The per-document memories are bounded: past their size the least recently used entry goes, and
a lookup counts as a use."""

from __future__ import annotations

from graphql import parse

from execution.cache import CompiledDocuments
from schema.build import build_schema
from schema.by_document import ByDocument
from starling.config import Settings

# Plannable without a database: the root's __typename under three names.
ME = "{ __typename }"
HEALTH = "{ health: __typename }"
THIRD = "{ third: __typename }"


def test_plans_forget_the_least_recently_used_document() -> None:
    compiled = CompiledDocuments(build_schema(Settings())._schema, compile_after=1, maxsize=2)
    compiled.ran_cleanly(ME, None, persisted=False)
    compiled.ran_cleanly(HEALTH, None, persisted=False)
    assert compiled.plan_for(ME, None) is not None  # ME is now the most recently used
    compiled.ran_cleanly(THIRD, None, persisted=False)

    assert compiled.plan_for(ME, None) is not None
    assert compiled.plan_for(THIRD, None) is not None
    assert compiled.plan_for(HEALTH, None) is None


def test_by_document_computes_again_only_what_it_forgot() -> None:
    remembered: ByDocument[str] = ByDocument(maxsize=2)
    computed: list[str] = []

    def value_of(name: str) -> str:
        computed.append(name)
        return name.upper()

    first, second, third = parse(ME), parse(HEALTH), parse(THIRD)
    assert remembered.get(first, None, lambda: value_of("first")) == "FIRST"
    remembered.get(second, None, lambda: value_of("second"))
    remembered.get(first, None, lambda: value_of("first"))
    remembered.get(third, None, lambda: value_of("third"))
    remembered.get(first, None, lambda: value_of("first"))
    remembered.get(second, None, lambda: value_of("second"))

    assert computed == ["first", "second", "third", "second"]
