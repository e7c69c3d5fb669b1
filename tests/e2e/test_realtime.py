"""Real time end to end: two API processes, a separate worker process, real WebSocket clients.

A follower connected to API process B receives, within a second, a tweet posted through API
process A and fanned out by the worker; notifications arrive live; engagement counts update;
a bad token closes the socket with 4403; logging out ends open subscriptions.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from starling.config import Settings
from starling.services import trends
from tests.realtime_client import PROTOCOLS, Subscription, data_of
from tests.support import STARLING, STRONG_PASSWORD, free_port, run_sql, service_env, wait_ready

HOME_SUB = "subscription { homeTimeline { id text author { username } } }"
NOTIFICATIONS_SUB = "subscription { notifications { kind actorCount actors { username } } }"
ENGAGEMENT_SUB = "subscription($id: ID!) { tweetEngagement(id: $id) { likeCount } }"


class Cluster:
    def __init__(self, settings: Settings, tmp: Path) -> None:
        self.env = service_env(settings, tmp)
        self.ports = [free_port(), free_port()]
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = tmp

    def start(self) -> None:
        binary = str(STARLING)
        commands = [[binary, "serve", "--no-worker", "--port", str(p)] for p in self.ports]
        commands.append([binary, "worker"])
        for index, command in enumerate(commands):
            log = (self.logs / f"process{index}.log").open("w")
            self.processes.append(
                subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
            )
        for index, port in enumerate(self.ports):
            wait_ready(
                f"http://127.0.0.1:{port}", self.processes[index], self.logs / f"process{index}.log"
            )

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.glob("process*.log")))

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def http(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}/graphql"

    def ws(self, index: int) -> str:
        return f"ws://127.0.0.1:{self.ports[index]}/graphql"


@pytest.fixture(scope="module")
def cluster(test_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(test_settings, tmp_path_factory.mktemp("cluster"))
    running.start()
    yield running
    running.stop()


async def gql(
    url: str, query: str, variables: dict | None = None, token: str | None = None
) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            url, json={"query": query, "variables": variables or {}}, headers=headers
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def register(url: str, username: str) -> tuple[str, str]:
    data = await gql(
        url,
        "mutation($u: String!, $e: String!, $p: String!) { register(input: "
        "{username: $u, email: $e, password: $p}) { token user { id } errors { code } } }",
        {"u": username, "e": f"{username}@example.com", "p": STRONG_PASSWORD},
    )
    return data["register"]["token"], data["register"]["user"]["id"]


async def act(url: str, token: str, mutation: str, target: str) -> None:
    data = await gql(
        url, f'mutation {{ {mutation}(id: "{target}") {{ errors {{ code }} }} }}', token=token
    )
    assert data[mutation]["errors"] == []


async def post(url: str, token: str, text: str) -> str:
    data = await gql(
        url,
        "mutation($t: String!) { postTweet(input: {text: $t}) { tweet { id } errors { code } } }",
        {"t": text},
        token,
    )
    return data["postTweet"]["tweet"]["id"]


async def wait_present(settings: Settings, user_global_id: str) -> None:
    """Until the subscribing process has marked the user present (publishers look at this)."""
    from schema.node import from_global_id

    decoded = from_global_id(user_global_id)
    assert decoded is not None
    redis = Redis.from_url(str(settings.redis_url))
    try:
        for _ in range(100):
            if await redis.zscore("presence", str(decoded[1])) is not None:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the subscriber never became present")
    finally:
        await redis.aclose()


async def author_and_follower(cluster: Cluster, author: str, reader: str) -> tuple[str, str, str]:
    """An author registered on process A and a follower on B: tokens, and the follower's id."""
    author_token, author_id = await register(cluster.http(0), author)
    reader_token, reader_id = await register(cluster.http(1), reader)
    await act(cluster.http(1), reader_token, "followUser", author_id)
    return author_token, reader_token, reader_id


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_tweet_posted_on_a_reaches_a_follower_on_b(
    cluster: Cluster, test_settings: Settings, protocol: str
) -> None:
    author_token, reader_token, reader_id = await author_and_follower(cluster, "author", "reader")
    subscription = Subscription(cluster.ws(1), protocol, reader_token)
    assert (await subscription.connect())["type"] == "connection_ack"
    await subscription.subscribe(HOME_SUB)
    await wait_present(test_settings, reader_id)

    started = time.monotonic()
    tweet_id = await post(cluster.http(0), author_token, f"live over {protocol}")
    tweet = data_of(await subscription.next(timeout=5))["homeTimeline"]
    elapsed = time.monotonic() - started
    await subscription.close()
    assert tweet == {
        "id": tweet_id,
        "text": f"live over {protocol}",
        "author": {"username": "author"},
    }
    assert elapsed < 1.0, f"delivered after {elapsed:.2f}s"


