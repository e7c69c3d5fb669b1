"""Media: an upload is checked by its bytes and stored, then a worker processes it.

``upload``: the type comes from the content (``filetype``), never the name; size limits per
kind; an image's declared dimensions are read from its header before anything is decoded, so a
decompression bomb is refused at the door. The original is stored under its content key and a
``media`` row is made PENDING; the processing job goes on the ``media`` queue.

``process``: PENDING -> PROCESSING -> READY, or FAILED with a reason a client can show. Images
are decoded by Pillow in a thread (never on the event loop), turned by their EXIF orientation,
stripped of all metadata (nothing is copied over), and written as variants in WebP and
progressive JPEG (thumb: a 150 x 150 crop; small, medium, large: at most 680, 1200, 2048 on the
long side, never upscaled), with a blurhash. Variants are stored before the row says READY, so
a READY media always has every file it names.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import av
import blurhash
import filetype
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, exists, func, literal_column, or_, select, update

from starling.core import Core
from starling.errors import DomainError, ErrorCode
from starling.models import Media, MediaKind, MediaStatus, TweetMedia, User
from starling.records import MediaRecord
from starling.storage.media import PresignedUpload, content_key
from starling.text import has_control_characters

IMAGE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
VIDEO_TYPES = {"video/mp4": ".mp4", "video/webm": ".webm"}
MAX_ALT_TEXT = 1000
# The most pixels an image may declare (a 16-bit 8K panorama is ~33 M): a small file that
# declares more is a decompression bomb.
MAX_PIXELS = 40_000_000
THUMB = 150
SIZES = {"small": 680, "medium": 1200, "large": 2048}
MEDIA_QUEUE = "arq:media"
JOB_NAME = "process_media"
PLAYABLE_VIDEO = {"h264", "vp8", "vp9", "av1"}
PLAYABLE_AUDIO = {"aac", "opus", "vorbis", "mp3"}
MAX_VIDEO_MS = 140_000  # 2 minutes 20, as on Twitter
UPLOAD_EXPIRES = timedelta(minutes=15)


class Unprocessable(Exception):
    """The file is not what it claims (truncated, corrupt): the media ends FAILED with this."""


def _declared_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header alone (Pillow reads no pixels until ``load``)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Image.DecompressionBombError as exc:  # Pillow's own limit, above ours
        raise DomainError(
            ErrorCode.MEDIA_TOO_LARGE, "The image declares far too many pixels.", "file"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DomainError(
            ErrorCode.INVALID_MEDIA, "The file is damaged or not an image.", "file"
        ) from exc


def _check_alt_text(alt_text: str | None) -> None:
    if alt_text is None:
        return
    if len(alt_text) > MAX_ALT_TEXT:
        raise DomainError(
            ErrorCode.TOO_LONG, f"Alt text is at most {MAX_ALT_TEXT} characters.", "altText"
        )
    if has_control_characters(alt_text):
        raise DomainError(
            ErrorCode.INVALID_CHARACTERS, "Alt text has control characters.", "altText"
        )


def _check_type(mime: str | None, field: str) -> str:
    if mime not in IMAGE_TYPES and mime not in VIDEO_TYPES:
        raise DomainError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "Upload a JPEG, PNG, GIF or WebP image, or an MP4 or WebM video (the type is read "
            "from the file itself).",
            field,
        )
    return mime


def _check_size(core: Core, mime: str, size: int, field: str) -> None:
    if mime in VIDEO_TYPES:
        limit, what = core.settings.media_max_video_bytes, "A video"
    else:
        limit, what = core.settings.media_max_image_bytes, "An image"
    if size > limit:
        raise DomainError(ErrorCode.MEDIA_TOO_LARGE, f"{what} is at most {limit:,} bytes.", field)


def _kind_of(mime: str) -> MediaKind:
    if mime in VIDEO_TYPES:
        return MediaKind.VIDEO
    return MediaKind.GIF if mime == "image/gif" else MediaKind.IMAGE


@dataclass(frozen=True)
class Accepted:
    mime: str
    key: str
    width: int | None
    height: int | None
    size: int

    @property
    def values(self) -> dict[str, Any]:
        return {
            "kind": _kind_of(self.mime),
            "mime_type": self.mime,
            "byte_size": self.size,
            "content_hash": self.key.rsplit("/", 1)[-1].split(".")[0],
            "storage_key": self.key,
            "width": self.width,
            "height": self.height,
        }


def _complete(data: bytes, mime: str) -> bool:
    """Whether an image ends as its format says it must: a truncated upload is refused at
    once, without decoding anything (damage inside a complete file shows when decoding)."""
    tail = data[-1024:]
    if mime == "image/jpeg":
        return b"\xff\xd9" in tail  # end of image
    if mime == "image/png":
        return b"IEND" in tail
    if mime == "image/gif":
        return b";" in tail[-16:]  # the trailer
    if mime == "image/webp":  # RIFF's size field counts the bytes after the first 8
        return len(data) >= 12 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True


async def _accept(core: Core, data: bytes) -> Accepted:
    """Check a file by its bytes and store it under its content key."""
    mime = _check_type(filetype.guess_mime(data) if data else None, "file")
    _check_size(core, mime, len(data), "file")
    if mime in VIDEO_TYPES:  # probed by the worker
        key = content_key(data, VIDEO_TYPES[mime])
        await core.media.put(key, data, mime)
        return Accepted(mime, key, None, None, len(data))
    if not _complete(data, mime):
        raise DomainError(
            ErrorCode.INVALID_MEDIA, "The file is cut short (the upload was truncated).", "file"
        )
    width, height = await asyncio.to_thread(_declared_size, data)
    if width * height > MAX_PIXELS:
        raise DomainError(
            ErrorCode.MEDIA_TOO_LARGE,
            f"The image declares {width} x {height} pixels; at most {MAX_PIXELS:,} are accepted.",
            "file",
        )
    key = content_key(data, IMAGE_TYPES[mime])
    await core.media.put(key, data, mime)  # before the row: a row never names a missing file
    return Accepted(mime, key, width, height, len(data))


async def upload(core: Core, owner_id: int, data: bytes, alt_text: str | None) -> MediaRecord:
    _check_alt_text(alt_text)
    accepted = await _accept(core, data)
    async with core.db.session() as session:
        media = Media(owner_id=owner_id, alt_text=alt_text, **accepted.values)
        session.add(media)
        await session.flush()
        record = MediaRecord.of(media)
    await core.queue.enqueue_job(JOB_NAME, record.id, _queue_name=MEDIA_QUEUE)
    return record


@dataclass(frozen=True)
class StartedUpload:
    media: MediaRecord
    upload: PresignedUpload


def staging_key(media_id: int) -> str:
    return f"uploads/{media_id}"


async def start_upload(
    core: Core, owner_id: int, content_type: str, size: int, alt_text: str | None
) -> StartedUpload:
    """For files too big for a GraphQL request: the client PUTs the bytes to a presigned URL
    (S3's, or Starling's own on local disk), then calls ``finish_upload``."""
    _check_alt_text(alt_text)
    mime = _check_type(content_type.lower().strip(), "contentType")
    if size < 1:
        raise DomainError(ErrorCode.INVALID, "size must be at least 1 byte.", "size")
    _check_size(core, mime, size, "size")
    async with core.db.session() as session:
        media = Media(
            owner_id=owner_id,
            kind=_kind_of(mime),
            mime_type=mime,
            byte_size=size,
            alt_text=alt_text,
        )
        session.add(media)
        await session.flush()
        record = MediaRecord.of(media)
    presigned = await core.media.presigned_put(staging_key(record.id), UPLOAD_EXPIRES)
    return StartedUpload(record, presigned)


async def finish_upload(core: Core, owner_id: int, media_id: int) -> MediaRecord:
    """Check what arrived at the presigned URL like any upload, then queue its processing."""
    async with core.db.session() as session:
        media = await session.get(Media, media_id)
        if media is None or media.owner_id != owner_id:
            raise DomainError(ErrorCode.NOT_FOUND, "No such media.", "id")
        if media.storage_key is not None:
            return MediaRecord.of(media)  # finished already: the same answer again
    data = await core.media.read(staging_key(media_id))
    if data is None:
        raise DomainError(
            ErrorCode.MEDIA_NOT_UPLOADED, "Nothing was uploaded to the URL yet.", "id"
        )
    accepted = await _accept(core, data)
    async with core.db.session() as session:
        media = await session.get(Media, media_id, with_for_update=True)
        assert media is not None
        for name, value in accepted.values.items():
            setattr(media, name, value)
        await session.flush()
        record = MediaRecord.of(media)
    await core.media.delete(staging_key(media_id))
    await core.queue.enqueue_job(JOB_NAME, record.id, _queue_name=MEDIA_QUEUE)
    return record


@dataclass(frozen=True)
class Rendered:
    width: int
    height: int
    blurhash: str
    files: list[tuple[str, str, int, int, bytes]]  # name, format, width, height, bytes


def render_image(data: bytes) -> Rendered:
    """Every variant of an image (CPU-bound: run in a thread)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.size[0] * opened.size[1] > MAX_PIXELS:
                raise Unprocessable("The image declares too many pixels.")
            opened.seek(0)  # an animated GIF: its first frame
            opened.load()
            image = ImageOps.exif_transpose(opened) or opened
            image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "PA", "P") else "RGB")
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,  # what Pillow raises for some broken chunks
        Image.DecompressionBombError,
    ) as exc:
        raise Unprocessable("The image could not be decoded (damaged or truncated).") from exc
    return _variants_of(image)


