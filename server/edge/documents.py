"""The document a request runs: its own text, an automatic persisted query (Apollo APQ:
``extensions.persistedQuery {version: 1, sha256Hash}``) or a persisted document
(``documentId``: ``sha256:<hex>`` or an id from a client's manifest).

An unknown APQ hash answers ``PERSISTED_QUERY_NOT_FOUND`` with status 200 and the message
``PersistedQueryNotFound``, which is what Apollo's link waits for before sending the text. A
client marked trusted-documents-only runs only what it registered: no free text, no APQ
registration, nobody else's documents.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from typing import Any

from server.request_body import RequestRejected
from starling.core import Core
from starling.errors import ErrorCode
from starling.queries.documents import SHA256_PREFIX, ApiClientRecord, registered_document

_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_DOCUMENT_ID = 200
REGISTERED_CACHE_SECONDS = 30.0
_registered_cache: dict[tuple[int | None, str], tuple[float, str]] = {}


async def document_of(
    core: Core, params: Mapping[str, Any], client: ApiClientRecord | None
) -> str | None:
    query: str | None = params.get("query")
    document_id = params.get("documentId")
    persisted = (params.get("extensions") or {}).get("persistedQuery")
    restricted = client is not None and client.trusted_documents_only
    client_id = client.id if client is not None else None

    if document_id is not None:
        if not isinstance(document_id, str) or not 1 <= len(document_id) <= MAX_DOCUMENT_ID:
            raise RequestRejected(400, "`documentId` must be a string of 1-200 characters.")
        if query is not None:
            raise RequestRejected(400, "Send either `query` or `documentId`, not both.")
        found = await _registered(core, client_id, document_id)
        if found is None and not restricted and document_id.startswith(SHA256_PREFIX):
            found = await core.persisted_queries.get(document_id.removeprefix(SHA256_PREFIX))
        if found is None:
            raise RequestRejected(
                400, f"No persisted document {document_id!r}.", ErrorCode.PERSISTED_QUERY_NOT_FOUND
            )
        return found

    if persisted is not None:
        wanted = _apq_hash(persisted)
        if query is not None:
            if hashlib.sha256(query.encode()).hexdigest() != wanted:
                raise RequestRejected(400, "provided sha does not match query")
            if restricted:
                raise _only_registered()
            await core.persisted_queries.put(wanted, query)
            return query
        # Learnt documents first: for first-party traffic they are the common case, and Redis
        # answers faster than the registry in PostgreSQL.
        found = None if restricted else await core.persisted_queries.get(wanted)
        if found is None:
            found = await _registered(core, client_id, SHA256_PREFIX + wanted)
        if found is None:
            raise RequestRejected(
                200, "PersistedQueryNotFound", ErrorCode.PERSISTED_QUERY_NOT_FOUND
            )
        return found

    if restricted and query is not None:
        raise _only_registered()
    return query


async def _registered(core: Core, client_id: int | None, document_id: str) -> str | None:
    """A registered document, remembered a while by this process (registrations change only
    when a manifest is pushed again)."""
    key = (client_id, document_id)
    cached = _registered_cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    found = await registered_document(core.db, client_id, document_id)
    if found is not None:
        if len(_registered_cache) > 10_000:
            _registered_cache.clear()
        _registered_cache[key] = (time.monotonic() + REGISTERED_CACHE_SECONDS, found)
    return found


def _apq_hash(persisted: object) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise RequestRejected(400, "Only version 1 of `extensions.persistedQuery` is supported.")
    wanted = persisted.get("sha256Hash")
    if not isinstance(wanted, str) or not _SHA256.fullmatch(wanted):
        raise RequestRejected(400, "`sha256Hash` must be 64 lowercase hexadecimal digits.")
    return wanted


def _only_registered() -> RequestRejected:
    return RequestRejected(
        403,
        "This API client may run only its registered documents (send a `documentId`).",
        ErrorCode.FORBIDDEN,
    )
