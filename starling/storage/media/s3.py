"""Media on S3 or anything speaking its protocol (MinIO, AWS, R2 ...) through the minio SDK.

The SDK is synchronous (urllib3), so each call runs in a thread. Objects are served from
``STARLING_MEDIA_PUBLIC_URL`` when the bucket is public behind it (a CDN), or by presigned GET
URLs otherwise."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from minio import Minio
from minio.error import S3Error

from starling.storage.media import IMMUTABLE, PresignedUpload

PRESIGNED_GET_FOR = timedelta(hours=12)


class S3MediaStorage:
    name = "s3"

    def __init__(self, client: Minio, bucket: str, public_url: str | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.public_url = public_url.rstrip("/") if public_url else None
        self._bucket_ready = False

    async def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        if not await asyncio.to_thread(self.client.bucket_exists, self.bucket):
            try:
                await asyncio.to_thread(self.client.make_bucket, self.bucket)
            except S3Error as error:
                if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        self._bucket_ready = True

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._ensure_bucket()
        if await self.exists(key):
            return
        await asyncio.to_thread(
            self.client.put_object,
            self.bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type=content_type,
            metadata={"Cache-Control": IMMUTABLE},
        )

    async def exists(self, key: str) -> bool:
        await self._ensure_bucket()
        try:
            await asyncio.to_thread(self.client.stat_object, self.bucket, key)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise
        return True

    async def read(self, key: str) -> bytes | None:
        await self._ensure_bucket()

        def fetch() -> bytes | None:
            try:
                response = self.client.get_object(self.bucket, key)
            except S3Error as error:
                if error.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                    return None
                raise
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(fetch)

    async def delete(self, key: str) -> None:
        await self._ensure_bucket()
        await asyncio.to_thread(self.client.remove_object, self.bucket, key)

    async def url(self, key: str) -> str:
        if self.public_url:
            return f"{self.public_url}/{key}"
        await self._ensure_bucket()
        return await asyncio.to_thread(
            self.client.presigned_get_object, self.bucket, key, PRESIGNED_GET_FOR
        )

    async def presigned_put(self, key: str, expires: timedelta) -> PresignedUpload:
        await self._ensure_bucket()
        url = await asyncio.to_thread(self.client.presigned_put_object, self.bucket, key, expires)
        return PresignedUpload(url)
