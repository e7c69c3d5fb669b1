"""Generated GraphQL requests (schemathesis's GraphQL mode) against a real `starling serve`:
no response may be a 5xx or carry INTERNAL_SERVER_ERROR (issue 8).

Bounded in `make test` (STARLING_FUZZ_EXAMPLES per root field, 10 by default); `make fuzz` runs
a longer campaign. Signed in, so mutations get past UNAUTHENTICATED into the services.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from starling.config import Settings
from tests.support import STARLING, STRONG_PASSWORD, free_port, service_env, wait_ready

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = int(os.environ.get("STARLING_FUZZ_EXAMPLES", "10"))


class Server:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token


@pytest.fixture(scope="module")
def server(test_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = service_env(test_settings, tmp)
    log_path = tmp / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(STARLING), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, log_path)
        registered = httpx.post(
            f"{base}/graphql",
            json={
                "query": 'mutation($p: String!) { register(input: {username: "fuzzer", '
                'email: "fuzzer@example.com", password: $p}) { token } }',
                "variables": {"p": STRONG_PASSWORD},
            },
        ).json()
        yield Server(base, registered["data"]["register"]["token"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_generated_requests_never_fail_on_the_server(server: Server, tmp_path: Path) -> None:
    report = tmp_path / "fuzz.txt"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{server.base}/graphql",
        "--checks",
        "no_internal_errors",
        # Logging out would end the signed-in run early.
        "--exclude-name",
        "Mutation.logout",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        "8",
        "--header",
        f"Authorization: Bearer {server.token}",
        "--workers",
        "1",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz.hooks", "PYTHONPATH": str(ROOT)}
    with report.open("w") as out:
        finished = subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, timeout=900, env=env, cwd=tmp_path
        )
    text = report.read_text()
    print(text[-3000:])
    assert finished.returncode == 0, text[-6000:]