async def test_the_graphql_ws_javascript_client_receives_live_tweets(
    cluster: Cluster, test_settings: Settings, node_packages: Path
) -> None:
    """graphql-ws, the client Apollo, urql and Relay use, parses only text frames."""
    author_token, reader_token, reader_id = await author_and_follower(
        cluster, "jsauthor", "jsreader"
    )
    node = await asyncio.create_subprocess_exec(
        "node",
        str(node_packages / "subscribe.cjs"),
        cluster.ws(1),
        reader_token,
        HOME_SUB,
        "{}",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert node.stdout is not None
        assert json.loads(await asyncio.wait_for(node.stdout.readline(), 30)) == {"ready": True}
        await wait_present(test_settings, reader_id)
        tweet_id = await post(cluster.http(0), author_token, "live in javascript")
        out, err = await asyncio.wait_for(node.communicate(), 10)
    finally:
        if node.returncode is None:
            node.kill()
    assert node.returncode == 0, (out + err).decode()
    assert json.loads(out.decode().splitlines()[-1]) == {
        "next": {
            "data": {
                "homeTimeline": {
                    "id": tweet_id,
                    "text": "live in javascript",
                    "author": {"username": "jsauthor"},
                }
            }
        }
    }


LIVE_DOCUMENTS: list[tuple[str, dict[str, Any], bool]] = [
    # (document, variables, whether one rendering serves every socket)
    (HOME_SUB, {}, True),
    (
        "subscription { latest: homeTimeline { __typename ...T } } fragment T on Tweet { id "
        "text createdAt editedAt likeCount retweetCount replyCount quoteCount hashtags author { "
        "id username displayName verified protected followersCount tweetsCount } mentions { "
        "username } }",
        {},
        True,
    ),
    (
        "subscription($full: Boolean!) { homeTimeline { id text @include(if: $full) "
        "author @skip(if: $full) { username } } }",
        {"full": True},
        True,
    ),
    # Per-viewer values: sockets grouped by them, each group rendered once.
    (
        "subscription { homeTimeline { id viewerHasLiked viewerHasBookmarked author { username "
        "viewerIsFollowing followsViewer viewerIsMuting } } }",
        {},
        True,
    ),
    ("subscription { homeTimeline { id conversationId replyTo { id } quoted { id } } }", {}, False),
]


async def test_live_messages_rendered_once_equal_the_per_socket_execution(
    cluster: Cluster, test_settings: Settings
) -> None:
    """graphql-transport-ws sockets share one rendering of an event (per group of equal
    per-viewer values); graphql-ws (legacy) executes the document per socket. Both must send
    each reader the same message, keys in the same order."""
    author_token, author_id = await register(cluster.http(0), "differ")
    readers = [await register(cluster.http(1), f"differ{i}") for i in range(2)]
    for token, _ in readers:
        await act(cluster.http(1), token, "followUser", author_id)
    # The readers differ in one per-viewer value: the author follows only the first.
    await act(cluster.http(0), author_token, "followUser", readers[0][1])
    opened: list[tuple[tuple[str, str], Subscription]] = []
    for query, variables, _ in LIVE_DOCUMENTS:
        for protocol in PROTOCOLS:
            for token, _ in readers:
                subscription = Subscription(cluster.ws(1), protocol, token)
                await subscription.connect()
                await subscription.subscribe(query, variables)
                opened.append(((query, token), subscription))
    for _, reader_id in readers:
        await wait_present(test_settings, reader_id)
    shared_before = await live_shared_messages(cluster.http(1))

    tweet_id = await post(cluster.http(0), author_token, "live #once for @differ0 and #all")
    messages: dict[tuple[str, str], list[str]] = {}
    for query_and_reader, subscription in opened:
        data = data_of(await subscription.next(timeout=5))
        messages.setdefault(query_and_reader, []).append(json.dumps(data))
        await subscription.close()

    for query_and_reader, sent in messages.items():
        assert len(set(sent)) == 1, (query_and_reader, sent)
        assert tweet_id in sent[0]
    grouped = LIVE_DOCUMENTS[3][0]
    first, second = (json.loads(messages[grouped, token][0]) for token, _ in readers)
    assert first["homeTimeline"]["author"]["followsViewer"] is True
    assert second["homeTimeline"]["author"]["followsViewer"] is False
    shareable = sum(1 for *_, shared in LIVE_DOCUMENTS if shared)
    assert await live_shared_messages(cluster.http(1)) - shared_before == shareable * len(readers)


async def live_shared_messages(url: str) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(url.replace("/graphql", "/metrics"))).text
    [line] = [x for x in text.splitlines() if x.startswith("starling_live_shared_messages_total")]
    return float(line.split()[-1])


