"""Time-ordered ids that stay exact as Redis sorted-set scores.

An id is ``(milliseconds since EPOCH) << SEQUENCE_BITS | sequence``: 41 + 12 = 53 bits, so every id
is exactly representable as a double (Redis scores) and as a JavaScript number. 41 bits of
milliseconds last 69 years from 2025-01-01. PostgreSQL generates them (``starling_next_id()`` in the
first migration, which must agree with the constants here, from one shared sequence), so any number of API processes and workers can insert
without coordinating worker ids. Ids sort by creation time to the millisecond; within one millisecond
they are unique (up to 4,096 ids) but may not follow creation order, because the sequence wraps.
They are a total order either way, which is what keyset cursors need.
"""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
EPOCH_MS = int(EPOCH.timestamp() * 1000)
SEQUENCE_BITS = 12
MAX_ID = (1 << 53) - 1


def id_timestamp(snowflake: int) -> datetime:
    """When an id was made."""
    return datetime.fromtimestamp(((snowflake >> SEQUENCE_BITS) + EPOCH_MS) / 1000, tz=UTC)


def lowest_id_at(moment: datetime) -> int:
    """The smallest id that could have been made at ``moment`` (for since:/until: bounds)."""
    ms = int(moment.timestamp() * 1000) - EPOCH_MS
    return max(ms, 0) << SEQUENCE_BITS
