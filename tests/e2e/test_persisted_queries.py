"""The API edge: automatic persisted queries (also with Apollo Client's real link), persisted
documents, API clients restricted to their registered documents, and points budgets."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse, validate

from schema.build import build_schema
from starling.config import Settings
from starling.services import api_clients
from tests.support import (
    STARLING,
    Api,
    client_with,
    service_env,
)

JS = Path(__file__).parent.parent / "js"
WHO = "query Who($name: String!) { user(username: $name) { username } }"
WHO_HASH = hashlib.sha256(WHO.encode()).hexdigest()
PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": WHO_HASH}}


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_automatic_persisted_queries_over_post_and_get(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.register("ada")
    variables = {"name": "ada"}

    miss = await client.post("/graphql", json={"variables": variables, "extensions": PERSISTED})
    assert miss.status_code == 200  # what Apollo's link waits for before sending the text
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert code(miss.json()) == "PERSISTED_QUERY_NOT_FOUND"

    learnt = await client.post(
        "/graphql", json={"query": WHO, "variables": variables, "extensions": PERSISTED}
    )
    assert learnt.json()["data"] == {"user": {"username": "ada"}}

    hit = await client.get(
        "/graphql",
        params={"variables": json.dumps(variables), "extensions": json.dumps(PERSISTED)},
    )
    assert hit.status_code == 200
    assert hit.json()["data"] == {"user": {"username": "ada"}}
    posted_hit = await client.post(
        "/graphql", json={"variables": variables, "extensions": PERSISTED}
    )
    assert posted_hit.json()["data"] == {"user": {"username": "ada"}}

    # As a GraphQL-over-HTTP persisted document, by the same hash.
    by_id = await client.post(
        "/graphql", json={"documentId": f"sha256:{WHO_HASH}", "variables": variables}
    )
    assert by_id.json()["data"] == {"user": {"username": "ada"}}

    wrong = await client.post(
        "/graphql",
        json={
            "query": "{ viewer { id } }",
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": WHO_HASH}},
        },
    )
    assert wrong.status_code == 400
    for persisted in ({"version": 2, "sha256Hash": WHO_HASH}, {"version": 1, "sha256Hash": "x"}):
        refused = await client.post("/graphql", json={"extensions": {"persistedQuery": persisted}})
        assert refused.status_code == 400
        assert code(refused.json()) == "BAD_USER_INPUT"
    unknown = await client.post("/graphql", json={"documentId": "sha256:" + "0" * 64})
    assert unknown.status_code == 400
    assert code(unknown.json()) == "PERSISTED_QUERY_NOT_FOUND"
    both = await client.post("/graphql", json={"documentId": "x", "query": WHO})
    assert both.status_code == 400


async def test_the_learnt_documents_are_bounded(test_settings: Settings) -> None:
    async with client_with(test_settings, apq_max_documents=2, apq_max_document_bytes=200) as c:
        queries = [f"{{ a{n}: __typename }}" for n in range(3)]
        for query in queries:
            sha = hashlib.sha256(query.encode()).hexdigest()
            extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
            answered = await c.post("/graphql", json={"query": query, "extensions": extensions})
            assert "errors" not in answered.json()

        async def known(query: str) -> bool:
            sha = hashlib.sha256(query.encode()).hexdigest()
            extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
            body = (await c.post("/graphql", json={"extensions": extensions})).json()
            return "errors" not in body

        assert [await known(q) for q in queries] == [False, True, True]  # the oldest went
        big = "{ " + " ".join(f"f{n}: __typename" for n in range(30)) + " }"
        sha = hashlib.sha256(big.encode()).hexdigest()
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
        assert (
            "errors"
            not in (await c.post("/graphql", json={"query": big, "extensions": extensions})).json()
        )
        assert not await known(big)  # answered, not kept: too big


def _validator() -> Any:
    schema = build_schema(Settings())._schema

    def problems(document: str) -> list[str]:
        return [error.message for error in validate(schema, parse(document))]

    return problems


async def test_a_third_party_key_runs_only_its_registered_documents(
    api: Api, app: Any, client: httpx.AsyncClient
) -> None:
    await api.register("ada")
    core = app.state.core
    partner = await api_clients.create_client(core, "partner")
    await api_clients.create_client(core, "other")
    await api_clients.register_documents(core, "partner", {"who": WHO}, _validator())
    await api_clients.register_documents(
        core, "other", {"typename": "{ __typename }"}, _validator()
    )
    as_partner = {"x-starling-client": partner.key}
    variables = {"name": "ada"}

    async def send(payload: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        return await client.post("/graphql", json=payload, headers=headers)

    ran = await send({"documentId": "who", "variables": variables}, as_partner)
    assert ran.json()["data"] == {"user": {"username": "ada"}}
    by_hash = await send({"documentId": f"sha256:{WHO_HASH}", "variables": variables}, as_partner)
    assert by_hash.json()["data"] == {"user": {"username": "ada"}}
    apq = await send({"variables": variables, "extensions": PERSISTED}, as_partner)
    assert apq.json()["data"] == {"user": {"username": "ada"}}

    free = await send({"query": WHO, "variables": variables}, as_partner)
    assert free.status_code == 403
    assert code(free.json()) == "FORBIDDEN"
    teaching = await send(
        {"query": "{ __typename }", "extensions": _persisted("{ __typename }")}, as_partner
    )
    assert teaching.status_code == 403
    someone_elses = await send({"documentId": "typename"}, as_partner)
    assert code(someone_elses.json()) == "PERSISTED_QUERY_NOT_FOUND"
    # First-party requests may run any registered document.
    first_party = await send({"documentId": "typename"}, {})
    assert first_party.json()["data"] == {"__typename": "Query"}

    unknown = await send({"documentId": "who"}, {"x-starling-client": "stc_nope"})
    assert unknown.status_code == 401
    assert code(unknown.json()) == "UNAUTHENTICATED"

    with pytest.raises(api_clients.ManifestError, match="nothing"):
        await api_clients.register_documents(
            core, "partner", {"bad": "{ nothing }", "good": "{ __typename }"}, _validator()
        )
    not_registered = await send({"documentId": "good"}, as_partner)
    assert code(not_registered.json()) == "PERSISTED_QUERY_NOT_FOUND"  # all or none


def _persisted(query: str) -> dict[str, Any]:
    sha = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


async def test_budgets_trip_with_the_right_code_and_headers(
    test_settings: Settings, app: Any
) -> None:
    core = app.state.core
    partner = await api_clients.create_client(
        core, "small-plan", points_per_hour=3, trusted_documents_only=False
    )
    async with client_with(
        test_settings, rate_limit_points_per_ip="2/3600", rate_limit_points_per_user="1000/3600"
    ) as c:
        page = "{ a: __typename b: __typename }"
        first = await c.post("/graphql", json={"query": page})
        cost = first.json()["extensions"]["cost"]
        assert cost["requested"] == 0
        assert cost["points"] == 1  # at least one a request
        assert cost["actual"] == 1  # the root object
        assert cost["limit"] == 2
        assert cost["remaining"] == 1
        assert first.headers["RateLimit-Limit"] == "2"
        assert first.headers["RateLimit-Remaining"] == "1"

        await c.post("/graphql", json={"query": page})
        refused = await c.post("/graphql", json={"query": page})
        assert refused.status_code == 200
        assert code(refused.json()) == "RATE_LIMITED"
        assert refused.json()["errors"][0]["extensions"]["retryAfter"] >= 1
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["RateLimit-Remaining"] == "0"

        # A client spends from its own plan, not the IP's.
        as_partner = {"x-starling-client": partner.key}
        spent = [
            (await c.post("/graphql", json={"query": page}, headers=as_partner)).json()
            for _ in range(4)
        ]
        assert [body["extensions"]["cost"]["remaining"] for body in spent[:3]] == [2, 1, 0]
        assert code(spent[3]) == "RATE_LIMITED"


async def run_node(script: Path, *args: str) -> Any:
    """Run a Node script; what it printed last, as JSON."""
    node = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(node.communicate(), 120)
    assert node.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_apollo_clients_persisted_query_link(
    node_packages: Path, server: str, api: Api
) -> None:
    await api.register("ada")
    seen = await run_node(node_packages / "apq.cjs", server)
    assert seen["first"] == {"user": {"username": "ada", "__typename": "User"}}
    assert seen["second"] == seen["first"]
    # miss (hash only, GET) -> register (text, POST) -> hit (hash only, GET)
    assert [(c["method"], c["status"]) for c in seen["calls"]] == [
        ("GET", 200),
        ("POST", 200),
        ("GET", 200),
    ]
    assert seen["calls"][0]["body"]["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


async def test_clients_and_documents_from_the_command_line(
    test_settings: Settings, tmp_path: Path, api: Api, client: httpx.AsyncClient
) -> None:
    await api.register("ada")
    env = service_env(test_settings, tmp_path)

    async def starling(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            str(STARLING),
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    status, key, _ = await starling("clients", "create", "mobile", "--points-per-hour", "100")
    assert status == 0
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": WHO_HASH, "name": "Who", "type": "query", "body": WHO}],
            }
        )
    )
    status, out, err = await starling("documents", "push", str(manifest), "--client", "mobile")
    assert status == 0, err
    assert "1 documents registered" in out

    headers = {"x-starling-client": key.strip()}
    ran = await client.post(
        "/graphql",
        json={"documentId": WHO_HASH, "variables": {"name": "ada"}},
        headers=headers,
    )
    assert ran.json()["data"] == {"user": {"username": "ada"}}
    assert ran.json()["extensions"]["cost"]["limit"] == 100

    manifest.write_text(json.dumps({"broken": "{ user { nope } }"}))
    status, _, err = await starling("documents", "push", str(manifest), "--client", "mobile")
    assert status == 1
    assert "nothing registered" in err


async def test_the_graphql_over_http_audit_passes(node_packages: Path, server: str) -> None:
    """graphql-http's auditServer: every MUST and every SHOULD of the GraphQL-over-HTTP spec."""
    audit = await run_node(node_packages / "audit.mjs", server)
    assert audit["problems"] == []
    assert audit["counts"]["warn"] == audit["counts"]["error"] == 0
    assert audit["counts"]["ok"] >= 50
