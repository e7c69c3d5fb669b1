"""GET /metrics: requests by operation, the event pipeline's state, deliveries; operators only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from starling import metrics
from starling.config import Settings
from tests.support import Api, client_with, ok, post


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests(samples: dict, operation: str, kind: str, outcome: str) -> float:
    labels = (("operation", operation), ("outcome", outcome), ("type", kind))
    return samples.get(("starling_graphql_requests_total", labels), 0.0)


async def test_requests_are_counted_and_timed_by_operation_name(
    api: Api, client: httpx.AsyncClient
) -> None:
    before = await scrape(client)
    ada = await api.register("ada")
    for _ in range(3):
        await api.data('query Profile { user(username: "ada") { id } }')
    await api.post("query Broken { user(username: 1) { id } }")
    await client.post("/graphql", json={"query": "query Unfinished {"})
    await api.data(
        "mutation Like($id: ID!) { likeTweet(id: $id) { errors { code } } }",
        {"id": (await post(api, ada, "x"))["id"]},
        ada.token,
    )
    after = await scrape(client)
    assert (
        requests(after, "Profile", "query", "ok") - requests(before, "Profile", "query", "ok") == 3
    )
    assert (
        requests(after, "Broken", "query", "error") - requests(before, "Broken", "query", "error")
        == 1
    )
    assert (
        requests(after, "invalid", "invalid", "error")
        - requests(before, "invalid", "invalid", "error")
        == 1
    )  # a document that does not parse names no operation
    assert (
        requests(after, "Like", "mutation", "ok") - requests(before, "Like", "mutation", "ok") == 1
    )
    count = (
        "starling_graphql_request_seconds_count",
        (("operation", "Profile"), ("type", "query")),
    )
    assert after[count] - before.get(count, 0) == 3


async def test_pipeline_state_and_deliveries(
    api: Api, client: httpx.AsyncClient, run_jobs: Callable[[], Awaitable[int]]
) -> None:
    ada, grace = await api.register("ada"), await api.register("grace")
    await ok(api, grace, "followUser", ada.id)
    await post(api, ada, "hello")
    waiting = await scrape(client)
    # The follow (timelines, notifications) and the tweet (the same and trends).
    assert waiting[("starling_pipeline_pending", ())] == 5
    assert waiting[("starling_queue_depth", ())] == 5
    assert waiting[("starling_counter_deltas_pending", ())] == 3
    assert waiting[("starling_pipeline_dead_letters", ())] == 0
    done = (("consumer", "timelines"), ("outcome", "done"))
    await run_jobs()
    after = await scrape(client)
    assert after[("starling_pipeline_pending", ())] == 0
    assert after[("starling_queue_depth", ())] == 0
    key = ("starling_event_deliveries_total", done)
    assert after[key] - waiting.get(key, 0) == 2
    lag = ("starling_event_lag_seconds_count", (("consumer", "timelines"),))
    assert after[lag] - waiting.get(lag, 0) == 2


async def test_metrics_are_refused_outside_the_allowed_networks(test_settings: Settings) -> None:
    async with client_with(test_settings, metrics_allow_ips="10.0.0.0/8") as outsider:
        response = await outsider.get("/metrics")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_operation_names_are_a_bounded_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_known_names", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 2)
    assert [metrics.operation_label(n) for n in ("A", "B", "C", "A", None, "x-y")] == [
        "A",
        "B",
        "other",
        "A",
        "anonymous",
        "invalid",
    ]
