"""One registry per request; each loader batches the keys asked for in one tick into one query."""

from __future__ import annotations

from functools import cached_property

from strawberry.dataloader import DataLoader

from starling.db import Database
from starling.models import User, UserStats
from starling.queries import users as user_queries


class Loaders:
    def __init__(self, db: Database) -> None:
        self._db = db

    @cached_property
    def user_by_id(self) -> DataLoader[int, User | None]:
        async def load(ids: list[int]) -> list[User | None]:
            return await user_queries.users_by_ids(self._db, ids)

        return DataLoader(load_fn=load)

    @cached_property
    def user_by_username(self) -> DataLoader[str, User | None]:
        async def load(names: list[str]) -> list[User | None]:
            users = await user_queries.users_by_usernames(self._db, names)
            for user in users:
                if user is not None:
                    self.user_by_id.prime(user.id, user)
            return users

        return DataLoader(load_fn=load, cache_key_fn=str.lower)

    @cached_property
    def user_stats(self) -> DataLoader[int, UserStats]:
        async def load(ids: list[int]) -> list[UserStats]:
            return await user_queries.stats_by_user_ids(self._db, ids)

        return DataLoader(load_fn=load)
