"""`starling serve` on a fresh machine: no URLs configured, so it starts embedded PostgreSQL and
Redis, migrates, and serves the README's register -> login -> viewer example over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support import STARLING, STRONG_PASSWORD, free_port, wait_ready


def start_serve(tmp_path: Path, port: int, run: int) -> tuple[subprocess.Popen[bytes], Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update(STARLING_DATA_DIR=str(tmp_path / "var"), STARLING_PORT=str(port))
    log_path = tmp_path / f"serve-{run}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(STARLING), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    wait_ready(f"http://127.0.0.1:{port}", process, log_path)
    return process, log_path


def stop_serve(process: subprocess.Popen[bytes], signum: int) -> None:
    process.send_signal(signum)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def assert_embedded_servers_stopped(tmp_path: Path, log_path: Path) -> None:
    # pg_ctl removes postmaster.pid once PostgreSQL has shut down.
    assert not (tmp_path / "var" / "postgres" / "postmaster.pid").exists()
    socket_path = re.search(r"embedded Redis at (\S+)", log_path.read_text())
    assert socket_path is not None
    with (
        socket.socket(socket.AF_UNIX) as redis_socket,
        pytest.raises((FileNotFoundError, ConnectionRefusedError)),
    ):
        redis_socket.connect(socket_path.group(1))


def test_serve_starts_on_embedded_services_stops_them_and_reuses_the_data(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def graphql(query: str, token: str | None = None) -> dict:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(f"{base}/graphql", json={"query": query}, headers=headers)
        assert response.status_code == 200
        return response.json()

    def login() -> str:
        result = graphql(
            f'mutation {{ login(input: {{usernameOrEmail: "ada", password: "{STRONG_PASSWORD}"}}) '
            "{ token errors { code } } }"
        )
        assert "errors" not in result, result
        return result["data"]["login"]["token"]

    process, log_path = start_serve(tmp_path, port, run=1)
    try:
        assert f"http://127.0.0.1:{port}/graphql" in log_path.read_text()
        assert httpx.get(f"{base}/healthz").json() == {
            "status": "ok",
            "postgres": "ok",
            "redis": "ok",
        }
        registered = graphql(
            'mutation { register(input: {username: "ada", email: "ada@example.com", '
            f'password: "{STRONG_PASSWORD}"}}) {{ token errors {{ code }} }} }}'
        )
        assert registered["data"]["register"]["errors"] == []
        assert graphql("{ viewer { username } }", login())["data"] == {
            "viewer": {"username": "ada"}
        }
        assert (tmp_path / "var" / "postgres" / "PG_VERSION").exists()
    finally:
        stop_serve(process, signal.SIGINT)  # Ctrl-C in `make run`
    assert_embedded_servers_stopped(tmp_path, log_path)

    # A second run finds the first one's data; SIGTERM (a service manager's stop) and SIGHUP (a
    # closed terminal) stop the embedded servers too.
    for run, signum in ((2, signal.SIGTERM), (3, signal.SIGHUP)):
        process, log_path = start_serve(tmp_path, port, run=run)
        try:
            assert graphql("{ viewer { username } }", login())["data"] == {
                "viewer": {"username": "ada"}
            }
        finally:
            stop_serve(process, signum)
        assert_embedded_servers_stopped(tmp_path, log_path)
