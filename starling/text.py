"""Rules for the text users type: normalisation and length. Tweet weighting joins this module."""

from __future__ import annotations

import unicodedata


def normalize(value: str) -> str:
    """NFC-normalised and stripped, as it is stored and counted."""
    return unicodedata.normalize("NFC", value).strip()


def has_control_characters(value: str, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)
