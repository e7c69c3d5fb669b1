"""Helpers for talking to the real GraphQL endpoint in tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from schema.node import from_global_id
from starling.config import Settings

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
# The S3 media storage on moto's server (the s3_endpoint fixture).
S3_TEST_SETTINGS = {
    "s3_access_key": "testing",
    "s3_secret_key": "testing",
    "s3_secure": False,
    "s3_region": "us-east-1",
    "s3_bucket": "starling-test-media",
}

STARLING = Path(sys.executable).parent / "starling"
# Tests act fast and from one IP; the rate-limit tests set their own budgets.
UNLIMITED = {
    f"rate_limit_{action}": "1000000/60"
    for action in (
        "posts",
        "follows",
        "likes",
        "bookmarks",
        "logins_per_ip",
        "login_failures_per_account",
        "login_failures_per_account_all_ips",
        "registrations_per_ip",
        "searches",
        "media_uploads",
        "points_per_user",
        "points_per_ip",
    )
}


def service_env(settings: Settings, data_dir: Path) -> dict[str, str]:
    """The environment for a ``starling`` process on the test's database and Redis, with cheap
    password hashing and no rate limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update(
        STARLING_DATABASE_URL=str(settings.database_url),
        STARLING_REDIS_URL=str(settings.redis_url),
        STARLING_DATA_DIR=str(data_dir),
        STARLING_ARGON2_TIME_COST="1",
        STARLING_ARGON2_MEMORY_COST_KIB="64",
        **{f"STARLING_{name.upper()}": value for name, value in UNLIMITED.items()},
    )
    return env


HOME = """
query($first: Int, $after: String) {
  homeTimeline(first: $first, after: $after) {
    edges { cursor node { id text author { username } retweetOf { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def db_id(global_id: str) -> int:
    decoded = from_global_id(global_id)
    assert decoded is not None
    return decoded[1]


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


TWEET_FIELDS = """
  id text createdAt editedAt conversationId
  author { id username }
  replyTo { id } quoted { id } retweetOf { id text }
  hashtags mentions { username }
  likeCount retweetCount replyCount quoteCount bookmarkCount engagementVelocity
  viewerHasLiked viewerHasRetweeted viewerHasBookmarked
  versions { number text }
