"""uploadMedia (the GraphQL multipart request spec), and createMediaUpload and
finalizeMediaUpload for files sent straight to storage."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from resolvers.common import decode_id, returns_errors_in
from resolvers.limits import Action, spend
from schema.context import Info
from schema.media import (
    CreateMediaUploadInput,
    HttpHeader,
    Media,
    MediaPayload,
    MediaUploadPayload,
)
from starling.errors import DomainError, ErrorCode
from starling.services import media


@returns_errors_in(MediaPayload)
async def upload_media(info: Info, file: Upload, alt_text: str | None = None) -> MediaPayload:
    owner_id = info.context.require_viewer()
    await spend(info, Action.MEDIA)
    limit = info.context.core.settings.media_max_image_bytes
    data = await file.read(limit + 1)  # type: ignore[attr-defined]
    if len(data) > limit:
        raise DomainError(
            ErrorCode.MEDIA_TOO_LARGE, f"An image is at most {limit:,} bytes.", "file"
        )
    uploaded = await media.upload(info.context.core, owner_id, data, alt_text)
    return MediaPayload(media=Media.from_record(uploaded))


@returns_errors_in(MediaUploadPayload)
async def create_media_upload(info: Info, input: CreateMediaUploadInput) -> MediaUploadPayload:
    owner_id = info.context.require_viewer()
    await spend(info, Action.MEDIA)
    started = await media.start_upload(
        info.context.core, owner_id, input.content_type, input.size, input.alt_text
    )
    return MediaUploadPayload(
        media=Media.from_record(started.media),
        upload_url=started.upload.url,
        headers=[HttpHeader(name=k, value=v) for k, v in started.upload.headers.items()],
    )


@returns_errors_in(MediaPayload)
async def finalize_media_upload(info: Info, id: strawberry.ID) -> MediaPayload:
    owner_id = info.context.require_viewer()
    finished = await media.finish_upload(info.context.core, owner_id, decode_id(id, "Media"))
    return MediaPayload(media=Media.from_record(finished))
