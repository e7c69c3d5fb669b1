"""node(id:) and nodes(ids:) refetch objects by global id."""

from __future__ import annotations

import base64

from tests.support import Api

NODE = "query($id: ID!) { node(id: $id) { __typename id ... on User { username } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { username } } }"


async def test_node_refetches_a_user(api: Api) -> None:
    ada = await api.register("ada")
    node = (await api.data(NODE, {"id": ada.id}))["node"]
    assert node == {"__typename": "User", "id": ada.id, "username": "ada"}


async def test_node_is_null_for_unknown_and_malformed_ids(api: Api) -> None:
    unknown = base64.urlsafe_b64encode(b"User:999999").decode().rstrip("=")
    wrong_type = base64.urlsafe_b64encode(b"Nope:1").decode().rstrip("=")
    for global_id in (unknown, wrong_type, "%%%", "", "VXNlcjp4"):
        assert (await api.data(NODE, {"id": global_id}))["node"] is None


async def test_nodes_keeps_order_and_nulls(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    nodes = (await api.data(NODES, {"ids": [grace.id, "bogus", ada.id]}))["nodes"]
    assert nodes == [
        {"id": grace.id, "username": "grace"},
        None,
        {"id": ada.id, "username": "ada"},
    ]


async def test_nodes_caps_the_number_of_ids(api: Api) -> None:
    assert await api.error_codes(NODES, {"ids": ["x"] * 101}) == ["BAD_USER_INPUT"]
