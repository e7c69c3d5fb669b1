"""A small GraphQL-over-WebSocket client for tests: graphql-transport-ws and legacy graphql-ws."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

PROTOCOLS = ("graphql-transport-ws", "graphql-ws")


class Subscription:
    def __init__(self, url: str, protocol: str, token: str | None) -> None:
        self.url, self.protocol, self.token = url, protocol, token
        self.socket: Any = None

    async def connect(self) -> dict[str, Any]:
        """Open the socket and send connection_init; returns the server's first answer."""
        self.socket = await websockets.connect(self.url, subprotocols=[self.protocol])
        payload = {"authorization": f"Bearer {self.token}"} if self.token else {}
        await self.socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        return await self._next_control()

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> None:
        start = "subscribe" if self.protocol == "graphql-transport-ws" else "start"
        await self.socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": start,
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109 - a test helper
        """The next data/complete/error message (keep-alives skipped)."""
        while True:
            message = json.loads(_text(await asyncio.wait_for(self.socket.recv(), timeout)))
            if message["type"] in {"ka", "ping", "pong"}:
                if message["type"] == "ping":
                    await self.socket.send(json.dumps({"type": "pong"}))
                continue
            return message

    async def _next_control(self) -> dict[str, Any]:
        try:
            return json.loads(_text(await asyncio.wait_for(self.socket.recv(), 5)))
        except websockets.ConnectionClosed as closed:
            return {"type": "closed", "code": closed.rcvd.code if closed.rcvd else None}

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


def data_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] in {"next", "data"}, message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]


def _text(frame: str | bytes) -> str:
    """Both protocols send JSON text; browsers' clients cannot read a binary frame as one."""
    assert isinstance(frame, str), f"a binary frame: {frame!r}"
    return frame
