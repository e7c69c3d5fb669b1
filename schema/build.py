"""The Schema object and its extensions."""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from schema.cost import CostLimit, PointsBudget
from schema.errors import ErrorCodes
from schema.input_text import RejectUnstorableText
from schema.media import Media
from schema.metrics import OperationMetrics
from schema.response_extensions import ResponseExtensions
from schema.root import Mutation, Query
from schema.subscriptions import Subscription
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
    # The depth and alias rules are made once: QueryDepthLimiter and MaxAliasesLimiter make a new
    # rule class per instance (so per request), and ValidationCache keys on the rules, so with
    # them it would never hit.
    limits: list[type[ASTValidationRule]] = [
        max_depth_rule(settings.max_query_depth, None),
        max_aliases_rule(settings.max_aliases),
    ]
    if not settings.introspection_enabled:
        limits.append(NoSchemaIntrospectionCustomRule)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, Tweet, Media],
        extensions=[
            # First, so its time covers every other extension's work.
            OperationMetrics,
            lambda: ErrorCodes(suggestions=settings.field_suggestions_enabled),
            # Cached parse and validation more than double throughput for repeated documents.
            lambda: ParserCacheReportingSyntaxErrors(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            lambda: AddValidationRules(limits),
            RejectUnstorableText,
            ResponseExtensions,
            # Last: it costs only documents that passed validation, then spends the cost.
            lambda: CostLimit(max_cost=settings.max_query_cost),
            PointsBudget,
        ],
    )
