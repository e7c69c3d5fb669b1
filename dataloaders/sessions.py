"""Socket sign-ins batched across the API process.

A reconnect storm after a deploy opens thousands of sockets a second, and each checks its token
twice (at connection_init and again before its operation starts). Asked one by one, that is two
Redis round trips a socket; here the tokens asked in one tick are read with one MGET (and those
not cached with one statement).
"""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from starling.core import Core
from starling.storage import sessions


class SocketSessions:
    def __init__(self, core: Core) -> None:
        self._core = core
        # No cache: a token is asked about again to learn whether it died in the meantime.
        self._loader: DataLoader[str, int | None] = DataLoader(load_fn=self._load, cache=False)

    async def user_id_for(self, token: str) -> int | None:
        """``sessions.user_id_for``, batched with the other sockets' in this tick."""
        return await self._loader.load(token)

    async def _load(self, tokens: list[str]) -> list[int | None]:
        return await sessions.user_ids_for(self._core, tokens)