@dataclass(frozen=True)
class RenderedVideo:
    poster: Rendered
    duration_ms: int


def render_video(data: bytes) -> RenderedVideo:
    """Probe a video (PyAV: FFmpeg's libraries), refuse what browsers cannot play, and make a
    poster from its first frame with the image variants (CPU-bound: run in a thread)."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            videos = container.streams.video
            if not videos:
                raise Unprocessable("The file has no video track.")
            video = videos[0]
            if video.codec_context.name not in PLAYABLE_VIDEO:
                raise Unprocessable(
                    f"Video encoded as {video.codec_context.name} cannot be played; "
                    "use H.264, VP8, VP9 or AV1."
                )
            for audio in container.streams.audio:
                if audio.codec_context.name not in PLAYABLE_AUDIO:
                    raise Unprocessable(
                        f"Audio encoded as {audio.codec_context.name} cannot be played; "
                        "use AAC, Opus, Vorbis or MP3."
                    )
            duration = _duration_ms(container, video)
            if duration > MAX_VIDEO_MS:
                raise Unprocessable(f"A video is at most {MAX_VIDEO_MS // 1000} seconds long.")
            frame = next(container.decode(video=0), None)
            if frame is None:
                raise Unprocessable("The video has no frame to show.")
            poster = frame.to_image().convert("RGB")
    except av.FFmpegError as exc:
        raise Unprocessable("The video could not be read (damaged or truncated).") from exc
    return RenderedVideo(_variants_of(poster, names=("poster", *SIZES)), duration)


def _duration_ms(container: Any, video: Any) -> int:
    if container.duration is not None:
        return int(container.duration / 1000)  # microseconds
    if video.duration is not None and video.time_base is not None:
        return int(video.duration * video.time_base * 1000)
    return 0


def _variants_of(image: Image.Image, names: tuple[str, ...] = tuple(SIZES)) -> Rendered:
    side = min(THUMB, image.width, image.height)  # a square crop, never upscaled either
    shapes = {"thumb": ImageOps.fit(image, (side, side))}
    for name in names:
        resized = image.copy()
        longest = SIZES.get(name, max(SIZES.values()))  # the poster: as large as "large"
        resized.thumbnail((longest, longest))  # keeps the ratio; never upscales
        shapes[name] = resized
    files = []
    for name, shaped in shapes.items():
        for fmt in ("webp", "jpeg"):
            out = io.BytesIO()
            if fmt == "webp":
                shaped.save(out, "WEBP", quality=80, method=4)
            else:
                shaped.convert("RGB").save(out, "JPEG", quality=85, progressive=True, optimize=True)
            files.append((name, fmt, shaped.width, shaped.height, out.getvalue()))
    small = image.convert("RGB")
    small.thumbnail((64, 64))
    placeholder = blurhash.encode(small, x_components=4, y_components=3)
    return Rendered(image.width, image.height, placeholder, files)


async def process(core: Core, media_id: int) -> MediaStatus | None:
    """Process one media; idempotent (READY and FAILED are final), "row gone" is done."""
    async with core.db.session() as session:
        media = await session.get(Media, media_id, with_for_update=True)
        if media is None or media.status in (MediaStatus.READY, MediaStatus.FAILED):
            return media.status if media is not None else None
        media.status = MediaStatus.PROCESSING
        key, kind = media.storage_key, media.kind
    original = await core.media.read(key) if key else None
    if original is None:
        return await _finish(core, media_id, MediaStatus.FAILED, error="The upload was lost.")
    extra: dict[str, Any] = {}
    try:
        if kind is MediaKind.VIDEO:
            video = await asyncio.to_thread(render_video, original)
            rendered, extra = video.poster, {"duration_ms": video.duration_ms}
        else:
            rendered = await asyncio.to_thread(render_image, original)
    except Unprocessable as failure:
        return await _finish(core, media_id, MediaStatus.FAILED, error=str(failure))
    variants: dict[str, Any] = {}
    for name, fmt, width, height, data in rendered.files:
        variant_key = content_key(data, f".{'jpg' if fmt == 'jpeg' else fmt}")
        await core.media.put(variant_key, data, f"image/{fmt}")
        variants.setdefault(name, {})[fmt] = {"key": variant_key, "width": width, "height": height}
    return await _finish(
        core,
        media_id,
        MediaStatus.READY,
        width=rendered.width,
        height=rendered.height,
        blurhash=rendered.blurhash,
        variants=variants,
        **extra,
    )


async def _finish(core: Core, media_id: int, status: MediaStatus, **values: Any) -> MediaStatus:
    async with core.db.session() as session:
        await session.execute(
            update(Media).where(Media.id == media_id).values(status=status, **values)
        )
    return status


async def purge_unattached(core: Core, older_than: timedelta) -> int:
    """Media never attached to a tweet (nor used as an avatar or banner) within ``older_than`` go, and with them every stored
    object no other media still names (keys are shared between identical uploads). Returns
    how many media went."""
    async with core.db.session() as session:
        gone = (
            await session.execute(
                delete(Media)
                .where(
                    Media.created_at < func.now() - older_than,
                    ~exists().where(TweetMedia.media_id == Media.id),
                    ~exists().where(
                        or_(User.avatar_media_id == Media.id, User.banner_media_id == Media.id)
                    ),
                )
                .returning(Media.id, Media.storage_key, Media.variants)
            )
        ).all()
    keys = {staging_key(row.id) for row in gone if row.storage_key is None}
    for row in gone:
        if row.storage_key:
            keys.add(row.storage_key)
        keys.update(found["key"] for formats in row.variants.values() for found in formats.values())
    for key in sorted(keys):
        if not await _still_named(core, key):
            await core.media.delete(key)
    return len(gone)


async def _still_named(core: Core, key: str) -> bool:
    rows = await core.db.rows(
        select(Media.id)
        .where(
            or_(
                Media.storage_key == key,
                func.jsonb_path_exists(
                    Media.variants,
                    literal_column("'$.*.*.key ? (@ == $k)'::jsonpath"),
                    func.jsonb_build_object("k", key),
                ),
            )
        )
        .limit(1)
    )
    return bool(rows)