async def test_notifications_arrive_live(cluster: Cluster, test_settings: Settings) -> None:
    ada_token, ada_id = await register(cluster.http(0), "ada")
    grace_token, _ = await register(cluster.http(1), "grace")
    tweet_id = await post(cluster.http(0), ada_token, "like me")
    subscription = Subscription(cluster.ws(1), "graphql-transport-ws", ada_token)
    await subscription.connect()
    await subscription.subscribe(NOTIFICATIONS_SUB)
    await wait_present(test_settings, ada_id)
    await act(cluster.http(0), grace_token, "likeTweet", tweet_id)
    note = data_of(await subscription.next(timeout=5))["notifications"]
    await subscription.close()
    assert note == {"kind": "LIKE", "actorCount": 1, "actors": [{"username": "grace"}]}


async def test_engagement_counts_update_coalesced(cluster: Cluster) -> None:
    author_token, _ = await register(cluster.http(0), "star")
    tweet_id = await post(cluster.http(0), author_token, "count me")
    fans = [await register(cluster.http(0), f"fan{i}") for i in range(30)]
    subscription = Subscription(cluster.ws(1), "graphql-transport-ws", author_token)
    await subscription.connect()
    await subscription.subscribe(ENGAGEMENT_SUB, {"id": tweet_id})
    assert data_of(await subscription.next())["tweetEngagement"] == {"likeCount": 0}

    await asyncio.gather(*(act(cluster.http(0), token, "likeTweet", tweet_id) for token, _ in fans))
    seen = []
    while not seen or seen[-1] < 30:
        seen.append(data_of(await subscription.next(timeout=3))["tweetEngagement"]["likeCount"])
    await subscription.close()
    assert seen[-1] == 30
    assert len(seen) < 30, f"{len(seen)} messages for 30 likes: not coalesced"
    assert seen == sorted(seen)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_bad_token_closes_the_socket_with_4403(cluster: Cluster, protocol: str) -> None:
    subscription = Subscription(cluster.ws(0), protocol, "stl_not-a-real-token")
    answer = await subscription.connect()
    await subscription.close()
    assert answer == {"type": "closed", "code": 4403} or (
        protocol == "graphql-ws" and answer["type"] == "connection_error"
    ), answer


async def test_subscriptions_need_a_viewer(cluster: Cluster) -> None:
    subscription = Subscription(cluster.ws(0), "graphql-transport-ws", None)
    assert (await subscription.connect())["type"] == "connection_ack"
    await subscription.subscribe(HOME_SUB)
    message = await subscription.next()
    await subscription.close()
    # An error raised by the event stream itself arrives as a result carrying errors.
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]


async def test_logout_ends_open_subscriptions(cluster: Cluster, test_settings: Settings) -> None:
    token, user_id = await register(cluster.http(0), "leaver")
    subscription = Subscription(cluster.ws(1), "graphql-transport-ws", token)
    await subscription.connect()
    await subscription.subscribe(HOME_SUB)
    await wait_present(test_settings, user_id)
    await gql(cluster.http(0), "mutation { logout { success } }", token=token)
    message = await subscription.next(timeout=5)
    await subscription.close()
    assert message["type"] == "complete"


