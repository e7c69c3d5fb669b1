"""Where media bytes live, behind one interface: ``local`` (a directory, served by the app at
``/media/...``; the default) and ``s3`` (any S3-compatible store through the minio SDK).

Keys are content-addressed: derived from the SHA-256 of the bytes (``content_key``), so the same
file uploaded twice is stored once and serves the same URLs, and a stored object never changes
(hence immutable cache headers). Both implementations run the same contract suite
(tests/unit/test_media_storage.py).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

MAX_KEY_LENGTH = 255
IMMUTABLE = "public, max-age=31536000, immutable"


def content_key(data: bytes, suffix: str) -> str:
    """``ab/cd/<sha256><suffix>``: spread over directories, named by what it holds."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}{suffix}"


def content_type_of(key: str) -> str:
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class PresignedUpload:
    """Where a client PUTs a large file itself, and the headers it must send."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)


class MediaStorage(Protocol):
    name: str

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` (a no-op when it is there: keys name their content)."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def read(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None:
        """Remove the object; nothing when it is not there."""
        ...

    async def url(self, key: str) -> str:
        """Where clients download it (public, or presigned when the bucket is private)."""
        ...

    async def presigned_put(self, key: str, expires: timedelta) -> PresignedUpload: ...
