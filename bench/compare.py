"""Starling's GraphQL reads side by side with peers over the same database, interleaved rounds.

    .venv/bin/python -m bench.compare [--rounds 3 --seconds 10 --concurrency 1 32]

Starts three servers on the benchmark database (``bench.build_dataset`` first):
  starling     ``starling serve --no-worker`` (port 8800): the documents below over POST /graphql
  raw          ``bench.peers.raw`` (8801): the same reads hand-written, no GraphQL
  postgraphile PostGraphile v4 (8802; ``npm ci`` in bench/peers/postgraphile on first use): the
               profile read as its generated schema spells it (no sessions or visibility rules:
               it reads less than the others, so the ratio flatters it)
then warms timelines (a worker builds each client's), checks that Starling and the raw peer return
the same JSON for the same viewer, loads each target for --warmup seconds uncounted, and runs
wrk (one thread, a Lua script rotating the clients' tokens) round by round: every target in
turn for each read and concurrency, so drift over time hits all of them alike. Prints req/s, p50/p99, the server's CPU per request and the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench.common import DATA_DIR, add_target_arguments, sqlalchemy_url

HOME = """query Home { homeTimeline(first: 20) { edges { cursor node {
  id text createdAt author { id username displayName }
  likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted viewerHasBookmarked
} } pageInfo { hasNextPage endCursor } } }"""
PROFILE = """query Profile($username: String!) { user(username: $username) {
  id username followersCount tweets(first: 20) { edges { node {
    id text createdAt author { id username displayName }
    likeCount retweetCount replyCount viewerHasLiked viewerHasRetweeted viewerHasBookmarked
} } } } }"""
POSTGRAPHILE_PROFILE = """query Profile($username: String!) {
  allUsers(condition: {username: $username}, first: 1) { nodes {
    id username userStatByUserId { followersCount }
    tweetsByAuthorId(first: 20, orderBy: ID_DESC, condition: {deletedAt: null, replyToTweetId: null}) {
      nodes { id text createdAt userByAuthorId { id username displayName }
        tweetStatByTweetId { likeCount retweetCount replyCount } } } } } }"""
PORTS = {"starling": 8800, "raw": 8801, "postgraphile": 8802}
PEERS_DIR = Path(__file__).resolve().parent / "peers"
STARLING = Path(sys.executable).parent / "starling"
LUA = """
local requests = {}
local next_one = 1
init = function(args)
  for line in io.lines(args[1]) do
    local method, path, token, body = line:match("^(%S+)\\t(%S+)\\t(%S*)\\t(.*)$")
    local headers = {["Content-Type"] = "application/json"}
    if token ~= "" then headers["Authorization"] = "Bearer " .. token end
    if body == "" then body = nil end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  next_one = math.random(#requests)
end
request = function()
  next_one = next_one % #requests + 1
  return requests[next_one]
end
"""


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    failed: int


def requests_file(target: str, read: str, clients: list[tuple[str, str]]) -> str:
    """One request a line (method, path, token, body) for each client, for the Lua script."""
    lines = []
    for i, (_username, token) in enumerate(clients):
        other = clients[(i * 7 + 3) % len(clients)][0]  # someone's profile, not always one's own
        if target == "raw":
            path = "/home" if read == "home" else f"/profile?username={other}"
            lines.append(f"GET\t{path}\t{token}\t")
            continue
        if target == "postgraphile":
            body = {"query": POSTGRAPHILE_PROFILE, "variables": {"username": other}}
            lines.append(f"POST\t/graphql\t\t{json.dumps(body)}")
            continue
        document = HOME if read == "home" else PROFILE
        variables = {} if read == "home" else {"username": other}
        lines.append(
            f"POST\t/graphql\t{token}\t{json.dumps({'query': document, 'variables': variables})}"
        )
    return "\n".join(lines) + "\n"


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """req/s, p50 ms, p99 ms, requests, failed requests from ``wrk --latency``."""

    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = (int(bad.group(1)) if bad else 0) + (
        sum(int(g) for g in errors.groups()) if errors else 0
    )
    return rps, p50, p99, total, failed


def run_wrk(
    port: int,
    read: str,
    target: str,
    concurrency: int,
    seconds: float,
    clients: list[tuple[str, str]],
) -> tuple[float, float, float, int, int]:
    with tempfile.TemporaryDirectory() as scratch:
        script, lines = Path(scratch) / "rotate.lua", Path(scratch) / "requests.tsv"
        script.write_text(LUA)
        lines.write_text(requests_file(target, read, clients))
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{round(seconds)}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}/",
                "--",
                str(lines),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return parse_wrk(output)


def family_cpu(process: psutil.Process) -> float:
    """CPU seconds of a server and its children (uvicorn and node both run in one process, but
    npm and the shell may sit above them)."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = p.cpu_times()
            total += times.user + times.system
    return total


@contextlib.contextmanager
def servers(args: argparse.Namespace, targets: list[str]) -> Iterator[dict[str, psutil.Process]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update(
        STARLING_DATABASE_URL=sqlalchemy_url(args.database_url),
        STARLING_REDIS_URL=args.redis_url,
        DATABASE_URL=args.database_url.replace("postgresql+asyncpg://", "postgresql://"),
    )
    commands = {
        "starling": [str(STARLING), "serve", "--no-worker", "--port", str(PORTS["starling"])],
        "raw": [
            sys.executable,
            "-m",
            "bench.peers.raw",
            "--port",
            str(PORTS["raw"]),
            "--database-url",
            args.database_url,
            "--redis-url",
            args.redis_url,
        ],
        "postgraphile": ["node", "server.cjs"],
    }
    if "postgraphile" in targets and not (PEERS_DIR / "postgraphile" / "node_modules").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=PEERS_DIR / "postgraphile", check=True
        )
    for name in targets:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{PORTS[name]}/", timeout=1)
            raise SystemExit(f"port {PORTS[name]} is taken: stop what listens there first")
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in targets:
            started[name] = subprocess.Popen(
                commands[name],
                env={**env, "PORT": str(PORTS[name])},
                cwd=PEERS_DIR / "postgraphile" if name == "postgraphile" else None,
                stdout=subprocess.DEVNULL,
            )
        for name in targets:
            wait_listening(PORTS[name], started[name])
        yield {name: psutil.Process(p.pid) for name, p in started.items()}
    finally:
        for process in started.values():
            process.terminate()
        for process in started.values():
            process.wait(timeout=30)


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server on port {port} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        time.sleep(0.3)
    raise SystemExit(f"nothing listens on port {port}")


def warm(args: argparse.Namespace, clients: list[tuple[str, str]]) -> None:
    """Every client's home timeline built in Redis (so both Starling and the raw peer read it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update(
        STARLING_DATABASE_URL=sqlalchemy_url(args.database_url), STARLING_REDIS_URL=args.redis_url
    )
    worker = subprocess.Popen([str(STARLING), "worker"], env=env, stdout=subprocess.DEVNULL)
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.load",
                "warm",
                "--url",
                f"http://127.0.0.1:{PORTS['starling']}/graphql",
                "--database-url",
                args.database_url,
                "--redis-url",
                args.redis_url,
            ],
            check=True,
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def same_answers(clients: list[tuple[str, str]]) -> None:
    """The raw peer answers what Starling answers (for a few viewers): a fair comparison."""
    with httpx.Client(timeout=30) as http:
        for username, token in clients[:5]:
            auth = {"authorization": f"Bearer {token}"}
            for read, document, path in (
                ("home", HOME, "/home"),
                ("profile", PROFILE, f"/profile?username={username}"),
            ):
                ours = http.post(
                    f"http://127.0.0.1:{PORTS['starling']}/graphql",
                    json={"query": document, "variables": {"username": username}},
                    headers=auth,
                ).json()
                if read == "home":
                    del ours["data"]["homeTimeline"]["pageInfo"]["hasNextPage"]
                theirs = http.get(f"http://127.0.0.1:{PORTS['raw']}{path}", headers=auth).json()
                if read == "home":
                    del theirs["data"]["homeTimeline"]["pageInfo"]["hasNextPage"]
                if ours["data"] != theirs["data"]:  # Starling may add extensions
                    raise SystemExit(
                        f"the raw peer's {read} differs from Starling's for {username}"
                    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_target_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--reads", nargs="+", default=["home", "profile"])
    parser.add_argument("--targets", nargs="+", default=["starling", "raw", "postgraphile"])
    parser.add_argument("--clients", type=int, default=500, help="tokens rotated by wrk")
    parser.add_argument("--no-warm", action="store_true")
    parser.add_argument(
        "--warmup", type=int, default=3, help="seconds of load per target and read, not counted"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench.compare needs wrk (apt-get install wrk)")
    clients = [
        (line.split("\t")[0], line.split("\t")[2])
        for line in (DATA_DIR / "tokens.tsv").read_text().splitlines()
    ][: args.clients]
    results: dict[tuple[str, str, int], list[Result]] = {}
    with servers(args, args.targets) as processes:
        if not args.no_warm:
            warm(args, clients)
        if "raw" in args.targets:
            same_answers(clients)
        # Caches, prepared statements and plans filled before anything counts: otherwise
        # whichever target runs first pays its warm-up in round 1.
        for read in args.reads:
            for target in args.targets:
                if args.warmup > 0 and (target != "postgraphile" or read == "profile"):
                    run_wrk(PORTS[target], read, target, 32, args.warmup, clients)
        for round_number in range(1, args.rounds + 1):
            for read in args.reads:
                for concurrency in args.concurrency:
                    for target in args.targets:
                        if target == "postgraphile" and read != "profile":
                            continue
                        cpu_before = family_cpu(processes[target])
                        rps, p50, p99, total, failed = run_wrk(
                            PORTS[target], read, target, concurrency, args.seconds, clients
                        )
                        cpu = family_cpu(processes[target]) - cpu_before
                        result = Result(rps, p50, p99, cpu * 1000 / max(total, 1), failed)
                        results.setdefault((read, target, concurrency), []).append(result)
                        print(
                            f"round {round_number} {read:<8} c={concurrency:<3} {target:<13} "
                            f"{rps:8.1f} req/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
                            f"CPU {result.cpu_ms:5.2f} ms/req  failed {failed}",
                            flush=True,
                        )
    report(results, args)


def report(results: dict[tuple[str, str, int], list[Result]], args: argparse.Namespace) -> None:
    print(
        "\n| read | c | target | req/s (rounds) | median p99 ms | CPU ms/req | vs raw | vs PostGraphile |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for read in args.reads:
        for concurrency in args.concurrency:
            medians = {
                target: statistics.median(r.rps for r in runs)
                for (r_read, target, c), runs in results.items()
                if r_read == read and c == concurrency
            }
            for (r_read, target, c), runs in results.items():
                if r_read != read or c != concurrency:
                    continue
                rates = "-".join(
                    f"{r.rps:.0f}"
                    for r in sorted(runs, key=lambda r: r.rps)[:: max(1, len(runs) - 1)]
                )
                ratio = {
                    peer: f"{medians[target] / medians[peer]:.2f}x" if peer in medians else "-"
                    for peer in ("raw", "postgraphile")
                }
                print(
                    f"| {read} | {concurrency} | {target} | {rates} "
                    f"| {statistics.median(r.p99_ms for r in runs):.1f} "
                    f"| {statistics.median(r.cpu_ms for r in runs):.2f} "
                    f"| {ratio['raw']} | {ratio['postgraphile']} |"
                )


if __name__ == "__main__":
    main()
