"""Every Redis key and pub/sub channel Starling uses, one builder per family: the keyspace in one
place, so two modules never spell a family differently and a new family is easy to check for
clashes. (arq's own keys, ``arq:*``, belong to arq.)"""

from __future__ import annotations

# --- accounts ------------------------------------------------------------------------------


def session(token_hash_hex: str) -> str:
    """String: the cached user id of a session token (by the token's sha256)."""
    return f"session:{token_hash_hex}"


def known_ips(user_id: int) -> str:
    """Set: the IPs a user logged in from, exempt from the cross-IP login limit."""
    return f"login-known-ips:{user_id}"


def active(user_id: int) -> str:
    """String with a TTL: the user was seen recently (``last_active_at`` is written once per TTL)."""
    return f"active:{user_id}"


def rate_limit(bucket: str) -> str:
    """String: the GCRA theoretical arrival time of a rate-limit bucket."""
    return f"ratelimit:{bucket}"


# --- timelines -----------------------------------------------------------------------------

CELEBRITIES = "timeline:celebrities"
"""Set: authors fanned out on read instead of on write."""


def home_timeline(user_id: int) -> str:
    """Sorted set: a user's home timeline entries by tweet id."""
    return f"timeline:{user_id}"


def home_timeline_rebuilding(user_id: int) -> str:
    """String with a TTL: the timeline is being rebuilt, so fan-out writes into it meanwhile.
    The push script derives it from the timeline key: keep it that key + ':rebuilding'."""
    return f"{home_timeline(user_id)}:rebuilding"


def recent_tweets(author_id: int) -> str:
    """Sorted set: an author's recent tweets, merged into followers' timelines on read."""
    return f"recent:{author_id}"


# --- live events ---------------------------------------------------------------------------

PRESENCE = "presence"
"""Sorted set: user id -> expiry (unix seconds) of users with an open socket somewhere."""
WATCHING = "watching"
"""Sorted set: tweet id -> expiry of tweets someone watches the engagement of."""
EVENTS_HUB = "events:hub"
"""Channel: the one channel every API process subscribes to."""


def home_channel(user_id: int) -> str:
    return f"events:home:{user_id}"


def author_channel(author_id: int) -> str:
    """Tweets of an author who is not fanned out (a celebrity), for subscribers who follow them."""
    return f"events:author:{author_id}"


def notifications_channel(user_id: int) -> str:
    return f"events:notifications:{user_id}"


def engagement_channel(tweet_id: int) -> str:
    return f"events:engagement:{tweet_id}"


def engagement_throttle(tweet_id: int) -> str:
    """String with a TTL: an engagement update for the tweet went out within the interval."""
    return f"events:throttle:{tweet_id}"


def revoked_channel(token_hash_hex: str) -> str:
    return f"events:revoked:{token_hash_hex}"
