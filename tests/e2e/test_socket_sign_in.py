"""A reconnect storm: sockets signing in together share their reads.

After a deploy thousands of sockets open in a second; each checks its token at connection_init
and again before its operation. The checks of one tick are one MGET (and one statement for the
tokens not cached), and the home timeline's celebrity list is read once for all the sockets
asking while it is read. What each socket learns is what it would alone: the realtime tests
check that through the WebSocket endpoint.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starling.storage import keys, sessions
from tests.e2e.test_dataloaders import count_statements
from tests.support import Api, count_commands, db_id, run_sql

UNKNOWN = "stl_" + "x" * 43


async def test_sockets_signing_in_in_one_tick_make_one_read(
    app: Any, api: Api, test_settings: Any
) -> None:
    accounts = [await api.register(f"storm{n}") for n in range(6)]
    core = app.state.core
    redis = core.redis.main
    # Two sessions are not cached (their first use since the cache expired), one has expired.
    uncached = accounts[:2]
    for account in accounts:
        await redis.delete(_session_key(account.token))
    for account in accounts[2:]:
        await api.data("{ viewer { id } }", token=account.token)  # caches the session
    await run_sql(
        test_settings,
        "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = :id",
        id=db_id(accounts[5].id),
    )
    expired = accounts[5]
    await redis.delete(_session_key(expired.token))
    tokens = [a.token for a in accounts] + [accounts[2].token, UNKNOWN, "not ours"]
    expected = [db_id(a.id) for a in accounts[:5]] + [None, db_id(accounts[2].id), None, None]

    socket_sessions = app.state.socket_sessions
    with count_commands(redis) as commands, count_statements(app) as statements:
        found = await asyncio.gather(*(socket_sessions.user_id_for(t) for t in tokens))
    assert found == expected
    assert commands == ["MGET"]
    assert len(statements) == 1, statements  # the sessions not cached, touched together

    # Now cached (the expired and unknown ones are never cached).
    with count_commands(redis) as commands, count_statements(app) as statements:
        again = await asyncio.gather(*(socket_sessions.user_id_for(t) for t in tokens))
    assert again == expected
    assert commands == ["MGET"]
    assert len(statements) == 1  # the expired and the unknown token are looked for again
    assert await redis.exists(*[_session_key(a.token) for a in uncached]) == len(uncached)


async def test_a_token_is_asked_about_afresh_each_time(app: Any, api: Api) -> None:
    """No answer is kept in the process: a token revoked between two checks is refused."""
    account = await api.register("revoker")
    socket_sessions = app.state.socket_sessions
    assert await socket_sessions.user_id_for(account.token) == db_id(account.id)
    await api.data("mutation { logout { success } }", token=account.token)
    assert await socket_sessions.user_id_for(account.token) is None


async def test_home_subscriptions_opening_together_read_the_celebrities_once(app: Any) -> None:
    timelines = app.state.core.timelines
    await timelines.redis.sadd(keys.CELEBRITIES, 7, 8)
    timelines._celebrities = None  # as at start-up, or when the list is older than a second
    with count_commands(timelines.redis) as commands:
        lists = await asyncio.gather(*(timelines.celebrities() for _ in range(50)))
    assert commands == ["SMEMBERS"]
    assert all(sorted(found) == [7, 8] for found in lists)
    with count_commands(timelines.redis) as commands:
        assert sorted(await timelines.celebrities()) == [7, 8]
    assert commands == []  # fresh for a second


def _session_key(token: str) -> str:
    return keys.session(sessions.hash_token(token).hex())
