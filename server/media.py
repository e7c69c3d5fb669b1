"""Local media over HTTP (when media is on local disk): ``GET /media/<key>`` with long immutable
cache headers and the content type of the key, and ``PUT /media-uploads/<token>`` for the large
uploads Starling presigned (the local stand-in for an S3 presigned PUT)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from server.request_body import RequestRejected, read_body
from starling.core import Core
from starling.errors import ErrorCode
from starling.storage.media import IMMUTABLE, content_type_of
from starling.storage.media.local import LocalMediaStorage


def _local(request: Request) -> LocalMediaStorage | None:
    core: Core = request.app.state.core
    return core.media if isinstance(core.media, LocalMediaStorage) else None


async def download(request: Request) -> Response:
    storage = _local(request)
    key = request.path_params["key"]
    try:
        path = storage.path_of(key) if storage is not None else None
    except ValueError:
        path = None
    if path is None or not path.is_file():
        return Response("Not Found", status_code=404)
    return FileResponse(path, media_type=content_type_of(key), headers={"cache-control": IMMUTABLE})


async def upload(request: Request) -> Response:
    storage = _local(request)
    key = storage.key_of_upload(request.path_params["token"]) if storage is not None else None
    if storage is None or key is None:
        refused = RequestRejected(
            403, "This upload URL is not valid (or expired).", ErrorCode.FORBIDDEN
        )
        return JSONResponse(refused.body(), status_code=refused.status)
    core: Core = request.app.state.core
    try:
        data = await read_body(request, core.settings.media_max_upload_bytes)
    except RequestRejected as refused:
        return JSONResponse(refused.body(), status_code=refused.status)
    await storage.put(key, data, request.headers.get("content-type", content_type_of(key)))
    return Response(status_code=200)
