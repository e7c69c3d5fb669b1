"""Domain errors: the one place error codes are defined.

Services raise ``DomainError`` (one problem) or ``ValidationFailed`` (several, one per field).
The API layer turns them into ``UserError`` entries of a mutation payload, or into a top-level
GraphQL error with ``extensions.code`` for the request-level codes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starling.storage.rate_limits import Decision


class ErrorCode(StrEnum):
    # Request-level codes, sent as top-level errors with extensions.code.
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    TIMEOUT = "TIMEOUT"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

    # Field-level codes, sent in mutation payloads' errors lists.
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    INVALID_USERNAME = "INVALID_USERNAME"
    USERNAME_TAKEN = "USERNAME_TAKEN"
    INVALID_EMAIL = "INVALID_EMAIL"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_URL = "INVALID_URL"
    INVALID_REGION = "INVALID_REGION"
    NOT_FOUND = "NOT_FOUND"
    NOT_AUTHOR = "NOT_AUTHOR"
    TWEET_EMPTY = "TWEET_EMPTY"
    TWEET_TOO_LONG = "TWEET_TOO_LONG"
    INVALID_CHARACTERS = "INVALID_CHARACTERS"
    DUPLICATE_TWEET = "DUPLICATE_TWEET"
    TOO_MANY_MEDIA = "TOO_MANY_MEDIA"
    MEDIA_NOT_READY = "MEDIA_NOT_READY"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    MEDIA_TOO_LARGE = "MEDIA_TOO_LARGE"
    INVALID_MEDIA = "INVALID_MEDIA"
    MEDIA_NOT_UPLOADED = "MEDIA_NOT_UPLOADED"
    EDIT_WINDOW_CLOSED = "EDIT_WINDOW_CLOSED"
    EDIT_LIMIT_REACHED = "EDIT_LIMIT_REACHED"
    CANNOT_EDIT_RETWEET = "CANNOT_EDIT_RETWEET"
    CANNOT_RETWEET_PROTECTED = "CANNOT_RETWEET_PROTECTED"
    CANNOT_FOLLOW_SELF = "CANNOT_FOLLOW_SELF"
    CANNOT_BLOCK_SELF = "CANNOT_BLOCK_SELF"
    CANNOT_MUTE_SELF = "CANNOT_MUTE_SELF"
    BLOCKED = "BLOCKED"


class DomainError(Exception):
    """One problem with what a client asked for, with the input field it concerns if any."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # More for a client than the code and message (a GraphQL error's extensions).
        self.extensions: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"DomainError({self.code}, {self.message!r}, field={self.field!r})"


class RateLimited(DomainError):
    """A budget is spent: RATE_LIMITED, with when to retry (``extensions.retryAfter``, and the
    Retry-After and RateLimit-* headers over HTTP)."""

    def __init__(self, decision: Decision, message: str | None = None) -> None:
        super().__init__(
            ErrorCode.RATE_LIMITED,
            message or f"Too many requests; try again in {decision.retry_after_seconds} seconds.",
        )
        self.decision = decision


class ValidationFailed(DomainError):
    """Several field problems found together, so a client can show them all at once."""

    def __init__(self, errors: list[DomainError]) -> None:
        if not errors:
            raise ValueError("ValidationFailed needs at least one error")
        super().__init__(errors[0].code, errors[0].message, errors[0].field)
        self.errors = errors


class ErrorCollector:
    """Gathers field problems during validation; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def add(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        self.errors.append(DomainError(code, message, field))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


def unpack(error: DomainError) -> list[DomainError]:
    """The individual problems inside a DomainError (one, or many for ValidationFailed)."""
    return list(error.errors) if isinstance(error, ValidationFailed) else [error]
