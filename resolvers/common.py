"""What every resolver shares: turning domain errors into payload errors, decoding ids."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, Protocol, TypeVar

import strawberry

from resolvers.limits import Action, spend
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.node import db_id_of
from starling.core import Core
from starling.errors import DomainError, ErrorCode

P = ParamSpec("P")


class Payload(Protocol):
    def __init__(self, *, errors: list[UserError]) -> None: ...


PayloadT = TypeVar("PayloadT", bound=Payload)


def returns_errors_in(
    payload: type[PayloadT],
) -> Callable[[Callable[P, Awaitable[PayloadT]]], Callable[P, Awaitable[PayloadT]]]:
    """A mutation resolver whose DomainErrors become ``payload(errors=[...])`` (request-level
    codes such as UNAUTHENTICATED still become top-level errors)."""

    def decorate(resolver: Callable[P, Awaitable[PayloadT]]) -> Callable[P, Awaitable[PayloadT]]:
        @functools.wraps(resolver)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> PayloadT:
            try:
                return await resolver(*args, **kwargs)
            except DomainError as error:
                return payload(errors=user_errors(error))

        return wrapper

    return decorate


Result = TypeVar("Result")


def viewer_acts_on(
    type_name: str,
    payload: type[PayloadT],
    action: Callable[[Core, int, int], Awaitable[Result]],
    wrap: Callable[[Info, Result], Awaitable[PayloadT]],
    budget: Action | None = None,
) -> Callable[[Info, strawberry.ID], Awaitable[PayloadT]]:
    """A mutation taking the id of a ``type_name``: the signed-in viewer does ``action`` to it
    (spending ``budget``) and the result is wrapped in ``payload`` (likeTweet, followUser, ...)."""

    @returns_errors_in(payload)
    async def resolve(info: Info, id: strawberry.ID) -> PayloadT:
        viewer_id = info.context.require_viewer()
        if budget is not None:
            await spend(info, budget)
        return await wrap(
            info, await action(info.context.core, viewer_id, decode_id(id, type_name))
        )

    # Strawberry builds the field from these; the payload must be the concrete type.
    resolve.__annotations__ = {"info": Info, "id": strawberry.ID, "return": payload}
    return resolve


def decode_id(global_id: str, type_name: str, field: str = "id") -> int:
    """The database id inside a global id of ``type_name``, or NOT_FOUND."""
    db_id = db_id_of(global_id, type_name)
    if db_id is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"No such {type_name.lower()}.", field)
    return db_id
