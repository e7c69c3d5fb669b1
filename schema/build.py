"""The Schema object and its extensions."""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from schema.errors import ErrorCodes
from schema.root import Mutation, Query
from schema.tweets import Tweet
from schema.users import User
from starling.config import Settings


class ParserCacheReportingSyntaxErrors(ParserCache):
    """ParserCache that lets strawberry report syntax errors itself.

    A syntax error raised inside ParserCache's hook skips the rest of every extension's
    ``on_operation`` (so the error would get no ``extensions.code``). Leaving an unparsable
    document unparsed makes strawberry parse it again outside the hook and report it normally;
    only invalid documents pay for the second parse.
    """

    def on_parse(self) -> Iterator[None]:
        try:
            yield from super().on_parse()
        except GraphQLError:
            yield


def build_schema(settings: Settings) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[User, Tweet],
        extensions=[
            ErrorCodes,
            # Cached parse and validation more than double throughput for repeated documents.
            lambda: ParserCacheReportingSyntaxErrors(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        ],
    )
