"""Media processing, on its own queue (``arq:media``) so a burst of uploads never delays fan-out."""

from __future__ import annotations

from typing import Any

from starling.services import media


async def process_media(ctx: dict[str, Any], media_id: int) -> str | None:
    status = await media.process(ctx["core"], media_id)
    return status.value if status is not None else None
