"""Ids are made by PostgreSQL, increase with time, and stay exact as Redis scores (< 2**53)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from starling import ids
from starling.config import Settings


async def test_ids_are_unique_increasing_and_53_bit(test_settings: Settings) -> None:
    assert test_settings.database_url
    engine = create_async_engine(test_settings.database_url)
    async with engine.connect() as connection:
        # 4000 ids in one statement land within a few milliseconds of each other.
        made = list(
            (
                await connection.execute(
                    text("SELECT starling_next_id() FROM generate_series(1, 4000)")
                )
            ).scalars()
        )
    await engine.dispose()
    assert len(set(made)) == len(made)
    # Milliseconds never go back; within one millisecond the 12-bit sequence may wrap, so ids of
    # the same millisecond are unique but not necessarily in creation order.
    milliseconds = [i >> ids.SEQUENCE_BITS for i in made]
    assert milliseconds == sorted(milliseconds)
    assert all(0 < i <= ids.MAX_ID for i in made)
    assert all(float(i) == i for i in made)  # exact as a double
    now = datetime.now(UTC)
    assert abs(ids.id_timestamp(made[-1]) - now) < timedelta(seconds=5)


def test_lowest_id_at_bounds_ids_of_that_moment() -> None:
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    low = ids.lowest_id_at(moment)
    assert ids.id_timestamp(low) == moment
    assert ids.id_timestamp(low + 4095) == moment
    assert ids.id_timestamp(low + 4096) > moment
