"""`starling serve` on a fresh machine: no URLs configured, so it starts embedded PostgreSQL and
Redis, migrates, and serves the README's register -> login -> viewer example over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.support import STARLING, STRONG_PASSWORD, free_port, wait_ready


def test_serve_starts_on_embedded_services(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update(STARLING_DATA_DIR=str(tmp_path / "var"), STARLING_PORT=str(port))
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(STARLING), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, process, log_path)

        assert f"http://127.0.0.1:{port}/graphql" in log_path.read_text()
        assert httpx.get(f"{base}/healthz").json() == {
            "status": "ok",
            "postgres": "ok",
            "redis": "ok",
        }

        def graphql(query: str, token: str | None = None) -> dict:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            response = httpx.post(f"{base}/graphql", json={"query": query}, headers=headers)
            assert response.status_code == 200
            return response.json()

        registered = graphql(
            'mutation { register(input: {username: "ada", email: "ada@example.com", '
            f'password: "{STRONG_PASSWORD}"}}) {{ token errors {{ code }} }} }}'
        )
        assert registered["data"]["register"]["errors"] == []
        login = graphql(
            f'mutation {{ login(input: {{usernameOrEmail: "ada", password: "{STRONG_PASSWORD}"}}) '
            "{ token errors { code } } }"
        )
        assert "errors" not in login, login
        token = login["data"]["login"]["token"]
        assert graphql("{ viewer { username } }", token) == {
            "data": {"viewer": {"username": "ada"}}
        }
        assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
