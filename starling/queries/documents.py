"""Read side of the API edge: API clients by key, and registered documents."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from starling.db import Database
from starling.models import ApiClient, ClientDocument, PersistedDocument

SHA256_PREFIX = "sha256:"


@dataclasses.dataclass(frozen=True, slots=True)
class ApiClientRecord:
    id: int
    name: str
    trusted_documents_only: bool
    points_per_hour: int


async def client_by_key_hash(db: Database, key_hash: bytes) -> ApiClientRecord | None:
    """The client holding this key, unless revoked."""
    rows = await db.rows(
        select(
            ApiClient.id,
            ApiClient.name,
            ApiClient.trusted_documents_only,
            ApiClient.points_per_hour,
        ).where(ApiClient.key_hash == key_hash, ApiClient.revoked_at.is_(None))
    )
    return ApiClientRecord(**rows[0]._mapping) if rows else None


async def registered_document(db: Database, client_id: int | None, document_id: str) -> str | None:
    """A registered document by its id (``sha256:<hex>``, or the id its manifest gave it): the
    client's own registrations only, or any client's when ``client_id`` is None (first-party)."""
    statement = select(PersistedDocument.document)
    if document_id.startswith(SHA256_PREFIX):
        statement = statement.where(
            PersistedDocument.sha256 == document_id.removeprefix(SHA256_PREFIX)
        )
        if client_id is not None:
            statement = statement.join(
                ClientDocument, ClientDocument.sha256 == PersistedDocument.sha256
            ).where(ClientDocument.client_id == client_id)
    else:
        statement = statement.join(
            ClientDocument, ClientDocument.sha256 == PersistedDocument.sha256
        ).where(ClientDocument.document_id == document_id)
        if client_id is not None:
            statement = statement.where(ClientDocument.client_id == client_id)
    rows = await db.rows(statement.limit(1))
    return str(rows[0].document) if rows else None
