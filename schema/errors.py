"""How domain errors reach clients.

- Field problems go in a mutation payload's ``errors: [UserError!]!``.
- Request-level problems (UNAUTHENTICATED, RATE_LIMITED, ...) become top-level GraphQL errors with
  ``extensions.code``.
- Anything else is masked as INTERNAL_SERVER_ERROR (logged with its traceback).
"""

from __future__ import annotations

import logging
import re

import strawberry
from graphql import GraphQLError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from strawberry.extensions import MaskErrors

from starling.errors import DomainError, ErrorCode, RateLimited, unpack

log = logging.getLogger("starling.graphql")

ErrorCodeEnum = strawberry.enum(ErrorCode, name="ErrorCode", description="What went wrong.")

REQUEST_LEVEL_CODES = frozenset(
    {
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.FORBIDDEN,
        ErrorCode.RATE_LIMITED,
        ErrorCode.QUERY_TOO_COMPLEX,
        ErrorCode.BAD_USER_INPUT,
        ErrorCode.PERSISTED_QUERY_NOT_FOUND,
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.TIMEOUT,
    }
)


@strawberry.type(description="A problem with a mutation's input, tied to a field when it can be.")
class UserError:
    code: ErrorCodeEnum  # type: ignore[valid-type]
    field: str | None
    message: str


def user_errors(error: DomainError) -> list[UserError]:
    """The payload errors for a DomainError, re-raising request-level ones as top-level errors."""
    problems = unpack(error)
    for problem in problems:
        if problem.code in REQUEST_LEVEL_CODES:
            raise problem
    return [UserError(code=p.code, field=p.field, message=p.message) for p in problems]


def coded_graphql_error(
    error: GraphQLError, code: ErrorCode, message: str | None = None, **extensions: object
) -> GraphQLError:
    return GraphQLError(
        message=message or error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), "code": code.value, **extensions},
    )


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _without_suggestions(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


_TOO_COMPLEX = re.compile(
    r"exceeds maximum operation depth|\d+ aliases found|more than \d+ tokens", re.I
)


class ErrorCodes(MaskErrors):
    """Gives every error an ``extensions.code`` and masks the unexpected ones.

    MaskErrors masks everything by default; here only errors that are not ours are masked.
    """

    def __init__(self, *, suggestions: bool = True) -> None:
        super().__init__(
            should_mask_error=self._is_unexpected, error_message="Internal server error."
        )
        # Off in production: "Did you mean ...?" maps the schema for whoever guesses names.
        self.suggestions = suggestions

    @staticmethod
    def _is_unexpected(error: GraphQLError) -> bool:
        original = error.original_error
        return original is not None and not isinstance(
            original, DomainError | GraphQLError | PoolTimeout
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        coded = [self._with_code(error) for error in errors]
        return coded if self.suggestions else [_without_suggestions(e) for e in coded]

    def _with_code(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if self._is_unexpected(error):
            log.error("unexpected error at %s", error.path, exc_info=original)
            return coded_graphql_error(error, ErrorCode.INTERNAL_SERVER_ERROR, self.error_message)
        if isinstance(original, RateLimited):
            context = self.execution_context.context
            if hasattr(context, "note_rate_limit"):
                context.note_rate_limit(original.decision)
            return coded_graphql_error(
                error,
                original.code,
                original.message,
                retryAfter=original.decision.retry_after_seconds,
            )
        if isinstance(original, DomainError):
            return coded_graphql_error(
                error, original.code, original.message, **original.extensions
            )
        if isinstance(original, PoolTimeout):
            log.warning("no database connection free at %s", error.path)
            return coded_graphql_error(
                error, ErrorCode.TIMEOUT, "The service is busy; try again in a moment."
            )
        if error.extensions and "code" in error.extensions:
            return error
        if _TOO_COMPLEX.search(error.message):
            return coded_graphql_error(error, ErrorCode.QUERY_TOO_COMPLEX)
        # Syntax and validation errors: the document or its variables are wrong.
        return coded_graphql_error(error, ErrorCode.BAD_USER_INPUT)
