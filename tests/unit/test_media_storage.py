"""The media storage contract, run against both implementations: local disk (served by the app)
and S3 through the minio SDK against moto's standalone S3 server, started here (a real
S3-protocol server over HTTP: presigned URLs are signed and checked)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from starling.config import Settings
from starling.storage.media import content_key
from starling.storage.media.local import LocalMediaStorage
from tests.support import app_with_media_on, fetch_media

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(params=["local", "s3"])
async def app(
    request: pytest.FixtureRequest, test_settings: Settings, tmp_path: Path
) -> AsyncIterator[Any]:
    s3 = request.getfixturevalue("s3_endpoint") if request.param == "s3" else None
    async with app_with_media_on(request.param, test_settings, tmp_path, s3) as application:
        yield application


async def test_put_read_and_serve(app: Any) -> None:
    storage = app.state.core.media
    key = content_key(PNG, ".png")
    assert key == content_key(PNG, ".png")  # the same bytes, the same key
    assert not await storage.exists(key)
    assert await storage.read(key) is None

    await storage.put(key, PNG, "image/png")
    await storage.put(key, PNG, "image/png")  # again: stored once, nothing changes
    assert await storage.exists(key)
    assert await storage.read(key) == PNG

    served = await fetch_media(app, "GET", await storage.url(key))
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]

    await storage.delete(key)
    await storage.delete(key)  # gone already: fine
    assert not await storage.exists(key)


async def test_a_presigned_upload(app: Any) -> None:
    storage = app.state.core.media
    video = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 4096
    key = content_key(video, ".mp4")
    upload = await storage.presigned_put(key, timedelta(minutes=5))
    sent = await fetch_media(app, "PUT", upload.url, content=video, headers=upload.headers)
    assert sent.status_code == 200, sent.text
    assert await storage.read(key) == video


@pytest.mark.parametrize("app", ["local"], indirect=True)
async def test_local_keys_and_upload_tokens_cannot_be_forged(app: Any) -> None:
    storage = app.state.core.media
    assert isinstance(storage, LocalMediaStorage)
    for key in ("../secret", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError, match="not a media key"):
            storage.path_of(key)
    assert (
        await fetch_media(app, "GET", f"{storage.public_base}/media/..%2F..%2Fsecret")
    ).status_code == 404

    upload = await storage.presigned_put("ab/cd/x.png", timedelta(minutes=5))
    forged = upload.url[:-3] + ("AAA" if not upload.url.endswith("AAA") else "BBB")
    assert (await fetch_media(app, "PUT", forged, content=b"x")).status_code == 403
    expired = await storage.presigned_put("ab/cd/y.png", timedelta(seconds=-1))
    assert (await fetch_media(app, "PUT", expired.url, content=b"x")).status_code == 403
    assert not await storage.exists("ab/cd/y.png")
