"""Media end to end, on local disk and on S3 (moto's server): a multipart upload (the GraphQL
multipart request spec, as Apollo upload clients send it) is checked by its bytes, processed by
a media-queue worker into variants, downloadable at its stated size and type, and attached to a
tweet."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from arq.worker import Worker
from PIL import Image

from starling.config import Settings
from starling.services import media
from tests.support import Account, Api, app_with_media_on, fetch_media, post, run_sql
from workers.settings import media_worker_options

UPLOAD = """mutation($file: Upload!, $alt: String) {
  uploadMedia(file: $file, altText: $alt) { media { id status } errors { code field message } }
}"""
MEDIA = """query($id: ID!) { node(id: $id) { ... on Media {
  id kind status failureReason altText width height blurhash url
  variants { name format width height url } } } }"""
SIZES = {"thumb": 150, "small": 680, "medium": 1200, "large": 2048}


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 40, 40))
    for x in range(0, width, 50):  # some detail, so the encoders have work to do
        image.paste((30, 30, 200), (x, 0, x + 10, height))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker that should not leak"
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(width: int, height: int, color: tuple[int, ...] = (0, 128, 0, 128)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A few bytes declaring a huge image (the pixels are never sent)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(params=["local", "s3"])
async def app(
    request: pytest.FixtureRequest, test_settings: Settings, tmp_path: Path
) -> AsyncIterator[Any]:
    s3 = request.getfixturevalue("s3_endpoint") if request.param == "s3" else None
    async with app_with_media_on(request.param, test_settings, tmp_path, s3) as application:
        yield application


async def upload(
    client: httpx.AsyncClient,
    account: Account,
    data: bytes,
    alt: str | None = None,
    *,
    name: str = "photo.jpg",
    preflight: bool = True,
) -> httpx.Response:
    operations = {"query": UPLOAD, "variables": {"file": None, "alt": alt}}
    headers = {"authorization": f"Bearer {account.token}"}
    if preflight:
        headers["apollo-require-preflight"] = "true"
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, data, "application/octet-stream")},
        headers=headers,
    )


async def uploaded(client: httpx.AsyncClient, account: Account, data: bytes, **kw: Any) -> str:
    body = (await upload(client, account, data, **kw)).json()
    assert body["data"]["uploadMedia"]["errors"] == [], body
    assert body["data"]["uploadMedia"]["media"]["status"] == "PENDING"
    return str(body["data"]["uploadMedia"]["media"]["id"])


async def process_all(app: Any) -> None:
    core = app.state.core
    options = {**media_worker_options(core.settings, core), "poll_delay": 0.01}
    worker = Worker(**options, burst=True, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()


async def download(app: Any, url: str) -> httpx.Response:
    return await fetch_media(app, "GET", url)


async def test_an_image_is_processed_into_variants_and_attached(
    api: Api, client: httpx.AsyncClient, app: Any
) -> None:
    ada = await api.register("ada")
    # 3000 x 2000 pixels as stored, shown turned a quarter (EXIF orientation 6): 2000 x 3000.
    media_id = await uploaded(client, ada, jpeg(3000, 2000, orientation=6), alt="A red wall")
    too_soon = (
        await api.post(
            'mutation($m: ID!) { postTweet(input: {text: "look", mediaIds: [$m]}) { errors { code } } }',
            {"m": media_id},
            token=ada.token,
        )
    )["data"]["postTweet"]["errors"]
    assert too_soon == [{"code": "MEDIA_NOT_READY"}]

    await process_all(app)
    media = (await api.data(MEDIA, {"id": media_id}, token=ada.token))["node"]
    assert media["status"] == "READY"
    assert (media["width"], media["height"]) == (2000, 3000)
    assert media["altText"] == "A red wall"
    assert media["kind"] == "IMAGE"
    assert media["blurhash"]
    variants = {(v["name"], v["format"]): v for v in media["variants"]}
    assert set(variants) == {(n, f) for n in SIZES for f in ("webp", "jpeg")}
    for (name, fmt), variant in variants.items():
        longest = SIZES[name]
        expected = (longest, longest) if name == "thumb" else (longest * 2 // 3, longest)
        assert (variant["width"], variant["height"]) == expected, name
        served = await download(app, variant["url"])
        assert served.status_code == 200
        assert served.headers["content-type"] == f"image/{fmt}"
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.size == expected
            assert image.format == fmt.upper()
            assert not image.getexif()  # every piece of metadata stripped
            if fmt == "jpeg":
                assert image.info.get("progressive") or image.info.get("progression")
    assert media["url"] == variants[("large", "jpeg")]["url"]

    bob = await api.register("bob")
    foreign = (
        await api.post(
            'mutation($m: ID!) { postTweet(input: {text: "mine?", mediaIds: [$m]}) { errors { code } } }',
            {"m": media_id},
            token=bob.token,
        )
    )["data"]["postTweet"]["errors"]
    assert foreign == [{"code": "NOT_FOUND"}]
    assert (await api.data(MEDIA, {"id": media_id}, token=bob.token))["node"] is None

    tweet = await post(api, ada, "look", mediaIds=[media_id])
    shown = await api.data(
        "query($id: ID!) { tweet(id: $id) { media { id status variants { name } } } }",
        {"id": tweet["id"]},
    )
    assert [m["id"] for m in shown["tweet"]["media"]] == [media_id]


async def test_the_same_bytes_are_stored_once(
    api: Api, client: httpx.AsyncClient, app: Any
) -> None:
    ada = await api.register("ada")
    small = png(100, 80)
    first, second = [await uploaded(client, ada, small, name="a.png") for _ in range(2)]
    await process_all(app)
    urls = []
    for media_id in (first, second):
        media = (await api.data(MEDIA, {"id": media_id}, token=ada.token))["node"]
        assert media["status"] == "READY"
        # The stored objects, not their addresses: S3's are signed, and differ from second to second.
        urls.append(sorted(urlsplit(v["url"]).path for v in media["variants"]))
        # Never upscaled: a 100 x 80 image stays 100 x 80; its thumb is an 80 x 80 crop.
        sizes = {(v["name"], v["width"], v["height"]) for v in media["variants"]}
        assert sizes == {("thumb", 80, 80), *((n, 100, 80) for n in ("small", "medium", "large"))}
    assert first != second
    assert urls[0] == urls[1]


async def test_bad_uploads_are_refused_with_codes(
    api: Api, client: httpx.AsyncClient, app: Any
) -> None:
    ada = await api.register("ada")

    async def codes(data: bytes, **kw: Any) -> list[tuple[str, str | None]]:
        body = (await upload(client, ada, data, **kw)).json()
        return [(e["code"], e["field"]) for e in body["data"]["uploadMedia"]["errors"]]

    assert await codes(b"just some text, named like a picture", name="x.png") == [
        ("UNSUPPORTED_MEDIA_TYPE", "file")
    ]
    assert await codes(b"%PDF-1.7 not a picture", name="v.mp4") == [
        ("UNSUPPORTED_MEDIA_TYPE", "file")
    ]
    assert await codes(png_bomb(30_000, 30_000), name="bomb.png") == [("MEDIA_TOO_LARGE", "file")]
    big = app.state.core.settings.media_max_image_bytes
    assert await codes(b"\xff\xd8\xff\xe0" + b"\0" * big) == [("MEDIA_TOO_LARGE", "file")]
    assert await codes(png(10, 10), alt="x" * 1001) == [("TOO_LONG", "altText")]
    refused = await upload(client, ada, png(10, 10), preflight=False)
    assert refused.status_code == 400
    assert "Apollo-Require-Preflight" in refused.json()["errors"][0]["message"]


async def test_a_damaged_image_fails_with_a_reason_and_nothing_half_written(
    api: Api, client: httpx.AsyncClient, app: Any
) -> None:
    ada = await api.register("ada")
    whole = jpeg(800, 600)
    cut = await upload(client, ada, whole[: len(whole) // 3])  # the header, then nothing
    assert cut.json()["data"]["uploadMedia"]["errors"] == [
        {
            "code": "INVALID_MEDIA",
            "field": "file",
            "message": "The file is cut short (the upload was truncated).",
        }
    ]
    # Complete, but damaged inside: accepted, then the worker cannot decode it.
    noisy = io.BytesIO()
    Image.effect_noise((200, 200), 64).convert("RGB").save(noisy, "PNG")
    damaged = bytearray(noisy.getvalue())
    start = damaged.find(b"IDAT") + 200
    damaged[start : start + 60] = bytes(b ^ 0x5A for b in damaged[start : start + 60])
    media_id = await uploaded(client, ada, bytes(damaged), name="noise.png")
    await process_all(app)
    media = (await api.data(MEDIA, {"id": media_id}, token=ada.token))["node"]
    assert media["status"] == "FAILED"
    assert "damaged or truncated" in media["failureReason"]
    assert media["variants"] == []
    assert media["url"] is None


CREATE = """mutation($type: String!, $size: Int!) {
  createMediaUpload(input: {contentType: $type, size: $size}) {
    media { id status } uploadUrl headers { name value } errors { code field } } }"""
FINALIZE = """mutation($id: ID!) { finalizeMediaUpload(id: $id) {
  media { id status width height } errors { code field } } }"""


async def test_a_large_file_goes_straight_to_storage(
    api: Api, client: httpx.AsyncClient, app: Any
) -> None:
    ada = await api.register("ada")
    photo = jpeg(1600, 900)
    created = (await api.data(CREATE, {"type": "image/jpeg", "size": len(photo)}, ada.token))[
        "createMediaUpload"
    ]
    assert created["errors"] == []
    media_id = created["media"]["id"]
    finalize = {"id": media_id}
    early = (await api.data(FINALIZE, finalize, ada.token))["finalizeMediaUpload"]["errors"]
    assert early == [{"code": "MEDIA_NOT_UPLOADED", "field": "id"}]

    headers = {h["name"]: h["value"] for h in created["headers"]}
    base = app.state.core.settings.resolved_public_url
    if created["uploadUrl"].startswith(base):
        put = await client.put(
            created["uploadUrl"].removeprefix(base), content=photo, headers=headers
        )
    else:
        async with httpx.AsyncClient() as remote:
            put = await remote.put(created["uploadUrl"], content=photo, headers=headers)
    assert put.status_code == 200, put.text

    bob = await api.register("bob")
    stolen = (await api.data(FINALIZE, finalize, bob.token))["finalizeMediaUpload"]["errors"]
    assert stolen == [{"code": "NOT_FOUND", "field": "id"}]
    done = (await api.data(FINALIZE, finalize, ada.token))["finalizeMediaUpload"]
    assert done["errors"] == []
    assert (done["media"]["width"], done["media"]["height"]) == (1600, 900)
    again = (await api.data(FINALIZE, finalize, ada.token))["finalizeMediaUpload"]
    assert again["media"] == done["media"]  # finishing twice changes nothing
    await process_all(app)
    media = (await api.data(MEDIA, {"id": media_id}, token=ada.token))["node"]
    assert media["status"] == "READY"

    refused = await api.data(CREATE, {"type": "application/pdf", "size": 10}, ada.token)
    assert refused["createMediaUpload"]["errors"] == [
        {"code": "UNSUPPORTED_MEDIA_TYPE", "field": "contentType"}
    ]
    too_big = await api.data(CREATE, {"type": "image/png", "size": 10**9}, ada.token)
    assert too_big["createMediaUpload"]["errors"] == [{"code": "MEDIA_TOO_LARGE", "field": "size"}]


async def test_unattached_media_and_their_unshared_files_are_purged(
    api: Api, client: httpx.AsyncClient, app: Any, test_settings: Settings
) -> None:
    ada = await api.register("ada")
    shared = png(120, 90)
    attached = await uploaded(client, ada, shared, name="kept.png")
    twin = await uploaded(client, ada, shared, name="twin.png")  # the same bytes, not attached
    lonely = await uploaded(client, ada, png(90, 120, (9, 9, 200, 255)), name="lonely.png")
    await process_all(app)
    await post(api, ada, "kept", mediaIds=[attached])

    async def files(media_id: str) -> list[str]:
        media = (await api.data(MEDIA, {"id": media_id}, token=ada.token))["node"]
        return [v["url"] for v in media["variants"]]

    kept_urls, lonely_urls = await files(attached), await files(lonely)
    core = app.state.core
    await run_sql(test_settings, "UPDATE media SET created_at = now() - interval '2 days'")
    assert await media.purge_unattached(core, timedelta(hours=24)) == 2  # twin and lonely
    assert (await api.data(MEDIA, {"id": twin}, token=ada.token))["node"] is None
    for url in kept_urls:  # shared with the twin, still named by the attached media
        assert (await download(app, url)).status_code == 200
    for url in lonely_urls:
        assert (await download(app, url)).status_code in (403, 404)
    assert await media.purge_unattached(core, timedelta(hours=24)) == 0


def video(codec: str = "libx264", seconds: float = 1.0, container: str = "mp4") -> bytes:
    """A small real video, encoded here with PyAV (FFmpeg's libraries)."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for n in range(int(seconds * 10)):
            frame = Image.new("RGB", (320, 240), (n * 20 % 256, 60, 120))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                muxer.mux(packet)
        for packet in stream.encode():
            muxer.mux(packet)
    return out.getvalue()


async def test_a_video_gets_a_poster_and_cannot_be_mixed_with_images(
    api: Api, client: httpx.AsyncClient, app: Any
) -> None:
    ada = await api.register("ada")
    clip = await uploaded(client, ada, video(), name="clip.mp4")
    odd = await uploaded(client, ada, video("mpeg4"), name="odd.mp4")  # MPEG-4 Part 2
    image = await uploaded(client, ada, png(50, 50), name="i.png")
    await process_all(app)

    media = (await api.data(MEDIA, {"id": clip}, token=ada.token))["node"]
    assert media["status"] == "READY"
    assert media["kind"] == "VIDEO"
    assert (media["width"], media["height"]) == (320, 240)
    served = await download(app, media["url"])
    assert served.headers["content-type"] == "video/mp4"
    poster = [v for v in media["variants"] if v["name"] == "poster" and v["format"] == "jpeg"]
    assert [(v["width"], v["height"]) for v in poster] == [(320, 240)]
    with Image.open(io.BytesIO((await download(app, poster[0]["url"])).content)) as frame:
        assert frame.size == (320, 240)
    duration = (
        await api.data(
            "query($id: ID!) { node(id: $id) { ... on Media { durationMs } } }",
            {"id": clip},
            token=ada.token,
        )
    )["node"]["durationMs"]
    assert 900 <= duration <= 1100

    failed = (await api.data(MEDIA, {"id": odd}, token=ada.token))["node"]
    assert failed["status"] == "FAILED"
    assert "cannot be played" in failed["failureReason"]

    mixed = (
        await api.post(
            'mutation($m: [ID!]!) { postTweet(input: {text: "both", mediaIds: $m}) '
            "{ errors { code } } }",
            {"m": [clip, image]},
            token=ada.token,
        )
    )["data"]["postTweet"]["errors"]
    assert mixed == [{"code": "TOO_MANY_MEDIA"}]
    await post(api, ada, "a clip", mediaIds=[clip])


PROFILE = """mutation($avatar: ID, $banner: ID) {
  updateProfile(input: {avatarMediaId: $avatar, bannerMediaId: $banner}) {
    user { avatar { id variants { name } } banner { id } } errors { code field } } }"""


async def test_avatars_and_banners_use_the_same_pipeline(
    api: Api, client: httpx.AsyncClient, app: Any, test_settings: Settings
) -> None:
    ada = await api.register("ada")
    avatar = await uploaded(client, ada, png(400, 400, (200, 0, 0, 255)), name="me.png")
    banner = await uploaded(client, ada, jpeg(1500, 500), name="banner.jpg")
    early = await api.data(PROFILE, {"avatar": avatar}, ada.token)
    assert early["updateProfile"]["errors"] == [
        {"code": "MEDIA_NOT_READY", "field": "avatarMediaId"}
    ]
    await process_all(app)

    done = (await api.data(PROFILE, {"avatar": avatar, "banner": banner}, ada.token))[
        "updateProfile"
    ]
    assert done["errors"] == []
    assert done["user"]["avatar"]["id"] == avatar
    assert "thumb" in {v["name"] for v in done["user"]["avatar"]["variants"]}
    assert done["user"]["banner"]["id"] == banner

    bob = await api.register("bob")
    theirs = await api.data(PROFILE, {"avatar": avatar}, bob.token)
    assert theirs["updateProfile"]["errors"] == [{"code": "NOT_FOUND", "field": "avatarMediaId"}]

    # In use as an avatar: never purged as unattached.
    await run_sql(test_settings, "UPDATE media SET created_at = now() - interval '2 days'")
    assert await media.purge_unattached(app.state.core, timedelta(hours=24)) == 0
    cleared = await api.data(PROFILE, {"avatar": None}, ada.token)
    assert cleared["updateProfile"]["user"]["avatar"] is None
    assert cleared["updateProfile"]["user"]["banner"]["id"] == banner


async def test_posting_waits_briefly_for_media_being_processed(
    api: Api, client: httpx.AsyncClient, app: Any
) -> None:
    ada = await api.register("ada")
    media_id = await uploaded(client, ada, png(60, 60), name="quick.png")
    # The worker finishes while postTweet waits.
    worker = asyncio.create_task(process_all(app))
    posted = await post(api, ada, "right away", mediaIds=[media_id])
    await worker
    shown = await api.data(
        "query($id: ID!) { tweet(id: $id) { media { status } } }", {"id": posted["id"]}
    )
    assert shown["tweet"]["media"] == [{"status": "READY"}]
