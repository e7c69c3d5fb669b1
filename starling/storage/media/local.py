"""Media on local disk, under ``STARLING_MEDIA_DIR`` (``var/media``), served by the app at
``/media/<key>``. Large uploads go to ``/media-uploads/<token>``: a token signed with the secret
key names the object and when it expires, so only what the server presigned can be written."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from starling.storage.media import MAX_KEY_LENGTH, PresignedUpload

UPLOAD_PATH = "/media-uploads/"


class LocalMediaStorage:
    name = "local"

    def __init__(self, root: Path, public_base: str, secret: str) -> None:
        self.root = root
        self.public_base = public_base.rstrip("/")
        self._secret = secret.encode()

    def path_of(self, key: str) -> Path:
        """The file of ``key``; a key that would leave the root is refused."""
        if not key or len(key) > MAX_KEY_LENGTH or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"not a media key: {key!r}")
        return self.root / key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self.path_of(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, then renamed: a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as partial:
            partial.write(data)
        os.replace(partial.name, path)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)

    async def read(self, key: str) -> bytes | None:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)

    async def url(self, key: str) -> str:
        self.path_of(key)
        return f"{self.public_base}/media/{key}"

    async def presigned_put(self, key: str, expires: timedelta) -> PresignedUpload:
        self.path_of(key)
        claims = json.dumps({"k": key, "e": int(time.time() + expires.total_seconds())})
        payload = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
        return PresignedUpload(f"{self.public_base}{UPLOAD_PATH}{payload}.{self._sign(payload)}")

    def key_of_upload(self, token: str) -> str | None:
        """The key a presigned upload token names, if the token is genuine and unexpired."""
        payload, _, signature = token.rpartition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        if not isinstance(claims, dict) or claims.get("e", 0) < time.time():
            return None
        key = claims.get("k")
        return key if isinstance(key, str) else None

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
