"""Third-party API clients and their registered (trusted) documents.

A client is created with a key, shown once and stored hashed; its requests carry it in
``X-Starling-Client``. Its documents come from a persisted-query manifest (Apollo's
``apollo-persisted-query-manifest`` or Relay's ``{id: text}``), each checked by the caller's
``validate`` (the schema's rules) before anything is stored: a manifest with one bad document
registers nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from starling.core import Core
from starling.models import ApiClient, ClientDocument, PersistedDocument
from starling.queries.documents import SHA256_PREFIX

KEY_PREFIX = "stc_"
MAX_DOCUMENT_ID = 200


class ManifestError(ValueError):
    """The manifest cannot be registered; the message says which document and why."""


@dataclass(frozen=True)
class CreatedClient:
    id: int
    name: str
    key: str  # shown once


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


async def create_client(
    core: Core, name: str, *, points_per_hour: int = 5000, trusted_documents_only: bool = True
) -> CreatedClient:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    async with core.db.session() as session:
        client = ApiClient(
            name=name,
            key_hash=key_hash(key),
            points_per_hour=points_per_hour,
            trusted_documents_only=trusted_documents_only,
        )
        session.add(client)
        await session.flush()
        return CreatedClient(client.id, name, key)


def parse_manifest(data: Any) -> dict[str, str]:
    """Document id -> text, from an Apollo or a Relay persisted-query manifest."""
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        if data.get("version") != 1:
            raise ManifestError("only version 1 of Apollo's manifest format is known")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ManifestError("'operations' must be a list")
        found: dict[Any, Any] = {}
        for n, operation in enumerate(operations):
            if not isinstance(operation, dict):
                raise ManifestError(f"operation {n} is not an object")
            found[operation.get("id")] = operation.get("body")
    elif isinstance(data, dict):
        found = data
    else:
        raise ManifestError("a manifest is a JSON object (Apollo's or Relay's format)")
    for document_id, text in found.items():
        if not isinstance(document_id, str) or not 1 <= len(document_id) <= MAX_DOCUMENT_ID:
            raise ManifestError(
                f"document id {document_id!r} is not 1-{MAX_DOCUMENT_ID} characters"
            )
        if not isinstance(text, str) or not text.strip():
            raise ManifestError(f"document {document_id!r} has no text")
    return found


async def register_documents(
    core: Core,
    client_name: str,
    documents: Mapping[str, str],
    validate: Callable[[str], list[str]],
) -> int:
    """Register ``documents`` (id -> text) for the client, all or none. Each is validated here,
    once, so a request never runs a registered document that does not fit the schema."""
    for document_id, text in documents.items():
        problems = validate(text)
        if problems:
            raise ManifestError(f"document {document_id!r}: {'; '.join(problems)}")
        if document_id.startswith(SHA256_PREFIX) and document_id != SHA256_PREFIX + sha256_hex(
            text
        ):
            raise ManifestError(f"document {document_id!r}: the hash does not match its text")
    async with core.db.session() as session:
        client_id = (
            await session.execute(select(ApiClient.id).where(ApiClient.name == client_name))
        ).scalar_one_or_none()
        if client_id is None:
            raise ManifestError(f"no API client named {client_name!r}")
        texts = {sha256_hex(text): text for text in documents.values()}
        if texts:
            await session.execute(
                insert(PersistedDocument)
                .values([{"sha256": h, "document": t} for h, t in texts.items()])
                .on_conflict_do_nothing()
            )
        rows = [
            {"client_id": client_id, "document_id": document_id, "sha256": sha256_hex(text)}
            for document_id, text in documents.items()
        ]
        if rows:
            statement = insert(ClientDocument).values(rows)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[ClientDocument.client_id, ClientDocument.document_id],
                    set_={"sha256": statement.excluded.sha256},
                )
            )
    return len(documents)
