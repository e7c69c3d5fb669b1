"""schema.graphql is the exported SDL clients build on; it must match the code."""

from __future__ import annotations

from pathlib import Path

from schema.build import build_schema
from starling.config import Settings

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_current() -> None:
    exported = build_schema(Settings()).as_str() + "\n"
    assert SCHEMA_FILE.read_text() == exported, "schema.graphql is stale: run `make schema`"
