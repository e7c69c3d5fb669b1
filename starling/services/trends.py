"""Trends: what many accounts start talking about at once, globally and per region.

Counting (the ``trends`` outbox consumer, never in the request): each public, original tweet
adds its hashtags to hourly buckets of its scopes (global, and the author's profile region),
counting an **account once per tag per hour** however often it repeats the tag. An edit
recounts the tweet; a delete takes away what it added. Retweets carry no tags of their own.

Scoring (``refresh``, a worker job every ``STARLING_TRENDS_REFRESH_SECONDS``):

- *observed*: weighted distinct accounts over the last 60 minutes (this hour's bucket plus the
  share of the previous one that is still inside the window);
- *expected*: the same window on each of the previous ``STARLING_TRENDS_BASELINE_DAYS`` days,
  averaged, and at least 1, so a tag that is always busy at this hour is not news;
- *score*: ``(observed - expected)^2 / expected`` (Mastodon's), or 0 unless observed exceeds
  expected and reaches ``STARLING_TRENDS_MIN_ACCOUNTS`` (default 5): a handful of accounts, or
  one account repeating itself, never trends;
- a tag's peak score decays with a half-life of ``STARLING_TRENDS_HALF_LIFE_HOURS`` (default
  2): yesterday's spike fades instead of ending abruptly, and a new spike above the decayed peak
  replaces it.

Spam and bot resistance, each with its default:

- minimum distinct accounts (5), above;
- accounts younger than ``STARLING_TRENDS_NEW_ACCOUNT_HOURS`` (24; 0 turns the rule off) when
  they post, and accounts posting more than ``STARLING_TRENDS_MAX_TWEETS_PER_HOUR`` (30) in the
  hour before, count as ``LOW_TRUST_WEIGHT`` (0.2) of an account: five fresh accounts are one;
- protected accounts' tweets are not counted (a trend must not reveal them);
- ``STARLING_TRENDS_DENY``: hashtags never shown (counted still, so lifting the ban shows the
  true state at the next refresh).

``trends(personalized=True)`` multiplies each score by 1 + the number of accounts the viewer
follows that used the tag in the last 24 hours. Engagement velocity (likes and retweets a minute
over the last 10 minutes) is counted by the same consumer.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from starling import ids
from starling.core import Core
from starling.events import (
    Event,
    TweetEdited,
    TweetLiked,
    TweetPosted,
    TweetRemoved,
    TweetUnliked,
)
from starling.models import Like, Tweet, User
from starling.queries import hashtags as hashtag_queries
from starling.queries.tweets import hashtags_by_tweet_ids
from starling.storage.trends import GLOBAL, MAX_LISTED, Counted, Trend, hour_of, region_scope

KINDS = frozenset(
    cls.kind for cls in (TweetPosted, TweetEdited, TweetRemoved, TweetLiked, TweetUnliked)
)
LOW_TRUST_WEIGHT = 0.2
# A decayed peak below this is forgotten (about 11 half-lives after a score of 100).
FORGET_BELOW = 0.05
PERSONAL_WINDOW = timedelta(hours=24)


async def handle(core: Core, event: Event) -> None:
    match event:
        case TweetPosted(tweet_id=tweet_id, author_id=author_id, original_id=None):
            await count_tweet(core, tweet_id)
        case TweetPosted(tweet_id=tweet_id, author_id=author_id, original_id=int(original)):
            posted = await _created_at(core, tweet_id)
            if posted is not None:
                await core.velocity.add(original, f"r:{author_id}", posted)
        case TweetEdited(tweet_id=tweet_id):
            await core.trend_counts.remove(tweet_id)
            await count_tweet(core, tweet_id)
        case TweetRemoved(tweet_id=tweet_id, original_id=None):
            await core.trend_counts.remove(tweet_id)
        case TweetRemoved(author_id=author_id, original_id=int(original)):
            await core.velocity.remove(original, f"r:{author_id}")
        case TweetLiked(tweet_id=tweet_id, user_id=user_id):
            liked = await _liked_at(core, tweet_id, user_id)
            if liked is not None:
                await core.velocity.add(tweet_id, f"l:{user_id}", liked)
        case TweetUnliked(tweet_id=tweet_id, user_id=user_id):
            await core.velocity.remove(tweet_id, f"l:{user_id}")


async def count_tweet(core: Core, tweet_id: int) -> bool:
    """Count a tweet's hashtags, if it is a public original that still exists."""
    statement = (
        select(
            Tweet.author_id,
            Tweet.created_at,
            User.region,
            User.created_at.label("author_since"),
        )
        .join(User, User.id == Tweet.author_id)
        .where(
            Tweet.id == tweet_id,
            Tweet.deleted_at.is_(None),
            Tweet.retweet_of_tweet_id.is_(None),
            User.protected.is_(False),
        )
    )
    rows = await core.db.rows(statement)
    if not rows:
        return False  # gone, deleted, a retweet or a protected author's
    row = rows[0]
    [tags] = await hashtags_by_tweet_ids(core.db, [tweet_id])
    if not tags:
        return False
    scopes = [GLOBAL, *([region_scope(row.region)] if row.region else [])]
    weight = await _weight(core, tweet_id, row.author_id, row.created_at, row.author_since)
    counted = Counted(row.author_id, hour_of(row.created_at), scopes, sorted(tags), weight)
    return await core.trend_counts.add(tweet_id, counted)


