"""Rules for the text users type: normalisation, length, and tweets' weighted length, hashtags,
mentions and URLs (twitter-text v3 rules)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import twitter_text


def normalize(value: str) -> str:
    """NFC-normalised and stripped, as it is stored and counted."""
    return unicodedata.normalize("NFC", value).strip()


def has_control_characters(value: str, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


# --- tweets ---------------------------------------------------------------------------------

MAX_TWEET_WEIGHT = 280
MAX_HASHTAG_LENGTH = 139

# twitter-text's boundaries: a hashtag or mention starts the text or follows a character that
# cannot be part of a word (so e-mail addresses and "a#b" are not matched).
_HASHTAG = re.compile(r"(?:^|(?<=[^\w&]))[#\uff03](?!\ufe0f|\u20e3)(\w*[^\W\d_]\w*)", re.UNICODE)
_MENTION = re.compile(
    r"(?:^|(?<=[^\w@\uff20!#$%&*]))[@\uff20](\w{1,15})(?![\w@\uff20]|://)", re.ASCII
)


@dataclass(frozen=True)
class ParsedTweet:
    text: str
    weighted_length: int
    has_invalid_characters: bool
    hashtags: list[str]  # lower-cased, unique, in order of appearance
    mentions: list[str]  # usernames as typed, unique case-insensitively
    urls: list[str]

    @property
    def too_long(self) -> bool:
        return self.weighted_length > MAX_TWEET_WEIGHT


def parse_tweet(raw: str) -> ParsedTweet:
    """Weigh and extract a tweet the way twitter-text v3 does (NFC; most Latin characters 1,
    CJK and emoji 2, every URL 23)."""
    text = normalize(raw)
    parsed = twitter_text.parse_tweet(text)
    urls = twitter_text.extract_urls_with_indices(text)
    url_spans = [tuple(url["indices"]) for url in urls]

    def outside_urls(match: re.Match[str]) -> bool:
        return not any(start <= match.start() < end for start, end in url_spans)

    hashtags = _unique(
        m.group(1).lower()
        for m in _HASHTAG.finditer(text)
        if outside_urls(m) and len(m.group(1)) <= MAX_HASHTAG_LENGTH
    )
    mentions = _unique_casefold(m.group(1) for m in _MENTION.finditer(text) if outside_urls(m))
    invalid = parsed.weightedLength <= MAX_TWEET_WEIGHT and not parsed.valid
    return ParsedTweet(
        text=text,
        weighted_length=parsed.weightedLength,
        has_invalid_characters=invalid or has_control_characters(text, allow_newlines=True),
        hashtags=hashtags,
        mentions=mentions,
        urls=[url["url"] for url in urls],
    )


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _unique_casefold(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.lower(), value)
    return list(seen.values())
