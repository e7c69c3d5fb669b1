"""OpenSearch configured but down: search answers from PostgreSQL and says so in the response's
``extensions``; the indexing deliveries fail, are kept and retried, and never fail a write.
And ``starling reindex``.

Nothing listens on the configured port, so the client meets a real refused connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import text

from server.app import create_app
from starling.config import Settings
from tests.support import STARLING, Api, free_port, post, run_queued_jobs, service_env

SEARCH = 'query { searchTweets(query: "fallback", sort: LATEST) { edges { node { text } } } }'
USERS = 'query { searchUsers(query: "ada") { edges { node { username } } } }'
AUTOCOMPLETE = 'query { autocomplete(prefix: "ad") { __typename } }'


async def test_search_answers_from_postgres_while_opensearch_is_down(
    test_settings: Settings,
) -> None:
    settings = test_settings.model_copy(
        update={
            "opensearch_url": f"http://127.0.0.1:{free_port()}",
            "opensearch_timeout_seconds": 1,
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://starling.test") as c:
            api = Api(c)
            ada = await api.register("ada")
            await post(api, ada, "fallback works")  # the write stands

            body = await api.post(SEARCH)
            assert body["data"]["searchTweets"]["edges"] == [{"node": {"text": "fallback works"}}]
            note = body["extensions"]["search"]
            assert note["backend"] == "postgres"
            assert note["fallback"] is True
            assert "opensearch is unavailable" in note["reason"]
            for query in (USERS, AUTOCOMPLETE):
                answered = await api.post(query)
                assert "errors" not in answered
                assert answered["extensions"]["search"]["fallback"] is True

            # Each write recorded a delivery for the search consumer; the worker's try failed
            # and the delivery waits for its retry instead of being lost.
            rows = await app.state.core.db.rows(
                text(
                    "SELECT attempts, state, last_error FROM outbox_deliveries "
                    "WHERE consumer = 'search'"
                )
            )
            assert len(rows) == 2  # the registration and the tweet
            core = app.state.core
            await run_queued_jobs(core)
            rows = await core.db.rows(
                text(
                    "SELECT attempts, state, last_error FROM outbox_deliveries "
                    "WHERE consumer = 'search'"
                )
            )
            assert {(r.attempts, r.state) for r in rows} == {(1, "pending")}
            assert all("Connection" in r.last_error for r in rows)


async def test_no_search_note_when_the_configured_backend_answers(api: Api) -> None:
    body = await api.post(SEARCH)
    assert body["data"]["searchTweets"]["edges"] == []
    assert "search" not in body["extensions"]


async def test_reindex_command(test_settings: Settings, tmp_path: Path) -> None:
    """PostgreSQL's search indexes rebuild concurrently, with a progress bar; asking for
    OpenSearch where none is configured says so."""
    env = service_env(test_settings, tmp_path)

    async def reindex(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            str(STARLING), "reindex", *args, env=env, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode is not None
        return process.returncode, err.decode()

    code, err = await reindex("--backend", "postgres")
    assert code == 0, err
    assert "5/5" in err  # every index, on the progress bar
    code, err = await reindex("--backend", "opensearch")
    assert code == 2
    assert "STARLING_OPENSEARCH_URL" in err