async def test_live_delivery_applies_mutes_and_blocks(
    cluster: Cluster, test_settings: Settings
) -> None:
    reader_token, reader_id = await register(cluster.http(1), "reader")
    muted_token, muted_id = await register(cluster.http(0), "muted")
    blocker_token, blocker_id = await register(cluster.http(0), "blocker")
    friend_token, friend_id = await register(cluster.http(0), "friend")
    for account in (muted_id, blocker_id, friend_id):
        await act(cluster.http(1), reader_token, "followUser", account)
    await act(cluster.http(1), reader_token, "muteUser", muted_id)
    subscription = Subscription(cluster.ws(1), "graphql-transport-ws", reader_token)
    await subscription.connect()
    await subscription.subscribe(HOME_SUB)
    await wait_present(test_settings, reader_id)
    await act(cluster.http(0), blocker_token, "blockUser", reader_id)  # also ends the follow
    await post(cluster.http(0), muted_token, "you muted me")
    await post(cluster.http(0), blocker_token, "you are blocked")
    await asyncio.sleep(0.5)  # both had their chance to arrive
    allowed = await post(cluster.http(0), friend_token, "this one")
    first = data_of(await subscription.next(timeout=5))["homeTimeline"]
    await subscription.close()
    assert first["id"] == allowed


async def closed_code(subscription: Subscription) -> int | None:
    """Read until the server closes the socket; its close code."""
    for _ in range(20):
        try:
            await subscription.next(timeout=5)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    raise AssertionError("the server never closed the socket")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_logout_closes_the_socket_with_4403(cluster: Cluster, protocol: str) -> None:
    token, _ = await register(cluster.http(0), "leaver")
    subscription = Subscription(cluster.ws(1), protocol, token)
    assert (await subscription.connect())["type"] == "connection_ack"
    await gql(cluster.http(0), "mutation { logout { success } }", token=token)
    assert await closed_code(subscription) == 4403


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_operation_on_a_socket_whose_token_died_is_refused(
    cluster: Cluster, test_settings: Settings, protocol: str
) -> None:
    """The token is checked again for every operation, not only at connection_init: here the
    session expires without any logout message reaching the socket."""
    token, _ = await register(cluster.http(0), "expiring")
    subscription = Subscription(cluster.ws(1), protocol, token)
    assert (await subscription.connect())["type"] == "connection_ack"
    await run_sql(test_settings, "UPDATE sessions SET expires_at = now() - interval '1 second'")
    redis = Redis.from_url(str(test_settings.redis_url))
    await redis.delete(*[key async for key in redis.scan_iter("session:*")])
    await redis.aclose()
    await subscription.subscribe(NOTIFICATIONS_SUB)
    assert await closed_code(subscription) == 4403


async def test_engagement_stream_ends_when_the_author_blocks_the_watcher(
    cluster: Cluster,
) -> None:
    author_token, _ = await register(cluster.http(0), "author")
    watcher_token, watcher_id = await register(cluster.http(0), "watcher")
    fan_token, _ = await register(cluster.http(0), "fan")
    tweet_id = await post(cluster.http(0), author_token, "watch me")
    subscription = Subscription(cluster.ws(1), "graphql-transport-ws", watcher_token)
    await subscription.connect()
    await subscription.subscribe(ENGAGEMENT_SUB, {"id": tweet_id})
    assert data_of(await subscription.next())["tweetEngagement"] == {"likeCount": 0}
    await act(cluster.http(0), author_token, "blockUser", watcher_id)
    await act(cluster.http(0), fan_token, "likeTweet", tweet_id)
    message = await subscription.next(timeout=5)
    await subscription.close()
    assert message["type"] == "complete", message


async def test_trends_are_pushed_when_they_change(
    cluster: Cluster, test_settings: Settings, app: Any
) -> None:
    """The refresh (here called by the test, on the same Redis) announces a changed list; a
    socket on another process gets it."""
    subscription = Subscription(cluster.ws(1), "graphql-transport-ws", None)
    await subscription.connect()
    await subscription.subscribe('subscription { trends(region: "NZ") { name userCount } }')
    assert data_of(await subscription.next())["trends"] == []

    fans = [await register(cluster.http(0), f"kiwi{n}") for n in range(5)]
    await run_sql(
        test_settings, "UPDATE users SET region = 'NZ', created_at = now() - interval '9 days'"
    )
    for token, _ in fans:
        await post(cluster.http(0), token, "#allblacks tonight")
    core = app.state.core
    for _ in range(100):  # until the cluster's worker has counted all five
        lists = await trends.refresh(core)
        if lists.get("region:NZ"):
            break
        await asyncio.sleep(0.05)
    pushed = data_of(await subscription.next(timeout=5))["trends"]
    await subscription.close()
    assert pushed == [{"name": "allblacks", "userCount": 5}]
