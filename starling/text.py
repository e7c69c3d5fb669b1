"""Rules for the text users type: normalisation, length, and tweets' weighted length, hashtags,
mentions and URLs (twitter-text v3 rules)."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import twitter_text
from twitter_text.regex_supplant import regex_supplant
from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_domain_chars import valid_domain_chars
from twitter_text.regexp.valid_gtld import valid_gtld
from twitter_text.regexp.valid_port_number import valid_port_number
from twitter_text.regexp.valid_punycode import valid_punycode
from twitter_text.regexp.valid_url_path import valid_url_path
from twitter_text.regexp.valid_url_preceding_chars import valid_url_preceding_chars
from twitter_text.regexp.valid_url_query_chars import valid_url_query_chars
from twitter_text.regexp.valid_url_query_ending_chars import valid_url_query_ending_chars

from starling.language import detect_language


def normalize(value: str) -> str:
    """NFC-normalised and stripped, as it is stored and counted."""
    return unicodedata.normalize("NFC", value).strip()


def has_control_characters(value: str, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


# --- tweets ---------------------------------------------------------------------------------

MAX_TWEET_WEIGHT = 280
MAX_HASHTAG_LENGTH = 139
# Refused before any parsing. A URL weighs 23 whatever its length, so a valid tweet can be longer
# than 280 code points, but not by this much.
MAX_TWEET_CODE_POINTS = 10_000

# twitter-text's URL pattern, made linear. The library's own pattern tries every position after a
# '.' or a non-ASCII letter as a URL start and scans the whole dotted run from each, so "a." * 800
# took 15 s of CPU (quadratic). Here a domain has at most 9 labels of at most 63 characters (what
# DNS allows anyway), and a URL without a protocol may not start after one of -_./ (twitter-text
# throws such matches away afterwards, so starting there only ever cost time). Each start position
# then costs a bounded amount of work. On ordinary text the URLs found are the library's; on
# punctuation soup the two may disagree about a t.co-like fragment.
_DOMAIN_LABEL = regex_supplant(r"(?:(?:#{d}(?:[_-]|#{d}){0,61})?#{d}\.)", {"d": valid_domain_chars})
_DOMAIN_NAME = regex_supplant(r"(?:(?:#{d}(?:-|#{d}){0,61})?#{d}\.)", {"d": valid_domain_chars})
_DOMAIN = regex_supplant(
    r"(?:#{label}{0,8}#{name}(?:#{gtld}|#{cctld}|#{punycode}))",
    {
        "label": _DOMAIN_LABEL,
        "name": _DOMAIN_NAME,
        "gtld": valid_gtld,
        "cctld": valid_cctld,
        "punycode": valid_punycode,
    },
)
LINEAR_EXTRACT_URL = regex_supplant(
    "(((?:#{pre})(?=https?://)|(?:(?![-_./])#{pre}))("  # $1 all, $2 preceding character, $3 URL
    "(https?:\\/\\/)?"  # $4 protocol
    "(#{domain})"  # $5 domain
    "(?::(#{port}))?"  # $6 port
    "(\\/#{path}*)?"  # $7 path
    "(\\?#{query}*#{query_end})?"  # $8 query
    "))",
    {
        "pre": valid_url_preceding_chars,
        "domain": _DOMAIN,
        "port": valid_port_number,
        "path": valid_url_path,
        "query": valid_url_query_chars,
        "query_end": valid_url_query_ending_chars,
    },
    re.IGNORECASE,
)
# The library reads its pattern from a module global at call time; its package re-exports a
# function under the module's name, hence sys.modules.
sys.modules["twitter_text.extract_urls"].extract_url = LINEAR_EXTRACT_URL  # type: ignore[attr-defined]

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
    lang: str | None  # ISO 639 code, None when too short or unclear to tell

    @property
    def too_long(self) -> bool:
        return self.weighted_length > MAX_TWEET_WEIGHT


class TextTooLong(ValueError):
    """Text far over any limit, refused before it is parsed."""


def _prose(text: str, url_spans: list[tuple[int, int]]) -> str:
    """The text without links, mentions and hashtags: what says which language it is in."""
    pieces, at = [], 0
    for start, end in sorted(url_spans):
        pieces.append(text[at:start])
        at = max(at, end)
    pieces.append(text[at:])
    return _MENTION.sub(" ", _HASHTAG.sub(" ", " ".join(pieces)))


def parse_tweet(raw: str) -> ParsedTweet:
    """Weigh and extract a tweet the way twitter-text v3 does (NFC; most Latin characters 1,
    CJK and emoji 2, every URL 23). Linear in the length of the text; over
    ``MAX_TWEET_CODE_POINTS`` it raises ``TextTooLong`` without parsing."""
    if len(raw) > MAX_TWEET_CODE_POINTS:
        raise TextTooLong(len(raw))
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
        lang=detect_language(_prose(text, url_spans)),
    )


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _unique_casefold(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.lower(), value)
    return list(seen.values())
