"""Fixtures for tests that drive real JavaScript clients against a real server process."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from starling.config import Settings
from tests.support import STARLING, free_port, service_env, wait_ready

JS = Path(__file__).parent.parent / "js"


@pytest.fixture(scope="module")
def node_packages() -> Path:
    """The JavaScript packages the real clients need, installed from the npm registry."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the JavaScript client tests need Node.js and npm")
    wanted = json.loads((JS / "package.json").read_text())["dependencies"]
    if not all((JS / "node_modules" / name / "package.json").exists() for name in wanted):
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True
        )
    return JS


@pytest.fixture
def server(test_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """A real ``starling serve`` process: the Node client talks HTTP to it."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(STARLING), "serve", "--no-worker", "--port", str(port)],
            env=service_env(test_settings, tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log)
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        process.terminate()
        process.wait(timeout=15)
