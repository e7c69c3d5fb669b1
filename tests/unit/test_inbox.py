"""The hub's per-listener inbox (``starling.storage.events.Inbox``): what asyncio.Queue gave."""

from __future__ import annotations

import asyncio

import pytest

from starling.storage.events import Inbox


async def test_events_come_out_in_order_and_a_waiting_reader_wakes() -> None:
    inbox = Inbox(maxsize=3)
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait(("a", "1"))
    inbox.put_nowait(("a", "2"))
    assert await reader == ("a", "1")
    assert not inbox.empty()
    assert inbox.get_nowait() == ("a", "2")
    assert inbox.empty()
    with pytest.raises(asyncio.QueueEmpty):
        inbox.get_nowait()


async def test_a_full_inbox_refuses_more() -> None:
    inbox = Inbox(maxsize=2)
    inbox.put_nowait(("a", "1"))
    assert not inbox.full()
    inbox.put_nowait(("a", "2"))
    assert inbox.full()
    with pytest.raises(asyncio.QueueFull):
        inbox.put_nowait(("a", "3"))


async def test_a_reader_cancelled_while_waiting_leaves_the_inbox_usable() -> None:
    inbox = Inbox(maxsize=2)
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    inbox.put_nowait(("a", "1"))
    assert await asyncio.wait_for(inbox.get(), 1) == ("a", "1")
