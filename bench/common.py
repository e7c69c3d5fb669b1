"""Shared by the benchmark scripts: where the benchmark database is, and a progress bar."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = os.environ.get("BENCH_DATABASE", "starling_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
PASSWORD = "benchmark password 1"


def database_url(name: str = DATABASE) -> str:
    head, _, _ = ADMIN_URL.rpartition("/")
    return f"{head}/{name}"


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self.started = self.last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last > 0.2 or self.done >= self.total:
            self.last = now
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            rate = self.done / max(now - self.started, 1e-9)
            sys.stderr.write(
                f"\r{self.label:<22} [{bar:<30}] {share:6.1%} {self.done:>11,} {rate:>10,.0f}/s"
            )
            if self.done >= self.total:
                sys.stderr.write(f"  {now - self.started:6.1f}s\n")
            sys.stderr.flush()
