"""Media processing: images a second one media worker handles, and upload -> READY latency.

Photos are 3000 x 2000 JPEGs (a phone's size class), each different so none is stored twice.
Throughput: ``--images`` uploads, then one media worker (``media_worker_concurrency`` jobs at a
time, each decoding in a thread) drains them. Latency: with the worker running, one upload at a
time, polled every 10 ms until READY.

    .venv/bin/python -m bench.media --images 40 --latency 20
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

from arq.worker import Worker
from PIL import Image
from sqlalchemy import text

from bench.common import add_target_arguments, sqlalchemy_url
from starling.config import Settings
from starling.core import Core
from starling.models import MediaStatus
from starling.queries.media import media_by_ids
from starling.services import media
from workers.settings import media_worker_options


def photo(rng: random.Random) -> bytes:
    image = Image.new("RGB", (3000, 2000), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(60):
        x, y = rng.randrange(3000), rng.randrange(2000)
        image.paste(tuple(rng.randrange(256) for _ in range(3)), (x, y, x + 300, y + 200))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(11)
    media_dir = Path(tempfile.mkdtemp(prefix="starling-bench-media-"))
    settings = Settings(
        database_url=sqlalchemy_url(args.database_url),
        redis_url=args.redis_url,
        media_dir=media_dir,
        rate_limit_media_uploads="1000000/60",
    )
    core = await Core.open(settings)
    try:
        [owner] = await core.db.rows(text("SELECT id FROM users ORDER BY id LIMIT 1"))
        photos = [photo(rng) for _ in range(args.images + args.latency)]
        ids = [
            (await media.upload(core, owner.id, data, None)).id for data in photos[: args.images]
        ]
        options = {**media_worker_options(settings, core), "poll_delay": 0.01}
        worker = Worker(**options, burst=True, handle_signals=False)
        started = time.perf_counter()
        await worker.main()
        await worker.close()
        elapsed = time.perf_counter() - started
        ready = [m for m in await media_by_ids(core.db, ids) if m and m.status is MediaStatus.READY]
        print(
            f"processed {len(ready)}/{len(ids)} photos in {elapsed:.1f} s: "
            f"{len(ready) / elapsed:.2f} images/s (concurrency {settings.media_worker_concurrency})"
        )

        worker = Worker(**options, handle_signals=False)
        running = asyncio.create_task(worker.async_run())
        latencies = []
        for data in photos[args.images :]:
            sent = time.perf_counter()
            record = await media.upload(core, owner.id, data, None)
            while True:
                [found] = await media_by_ids(core.db, [record.id])
                if found is not None and found.status in (MediaStatus.READY, MediaStatus.FAILED):
                    break
                await asyncio.sleep(0.01)
            latencies.append((time.perf_counter() - sent) * 1000)
        await worker.close()
        running.cancel()
        latencies.sort()
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        print(
            f"upload -> READY over {len(latencies)} photos: p50 {statistics.median(latencies):.0f} "
            f"ms, p95 {p95:.0f} ms"
        )
    finally:
        await core.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_target_arguments(parser)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--latency", type=int, default=20)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
