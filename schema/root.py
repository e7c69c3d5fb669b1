"""The root Query and Mutation types: each field names its resolver and nothing more."""

from __future__ import annotations

import strawberry

from resolvers import accounts, nodes
from schema.accounts import AuthPayload, LogoutPayload, UpdateProfilePayload
from schema.node import Node
from schema.users import User


@strawberry.type
class Query:
    node: Node | None = strawberry.field(resolver=nodes.node, description="Any object by id.")
    nodes: list[Node | None] = strawberry.field(
        resolver=nodes.nodes, description="Objects by id, null where missing or hidden."
    )
    viewer: User | None = strawberry.field(
        resolver=accounts.viewer, description="The signed-in user, or null."
    )
    user: User | None = strawberry.field(resolver=accounts.user, description="A user by username.")


@strawberry.type
class Mutation:
    register: AuthPayload = strawberry.mutation(resolver=accounts.register)
    login: AuthPayload = strawberry.mutation(resolver=accounts.login)
    logout: LogoutPayload = strawberry.mutation(
        resolver=accounts.logout, description="Revokes the token this request was sent with."
    )
    update_profile: UpdateProfilePayload = strawberry.mutation(resolver=accounts.update_profile)
