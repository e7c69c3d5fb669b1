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


ACTIVE_PREFIX = "active:"


def active(user_id: int) -> str:
    """String with a TTL: the user was seen recently (``last_active_at`` is written once per TTL)."""
    return f"{ACTIVE_PREFIX}{user_id}"


def rate_limit(bucket: str) -> str:
    """String: the GCRA theoretical arrival time of a rate-limit bucket."""
    return f"ratelimit:{bucket}"


# --- timelines -----------------------------------------------------------------------------

CELEBRITIES = "timeline:celebrities"
"""Set: authors fanned out on read instead of on write."""


HOME_TIMELINE_PREFIX = "timeline:"


def home_timeline(user_id: int) -> str:
    """Sorted set: a user's home timeline entries by tweet id. The fan-out script builds these
    names itself from ``HOME_TIMELINE_PREFIX``."""
    return f"{HOME_TIMELINE_PREFIX}{user_id}"


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
HOME_DELIVERIES = "events:homes"
"""Channel every API process subscribes to: "<tweet id>:<user id>,<user id>..." when a tweet
lands in those users' home timelines (one message per fan-out batch, not one per user)."""
HOME_CHANNEL_PREFIX = "events:home:"


def home_channel(user_id: int | str) -> str:
    """A user's home events inside an API process (its hub fills it from ``HOME_DELIVERIES``)."""
    return f"{HOME_CHANNEL_PREFIX}{user_id}"


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


REVOCATIONS = "events:revocations"
"""Channel every API process subscribes to: the hex SHA-256 of a token that was revoked."""
REVOKED_CHANNEL_PREFIX = "events:revoked:"


def revoked_channel(token_hash_hex: str) -> str:
    """A token's revocation inside an API process (its hub fills it from ``REVOCATIONS``)."""
    return f"{REVOKED_CHANNEL_PREFIX}{token_hash_hex}"


# --- trends --------------------------------------------------------------------------------
# A scope is "global" or "region:XX"; an hour is hours since the epoch (UTC).

TRENDS_SCOPES = "trends:scopes"
"""Set: the scopes that have been counted in (global and each region seen)."""


def trends_counted(tweet_id: int) -> str:
    """String (JSON): what a tweet was counted as (scopes, tags, weight), so that a repeated
    delivery counts nothing and a delete takes away exactly what was added."""
    return f"trends:counted:{tweet_id}"


def trends_accounts(scope: str, hour: int) -> str:
    """Hash: tag -> distinct accounts that used it in the hour, weighted (new or hasty ones
    count less)."""
    return f"trends:accounts:{scope}:{hour}"


def trends_people(scope: str, hour: int) -> str:
    """Hash: tag -> distinct accounts that used it in the hour (unweighted)."""
    return f"trends:people:{scope}:{hour}"


def trends_tweets(scope: str, hour: int) -> str:
    """Hash: tag -> tweets that used it in the hour."""
    return f"trends:tweets:{scope}:{hour}"


def trends_uses(scope: str, hour: int, tag: str) -> str:
    """Hash: account -> its tweets with the tag in the hour, and ``w:<account>`` -> its weight."""
    return f"trends:uses:{scope}:{hour}:{tag}"


def trends_peaks(scope: str) -> str:
    """Hash: tag -> JSON {score, at}: the highest score and when, which decays from there."""
    return f"trends:peaks:{scope}"


def trends_list(scope: str) -> str:
    """String (JSON): the current trends of a scope, best first."""
    return f"trends:list:{scope}"


def trends_channel(scope: str) -> str:
    """Channel: the scope's trends changed."""
    return f"events:trends:{scope}"


def engagement_velocity(tweet_id: int) -> str:
    """Sorted set: ``l:<user>`` / ``r:<user>`` (a like, a retweet) -> when, for recent rates."""
    return f"velocity:{tweet_id}"


# --- the API edge --------------------------------------------------------------------------

APQ_INDEX = "apq:index"
"""Sorted set: sha256 -> last use, of the automatic persisted queries kept (the oldest go first
when there are too many)."""


def apq_document(sha256: str) -> str:
    """String with a TTL: a document learnt from traffic (Apollo automatic persisted queries)."""
    return f"apq:{sha256}"