async def _weight(
    core: Core, tweet_id: int, author_id: int, posted: datetime, author_since: datetime
) -> float:
    settings = core.settings
    hours = settings.trends_new_account_hours
    if hours and posted - author_since < timedelta(hours=hours):
        return LOW_TRUST_WEIGHT
    recent = await core.db.rows(
        select(func.count()).where(
            Tweet.author_id == author_id,
            Tweet.id >= ids.lowest_id_at(posted - timedelta(hours=1)),
            Tweet.id < tweet_id,
        )
    )
    if recent[0][0] >= settings.trends_max_tweets_per_hour:
        return LOW_TRUST_WEIGHT
    return 1.0


async def refresh(core: Core, now: datetime | None = None) -> dict[str, list[Trend]]:
    """Score every scope as of ``now`` (the clock, by default), store and announce the lists
    that changed. Returns each scope's list."""
    at = (now or datetime.now(UTC)).timestamp()
    return {
        scope: await _refresh_scope(core, scope, at) for scope in await core.trend_counts.scopes()
    }


async def _refresh_scope(core: Core, scope: str, at: float) -> list[Trend]:
    settings = core.settings
    counts = core.trend_counts
    hour = int(at // 3600)
    still_in_window = 1 - (at % 3600) / 3600  # of the previous hour's bucket
    days = settings.trends_baseline_days
    hours = [h for d in range(days + 1) for h in (hour - 24 * d, hour - 1 - 24 * d)]
    accounts = await counts.hour_counts("accounts", scope, hours)

    def window(day: int) -> dict[str, float]:
        current, previous = accounts[2 * day], accounts[2 * day + 1]
        return {
            tag: current.get(tag, 0.0) + previous.get(tag, 0.0) * still_in_window
            for tag in current.keys() | previous.keys()
        }

    observed = window(0)
    baselines = [window(day) for day in range(1, days + 1)]
    peaks = await counts.peaks(scope)
    half_life = settings.trends_half_life_hours * 3600
    changed: dict[str, tuple[float, float]] = {}
    forgotten: list[str] = []
    scores: dict[str, float] = {}
    for tag in observed.keys() | peaks.keys():
        seen = observed.get(tag, 0.0)
        expected = max(sum(b.get(tag, 0.0) for b in baselines) / days, 1.0)
        score = 0.0
        if seen >= settings.trends_min_accounts and seen > expected:
            score = (seen - expected) ** 2 / expected
        peak, peaked_at = peaks.get(tag, (0.0, at))
        decayed = peak * 0.5 ** (max(at - peaked_at, 0.0) / half_life)
        if score > decayed:
            changed[tag], decayed = (score, at), score
        if decayed < FORGET_BELOW:
            if tag in peaks:
                forgotten.append(tag)
            continue
        scores[tag] = decayed
    await counts.set_peaks(scope, changed, forgotten)

    denied = settings.trends_denied
    best = sorted(
        ((score, tag) for tag, score in scores.items() if tag not in denied), reverse=True
    )[:MAX_LISTED]
    people = await counts.hour_counts("people", scope, [hour, hour - 1])
    tweets = await counts.hour_counts("tweets", scope, range(hour - 23, hour + 1))
    trends = [
        Trend(
            name=tag,
            score=round(score, 3),
            tweet_count=int(sum(bucket.get(tag, 0.0) for bucket in tweets)),
            user_count=round(people[0].get(tag, 0.0) + people[1].get(tag, 0.0) * still_in_window),
        )
        for score, tag in best
    ]
    await counts.publish_list(scope, trends)
    return trends


async def trends(
    core: Core,
    viewer_id: int | None,
    region: str | None,
    limit: int,
    personalized: bool = False,
    now: datetime | None = None,
) -> list[Trend]:
    """The current list of a scope, optionally re-ranked for the viewer."""
    listed = await core.trend_counts.current(region_scope(region) if region else GLOBAL)
    if personalized and viewer_id is not None and listed:
        since = (now or datetime.now(UTC)) - PERSONAL_WINDOW
        used = await hashtag_queries.used_by_followed(
            core.db, viewer_id, [t.name for t in listed], since
        )
        listed = sorted(
            (
                dataclasses.replace(t, score=round(t.score * (1 + used.get(t.name, 0)), 3))
                for t in listed
            ),
            key=lambda t: t.score,
            reverse=True,
        )
    return listed[:limit]


async def _created_at(core: Core, tweet_id: int) -> datetime | None:
    rows = await core.db.rows(select(Tweet.created_at).where(Tweet.id == tweet_id))
    return rows[0].created_at if rows else None


async def _liked_at(core: Core, tweet_id: int, user_id: int) -> datetime | None:
    rows = await core.db.rows(
        select(Like.created_at).where(Like.tweet_id == tweet_id, Like.user_id == user_id)
    )
    return rows[0].created_at if rows else None


__all__: list[Any] = ["KINDS", "count_tweet", "handle", "refresh", "trends"]
