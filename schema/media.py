"""Media: uploaded images with their processing state and variants."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.context import Info
from schema.errors import UserError
from schema.node import Node, to_global_id
from starling.records import MediaRecord


@strawberry.enum
class MediaKind(Enum):
    IMAGE = "image"
    GIF = "gif"
    VIDEO = "video"


@strawberry.enum(description="PENDING and PROCESSING until a worker is done: READY or FAILED.")
class MediaStatus(Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@strawberry.type(
    description="One rendition: thumb (150 x 150), small, medium, large, or a video's poster."
)
class MediaVariant:
    name: str
    format: str = strawberry.field(description="webp or jpeg (progressive).")
    width: int
    height: int
    url: str


@strawberry.type
class Media(Node):
    id: strawberry.ID
    kind: MediaKind
    status: MediaStatus
    failure_reason: str | None = strawberry.field(
        description="Why processing failed, in words a client can show."
    )
    alt_text: str | None
    width: int | None
    height: int | None
    duration_ms: int | None
    blurhash: str | None
    record: strawberry.Private[MediaRecord]

    @classmethod
    def from_record(cls, media: MediaRecord) -> Media:
        return cls(
            id=to_global_id("Media", media.id),
            kind=MediaKind(media.kind.value),
            status=MediaStatus(media.status.value),
            failure_reason=media.error,
            alt_text=media.alt_text,
            width=media.width,
            height=media.height,
            duration_ms=media.duration_ms,
            blurhash=media.blurhash,
            record=media,
        )

    @strawberry.field(
        description="Once READY: a video's file; an image's large JPEG (an image's original, "
        "with its metadata, is never served)."
    )
    async def url(self, info: Info) -> str | None:
        record, storage = self.record, info.context.core.media
        if record.status.value != "ready":
            return None
        if record.kind.value == "video" and record.storage_key:
            return await storage.url(record.storage_key)
        large = record.variants.get("large", {}).get("jpeg")
        return await storage.url(large["key"]) if large else None

    @strawberry.field
    async def variants(self, info: Info) -> list[MediaVariant]:
        storage = info.context.core.media
        return [
            MediaVariant(
                name=name,
                format=fmt,
                width=found["width"],
                height=found["height"],
                url=await storage.url(found["key"]),
            )
            for name, formats in self.record.variants.items()
            for fmt, found in formats.items()
        ]


@strawberry.type
class MediaPayload:
    media: Media | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateMediaUploadInput:
    content_type: str = strawberry.field(
        description="image/jpeg, image/png, image/gif or image/webp."
    )
    size: int = strawberry.field(description="The file's size in bytes.")
    alt_text: str | None = None


@strawberry.type
class HttpHeader:
    name: str
    value: str


@strawberry.type(
    description="PUT the file's bytes to uploadUrl with these headers, then finalizeMediaUpload."
)
class MediaUploadPayload:
    media: Media | None = None
    upload_url: str | None = None
    headers: list[HttpHeader] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)
