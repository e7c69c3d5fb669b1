"""The tweet text parser is linear: no input makes it backtrack (issue 8, "A one-request freeze").

Times here are ceilings two orders of magnitude above what the parser takes (a few ms per 1,000
code points): they catch a quadratic pattern (which took 15 s for 1,600 characters), not noise.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time

import httpx
import pytest
import twitter_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twitter_text.regexp.extract_url import extract_url as library_pattern

from starling.text import MAX_TWEET_CODE_POINTS, TextTooLong, parse_tweet
from tests.support import Api, post_payload

CEILING_SECONDS = 1.0

# Pieces that exercise URL, domain, hashtag, mention and emoji patterns.
FRAGMENTS = [
    "a",
    "a.",
    ".",
    "é",
    "é.",
    "-",
    "_",
    "/",
    ":",
    "?",
    "#",
    "@",
    "(",
    ")",
    "!",
    " ",
    "\n",
    "http://",
    "https://",
    "www.",
    ".com",
    ".co",
    ".jp",
    "t.co/",
    "xn--",
    "1",
    "😀",
    "👩‍👩‍👧",
    "日本",
    "#tag",
    "@user",
    "&",
    "=",
    "%",
    "~",
]


def elapsed(text: str) -> float:
    started = time.perf_counter()
    with contextlib.suppress(TextTooLong):
        parse_tweet(text)
    return time.perf_counter() - started


@pytest.mark.parametrize(
    "text",
    [
        "a." * 5000,
        "é." * 5000,
        "éa" * 4999 + ".",
        "a-" * 5000,
        ("a." * 60 + "com ") * 40,
        "http://x.com/" + "a" * 9000 + "!",
        "http://x.com/?" + "a!" * 4900,
        "http://x.com/" + "(a" * 4900,
        "http://" * 1400,
        "#" + "1" * 9999,
        "@a" * 5000,
        "😀" * 5000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_adversarial_texts_parse_in_linear_time(text: str) -> None:
    assert len(text) <= MAX_TWEET_CODE_POINTS
    assert elapsed(text) < CEILING_SECONDS


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=40), st.integers(1, 400))
def test_no_generated_text_is_slow(pieces: list[str], repeats: int) -> None:
    text = ("".join(pieces) * repeats)[:MAX_TWEET_CODE_POINTS]
    assert elapsed(text) < CEILING_SECONDS


def test_text_over_the_cap_is_refused_before_parsing() -> None:
    with pytest.raises(TextTooLong):
        parse_tweet("x" * (MAX_TWEET_CODE_POINTS + 1))


@pytest.mark.parametrize(
    "text",
    [
        "see https://example.com/path?x=1 and t.co/abc",
        "visit example.com, or www.example.co.uk/a_(b) now",
        "日本語.jp と https://日本.jp/テスト",
        "mail someone@example.com (not a URL) or see example.net",
        "http://a.b.c.d.e.f.example.org/x#frag and -not.example.com",
    ],
)
def test_urls_are_the_libraries_on_ordinary_text(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The linear URL pattern finds what twitter-text's own pattern finds on real text."""
    found = parse_tweet(text).urls
    monkeypatch.setattr(sys.modules["twitter_text.extract_urls"], "extract_url", library_pattern)
    assert found == [url["url"] for url in twitter_text.extract_urls_with_indices(text)]
    assert found


async def test_a_hostile_tweet_does_not_freeze_the_server(
    api: Api, client: httpx.AsyncClient
) -> None:
    author = await api.register("author")

    started = time.perf_counter()

    async def readyz_while_posting() -> float:
        """How late /readyz answers, counted from when it was due."""
        await asyncio.sleep(0.05)
        response = await client.get("/readyz")
        assert response.status_code == 200
        return time.perf_counter() - started - 0.05

    payload, ready_late_by = await asyncio.gather(
        post_payload(api, author, "a." * 800), readyz_while_posting()
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("TWEET_TOO_LONG", "text")]
    assert ready_late_by < CEILING_SECONDS


async def test_a_megabyte_of_text_is_refused_at_once(api: Api) -> None:
    author = await api.register("author")
    started = time.perf_counter()
    payload = await post_payload(api, author, "x" * 1_000_000)
    assert [e["code"] for e in payload["errors"]] == ["TWEET_TOO_LONG"]
    assert time.perf_counter() - started < CEILING_SECONDS
