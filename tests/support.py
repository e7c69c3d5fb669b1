"""Helpers for talking to the real GraphQL endpoint in tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    token
    user { id username displayName }
    errors { code field message }
  }
}
"""

STRONG_PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    token: str
    id: str
    username: str


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The full response body; the HTTP status must be 200."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The data of a response that must have no top-level errors."""
        body = await self.post(query, variables, token)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error_codes(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> list[str]:
        body = await self.post(query, variables, token)
        return [error["extensions"]["code"] for error in body.get("errors", [])]

    async def register(
        self,
        username: str,
        email: str | None = None,
        password: str = STRONG_PASSWORD,
        display_name: str | None = None,
    ) -> Account:
        payload = await self.register_payload(
            username, email or f"{username.lower()}@example.com", password, display_name
        )
        assert payload["errors"] == [], payload["errors"]
        return Account(payload["token"], payload["user"]["id"], payload["user"]["username"])

    async def register_payload(
        self,
        username: str,
        email: str,
        password: str = STRONG_PASSWORD,
        display_name: str | None = None,
    ) -> dict[str, Any]:
        input_ = {"username": username, "email": email, "password": password}
        if display_name is not None:
            input_["displayName"] = display_name
        return (await self.data(REGISTER, {"input": input_}))["register"]
