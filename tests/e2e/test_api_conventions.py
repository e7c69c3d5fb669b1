"""API.md conventions: error codes, masking, limits, GET queries."""

from __future__ import annotations

import pytest

from starling.services import accounts
from tests.support import Api


async def test_syntax_errors_are_bad_user_input(api: Api) -> None:
    assert await api.error_codes("{ viewer { id ") == ["BAD_USER_INPUT"]


async def test_unknown_fields_are_bad_user_input(api: Api) -> None:
    assert await api.error_codes("{ viewer { nope } }") == ["BAD_USER_INPUT"]


async def test_wrong_variable_types_are_bad_user_input(api: Api) -> None:
    query = "query($id: ID!) { node(id: $id) { id } }"
    assert await api.error_codes(query, {"id": {"not": "an id"}}) == ["BAD_USER_INPUT"]


async def test_too_many_aliases_are_too_complex(api: Api) -> None:
    query = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(31)) + " }"
    assert await api.error_codes(query) == ["QUERY_TOO_COMPLEX"]


async def test_too_many_tokens_are_too_complex(api: Api) -> None:
    query = "{ viewer { " + "id " * 2100 + "} }"
    assert await api.error_codes(query) == ["QUERY_TOO_COMPLEX"]


async def test_unexpected_errors_are_masked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Forcing a failure inside a service is the only way to reach this path on purpose.
    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(accounts, "login", explode)
    body = await api.post(
        'mutation { login(input: {usernameOrEmail: "a", password: "b"}) { token } }'
    )
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in str(body)


async def test_queries_work_over_get(api: Api) -> None:
    await api.register("ada")
    response = await api.client.get(
        "/graphql", params={"query": '{ user(username: "ada") { username } }'}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"user": {"username": "ada"}}


async def test_mutations_are_refused_over_get(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": "mutation { logout { success } }"})
    assert response.status_code in (400, 405)


async def test_graphql_response_json_is_accepted(api: Api) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": None}


async def test_malformed_json_body_is_a_400_not_a_500(api: Api) -> None:
    response = await api.client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


TWEETS_PAGE = """
query($first: Int, $after: String) {
  user(username: "ada") { tweets(first: $first, after: $after) { edges { node { id } } } }
}
"""


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_first_is_between_1_and_100(api: Api, first: int) -> None:
    await api.register("ada")
    assert await api.error_codes(TWEETS_PAGE, {"first": first}) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("cursor", ["!!!", "bm90IGpzb24", "WyJhIl0", "WzEsMl0"])
async def test_bad_cursors_are_bad_user_input(api: Api, cursor: str) -> None:
    # Garbage, not JSON, a string key, and a two-part key from another kind of list.
    await api.register("ada")
    assert await api.error_codes(TWEETS_PAGE, {"after": cursor}) == ["BAD_USER_INPUT"]


async def test_deep_queries_are_too_complex(api: Api) -> None:
    await api.register("ada")
    level = "tweets {{ edges {{ node {{ author {{ {inner} }} }} }} }}"
    inner = "id"
    for _ in range(2):  # depth 10
        inner = level.format(inner=inner)
    assert await api.error_codes(f'{{ user(username: "ada") {{ {inner} }} }}') == []
    inner = level.format(inner=inner)  # depth 14
    assert await api.error_codes(f'{{ user(username: "ada") {{ {inner} }} }}') == [
        "QUERY_TOO_COMPLEX"
    ]