"""

POST_TWEET = f"""
mutation Post($input: PostTweetInput!) {{
  postTweet(input: $input) {{ tweet {{ {TWEET_FIELDS} }} errors {{ code field message }} }}
}}
"""

TWEET = f"query($id: ID!) {{ tweet(id: $id) {{ {TWEET_FIELDS} }} }}"

PROFILE_TWEETS = """
query($username: String!, $first: Int, $after: String, $replies: Boolean) {
  user(username: $username) {
    tweets(first: $first, after: $after, includeReplies: $replies) {
      edges { cursor node { id text retweetOf { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

ID_ACTIONS = {
    "likeTweet": "tweet { id likeCount viewerHasLiked }",
    "unlikeTweet": "tweet { id likeCount viewerHasLiked }",
    "retweet": "retweet { id retweetOf { id } } tweet { id retweetCount viewerHasRetweeted }",
    "undoRetweet": "tweet { id retweetCount viewerHasRetweeted }",
    "bookmarkTweet": "tweet { id bookmarkCount viewerHasBookmarked }",
    "unbookmarkTweet": "tweet { id bookmarkCount viewerHasBookmarked }",
    "deleteTweet": "deletedId",
    "followUser": "user { username } status",
    "unfollowUser": "user { username } status",
    "approveFollowRequest": "user { username }",
    "rejectFollowRequest": "user { username }",
    "blockUser": "user { username }",
    "unblockUser": "user { username }",
    "muteUser": "user { username }",
    "unmuteUser": "user { username }",
}


async def post(api: Api, account: Account, text: str = "", **fields: Any) -> dict[str, Any]:
    """Post a tweet that must succeed; returns the tweet."""
    payload = await post_payload(api, account, text, **fields)
    assert payload["errors"] == [], payload["errors"]
    return payload["tweet"]


async def post_payload(api: Api, account: Account, text: str = "", **fields: Any) -> dict[str, Any]:
    variables = {"input": {"text": text, **fields}}
    return (await api.data(POST_TWEET, variables, token=account.token))["postTweet"]


async def act(api: Api, account: Account, mutation: str, target_id: str) -> dict[str, Any]:
    """Run an id-taking mutation (likeTweet, followUser, ...); returns its payload."""
    document = (
        f"mutation($id: ID!) {{ {mutation}(id: $id) {{ {ID_ACTIONS[mutation]} "
        "errors { code field message } } }"
    )
    return (await api.data(document, {"id": target_id}, token=account.token))[mutation]


async def ok(api: Api, account: Account, mutation: str, target_id: str) -> dict[str, Any]:
    payload = await act(api, account, mutation, target_id)
    assert payload["errors"] == [], payload["errors"]
    return payload


async def fetch_tweet(api: Api, tweet_id: str, viewer: Account | None = None) -> dict | None:
    return (await api.data(TWEET, {"id": tweet_id}, token=viewer.token if viewer else None))[
        "tweet"
    ]


async def profile_ids(
    api: Api, username: str, viewer: Account | None = None, replies: bool = False
) -> list[str]:
    data = await api.data(
        PROFILE_TWEETS,
        {"username": username, "first": 100, "replies": replies},
        token=viewer.token if viewer else None,
    )
    return [edge["node"]["id"] for edge in data["user"]["tweets"]["edges"]]


def error_codes_of(payload: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(error["code"], error["field"]) for error in payload["errors"]}


async def run_sql(settings: Settings, statement: str, **params: object) -> None:
    """Change the test database behind the API's back (to age rows, or fake a past)."""
    assert settings.database_url
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as connection:
        await connection.execute(text(statement), params)
    await engine.dispose()


@contextlib.asynccontextmanager
async def client_with(settings: Settings, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app started with some settings changed."""
    from server.app import create_app

    app = create_app(settings.model_copy(update=overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://starling.test") as c:
            yield c


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    base_url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60
) -> None:
    """Until a started `starling serve` answers /readyz; fails with its log if it dies."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


async def home_ids(
    api: Api, viewer: Account, first: int = 100, after: str | None = None
) -> list[str]:
    data = await api.data(HOME, {"first": first, "after": after}, viewer.token)
    return [edge["node"]["id"] for edge in data["homeTimeline"]["edges"]]


async def redis_ids(app: Any, viewer: Account) -> list[int] | None:
    """The viewer's home timeline as kept in Redis (None when it is not built)."""
    timelines = app.state.core.timelines
    if not await timelines.is_built(db_id(viewer.id)):
        return None
    return [entry.tweet_id for entry in await timelines.entries(db_id(viewer.id))]


async def run_queued_jobs(core: Any) -> int:
    """Run every queued job with a real arq worker (burst mode) until the queue is empty."""
    from arq.worker import Worker

    from workers.settings import worker_options

    options = {**worker_options(core.settings, core), "cron_jobs": [], "poll_delay": 0.01}
    worker = Worker(**options, burst=True, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker.jobs_complete


@contextlib.asynccontextmanager
async def app_with_media_on(
    storage: str, settings: Settings, tmp_path: Path, s3_endpoint: str | None = None
) -> AsyncIterator[Any]:
    """An app keeping media on local disk under ``tmp_path``, or on moto's S3 server."""
    from server.app import create_app

    overrides: dict[str, Any] = {"media_dir": tmp_path / "media"}
    if storage == "s3":
        overrides |= {"s3_endpoint": s3_endpoint, **S3_TEST_SETTINGS}
    application = create_app(settings.model_copy(update=overrides))
    async with application.router.lifespan_context(application):
        yield application


async def fetch_media(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Local media URLs are the app's own (served in-process here); S3's go over the network."""
    base = app.state.core.settings.resolved_public_url
    if url.startswith(base):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            return await client.request(method, url, **kwargs)
    async with httpx.AsyncClient() as client:
        return await client.request(method, url, **kwargs)


@contextlib.contextmanager
def count_commands(redis: Any) -> Iterator[list[str]]:
    """The names of the commands a Redis client sends one at a time (a pipeline sends its
    own way)."""
    commands: list[str] = []
    execute_command = redis.execute_command

    async def counted(*args: Any, **options: Any) -> Any:
        commands.append(str(args[0]))
        return await execute_command(*args, **options)

    redis.execute_command = counted
    try:
        yield commands
    finally:
        del redis.execute_command
