"""Sockets whose homeTimeline document this process has seen start start directly.

The first operation with a document starts the normal way (graphql-core validates it and calls
the resolver); the next ones with the same document skip that start (server/live.py,
``run_home_timeline``) and are answered from the shared rendering. Each test opens real
sockets against the app served by uvicorn in this process, with shadow mode off (shadow mode
runs every event the normal way), so it can see which way an operation started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
import websockets

from starling import metrics
from starling.config import Settings
from starling.storage import keys
from tests.realtime_client import Subscription, data_of
from tests.support import Account, Api, db_id, free_port, ok, post

HOME_SUB = "subscription { homeTimeline { id text author { username } } }"
PER_VIEWER_SUB = (
    "subscription Likes { homeTimeline { id text viewerHasLiked author { username } } }"
)


@dataclass
class Served:
    app: Any
    api: Api
    url: str

    def rendering(self) -> Any:
        views = {id(r.endpoint): r.endpoint for r in self.app.routes if r.path == "/graphql"}
        [view] = views.values()
        return view.live_rendering

    async def socket(self, account: Account, query: str, **variables: Any) -> Subscription:
        subscription = Subscription(self.url, "graphql-transport-ws", account.token)
        assert (await subscription.connect())["type"] == "connection_ack"
        await subscription.subscribe(query, variables)
        return subscription

    async def seen(self, account: Account, query: str, **variables: Any) -> Subscription:
        """A first socket sends the document; its operation has started when this returns."""
        subscription = await self.socket(account, query, **variables)
        await until(lambda: self.listening(account))
        return subscription

    async def direct(self, account: Account, query: str) -> Subscription:
        """A socket whose operation starts directly."""
        before = direct_starts()
        subscription = await self.socket(account, query)
        await until(lambda: direct_starts() == before + 1 and self.listening(account))
        return subscription

    def listening(self, account: Account) -> bool:
        hub = self.app.state.hub
        return bool(hub._listeners.get(keys.home_channel(db_id(account.id))))

    async def announce(self, tweet: dict[str, Any], *viewers: Account) -> None:
        """What the worker's fan-out does once the tweet is in these home timelines."""
        events = self.app.state.core.events
        await events.tweet_in_homes([db_id(v.id) for v in viewers], db_id(tweet["id"]))


@pytest.fixture
async def served(test_settings: Settings) -> AsyncIterator[Served]:
    from server.app import create_app

    app = create_app(test_settings.model_copy(update={"compiled_execution_shadow": False}))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    async with app.router.lifespan_context(app):
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                yield Served(app, Api(http), f"ws://127.0.0.1:{port}/graphql")
        finally:
            server.should_exit = True
            await serving


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within 5 s")


def direct_starts() -> float:
    return metrics.LIVE_STARTS.labels("direct")._value.get()  # type: ignore[no-any-return]


async def followers_of_an_author(api: Api) -> tuple[Account, Account, Account]:
    author, first, second = [await api.register(n) for n in ("author", "first", "second")]
    for viewer in (first, second):
        await ok(api, viewer, "followUser", author.id)
    return author, first, second


async def no_message(subscription: Subscription) -> bool:
    try:
        await subscription.next(timeout=0.5)
    except TimeoutError:
        return True
    return False


@pytest.mark.parametrize("query", [HOME_SUB, PER_VIEWER_SUB])
async def test_the_second_socket_with_a_document_starts_directly_and_hears_the_same(
    served: Served, query: str
) -> None:
    author, first, second = await followers_of_an_author(served.api)
    normal = await served.seen(first, query)
    direct = await served.direct(second, query)

    for text in ("one", "two"):
        tweet = await post(served.api, author, text)
        await served.announce(tweet, first, second)
        heard = [await normal.next(), await direct.next()]
        assert heard[0] == heard[1]
        assert data_of(heard[1])["homeTimeline"]["text"] == text
    for subscription in (normal, direct):
        await subscription.close()


async def test_an_event_the_shared_rendering_cannot_answer_goes_the_normal_way(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The direct start hands the event, and the rest of its stream, to the normal execution."""
    author, first, second = await followers_of_an_author(served.api)
    await (await served.seen(first, HOME_SUB)).close()
    direct = await served.direct(second, HOME_SUB)
    rendering = served.rendering()
    rendered = rendering.rendered

    async def cannot(*args: Any) -> None:
        return None

    monkeypatch.setattr(rendering, "rendered", cannot)
    shared_before = metrics.LIVE_SHARED._value.get()
    tweet = await post(served.api, author, "not shareable")
    await served.announce(tweet, second)
    message = await direct.next()
    assert data_of(message)["homeTimeline"] == {
        "id": tweet["id"],
        "text": "not shareable",
        "author": {"username": "author"},
    }
    assert metrics.LIVE_SHARED._value.get() == shared_before  # executed for this socket

    monkeypatch.setattr(rendering, "rendered", rendered)
    tweet = await post(served.api, author, "still listening")
    await served.announce(tweet, second)
    assert data_of(await direct.next())["homeTimeline"]["text"] == "still listening"
    await direct.close()


async def test_logging_out_completes_a_direct_start_and_closes_the_socket(
    served: Served,
) -> None:
    _, first, second = await followers_of_an_author(served.api)
    await (await served.seen(first, HOME_SUB)).close()
    direct = await served.direct(second, HOME_SUB)
    await served.api.data("mutation { logout { success } }", token=second.token)
    assert await direct.next() == {"id": "1", "type": "complete"}
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await direct.next()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_a_client_completing_a_direct_start_ends_it(served: Served) -> None:
    author, first, second = await followers_of_an_author(served.api)
    await (await served.seen(first, HOME_SUB)).close()
    direct = await served.direct(second, HOME_SUB)
    await direct.socket.send(json.dumps({"id": "1", "type": "complete"}))
    await until(lambda: not served.listening(second))
    tweet = await post(served.api, author, "after complete")
    await served.announce(tweet, second)
    assert await no_message(direct)
    # The id is free again.
    await direct.subscribe(HOME_SUB)
    await until(lambda: served.listening(second))
    tweet = await post(served.api, author, "again")
    await served.announce(tweet, second)
    assert data_of(await direct.next())["homeTimeline"]["text"] == "again"
    await direct.close()


async def test_a_document_with_variables_starts_the_normal_way(served: Served) -> None:
    author, first, second = await followers_of_an_author(served.api)
    query = "subscription($t: Boolean!) { homeTimeline { id text @include(if: $t) } }"
    await (await served.seen(first, query, t=True)).close()
    before = direct_starts()
    subscription = await served.socket(second, query, t=False)
    await until(lambda: served.listening(second))
    assert direct_starts() == before
    tweet = await post(served.api, author, "hidden text")
    await served.announce(tweet, second)
    assert data_of(await subscription.next())["homeTimeline"] == {"id": tweet["id"]}
    with contextlib.suppress(Exception):
        await subscription.close()
