"""Accounts: register, log in, log out, update a profile.

Every input is validated before anything is written; all problems are reported together.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import Settings
from starling.core import Core
from starling.errors import DomainError, ErrorCode, ErrorCollector, RateLimited
from starling.events import ProfileChanged, ProtectionChanged
from starling.models import Media, MediaKind, MediaStatus, Tweet, User, UserSettings, UserStats
from starling.records import UserRecord
from starling.services import counting
from starling.services.targets import is_protected
from starling.storage import keys, rate_limits, sessions
from starling.storage.counters import Delta
from starling.storage.rate_limits import Budget
from starling.text import has_control_characters, normalize
from starling.unit_of_work import unit_of_work

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,15}$")
REGION_PATTERN = re.compile(r"^[A-Z]{2}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
DISPLAY_NAME_MAX, BIO_MAX, LOCATION_MAX, WEBSITE_MAX = 50, 160, 30, 100
COMMON_PASSWORDS_CHECKED = 10_000


@dataclass(frozen=True)
class AuthResult:
    token: str
    user: UserRecord


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_PASSWORDS_CHECKED])


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def password_hasher(settings: Settings) -> PasswordHasher:
    """Argon2id with the configured cost."""
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism
    )


# --- validation -----------------------------------------------------------------------------


def _check_username(username: str, errors: ErrorCollector) -> None:
    if not USERNAME_PATTERN.fullmatch(username):
        errors.add(
            ErrorCode.INVALID_USERNAME,
            "Usernames are 1 to 15 letters, digits or underscores.",
            "username",
        )


def _normalized_email(email: str, errors: ErrorCollector) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        errors.add(ErrorCode.INVALID_EMAIL, str(exc), "email")
        return email


def _check_password(password: str, username: str, email: str, errors: ErrorCollector) -> None:
    if len(password) < PASSWORD_MIN:
        errors.add(
            ErrorCode.TOO_SHORT, f"Passwords need at least {PASSWORD_MIN} characters.", "password"
        )
    elif len(password) > PASSWORD_MAX:
        errors.add(
            ErrorCode.TOO_LONG, f"Passwords have at most {PASSWORD_MAX} characters.", "password"
        )
    elif password.lower() in _common_passwords() or password.lower() in {
        username.lower(),
        email.lower(),
    }:
        errors.add(
            ErrorCode.WEAK_PASSWORD,
            "This password is too common or too easy to guess; choose another.",
            "password",
        )


def _clean_text(
    value: str | None,
    field: str,
    max_length: int,
    errors: ErrorCollector,
    *,
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """Normalised text, or None when empty and not required."""
    cleaned = normalize(value) if value is not None else ""
    if not cleaned:
        if required:
            errors.add(ErrorCode.REQUIRED, f"{field} cannot be empty.", field)
        return None
    if has_control_characters(cleaned, allow_newlines=multiline):
        errors.add(ErrorCode.INVALID, f"{field} contains control characters.", field)
    if len(cleaned) > max_length:
        errors.add(ErrorCode.TOO_LONG, f"{field} has at most {max_length} characters.", field)
    return cleaned


def _clean_website(value: str | None, errors: ErrorCollector) -> str | None:
    website = _clean_text(value, "website", WEBSITE_MAX, errors)
    if website is None:
        return None
    if "://" not in website:
        website = "https://" + website
    parts = urlsplit(website)
    host = parts.hostname or ""
    if parts.scheme not in {"http", "https"} or "." not in host or " " in website:
        errors.add(ErrorCode.INVALID_URL, "website must be an http(s) URL.", "website")
    elif len(website) > WEBSITE_MAX:
        errors.add(ErrorCode.TOO_LONG, f"website has at most {WEBSITE_MAX} characters.", "website")
    return website


def _clean_region(value: str | None, errors: ErrorCollector) -> str | None:
    if value is None or not value.strip():
        return None
    region = value.strip().upper()
    if not REGION_PATTERN.fullmatch(region):
        errors.add(
            ErrorCode.INVALID_REGION, "region is a two-letter ISO 3166-1 country code.", "region"
        )
    return region


# --- use cases ------------------------------------------------------------------------------


async def register(
    core: Core,
    *,
    username: str,
    email: str,
    password: str,
    display_name: str | None = None,
    user_agent: str | None = None,
) -> AuthResult:
    errors = ErrorCollector()
    username = username.strip()
    _check_username(username, errors)
    email = _normalized_email(email, errors)
    _check_password(password, username, email, errors)
    name = _clean_text(display_name or username, "displayName", DISPLAY_NAME_MAX, errors)
    errors.raise_if_any()

    async with core.db.read_session() as session:
        taken = (
            await session.execute(
                select(User.username, User.email).where(
                    or_(
                        func.lower(User.username) == username.lower(),
                        func.lower(User.email) == email,
                    )
                )
            )
        ).all()
    for row in taken:
        if row.username.lower() == username.lower():
            errors.add(ErrorCode.USERNAME_TAKEN, "This username is taken.", "username")
        if row.email.lower() == email:
            errors.add(ErrorCode.EMAIL_TAKEN, "An account with this email exists.", "email")
    errors.raise_if_any()

    password_hash = await asyncio.to_thread(password_hasher(core.settings).hash, password)
    try:
        async with unit_of_work(core) as work:
            user = User(
                username=username, email=email, password_hash=password_hash, display_name=name
            )
            work.session.add(user)
            await work.session.flush()
            work.session.add_all([UserStats(user_id=user.id), UserSettings(user_id=user.id)])
            await work.emit(ProfileChanged(user_id=user.id))
    except IntegrityError as exc:
        # Lost a race with another registration between the check and the insert.
        raise _taken_error(exc) from exc
    token = await sessions.create(core, user.id, user_agent)
    return AuthResult(token=token, user=UserRecord.of(user))


def _taken_error(exc: IntegrityError) -> DomainError:
    if "uq_users_email_lower" in str(exc.orig):
        return DomainError(ErrorCode.EMAIL_TAKEN, "An account with this email exists.", "email")
    return DomainError(ErrorCode.USERNAME_TAKEN, "This username is taken.", "username")


async def login(
    core: Core,
    *,
    username_or_email: str,
    password: str,
    client_ip: str,
    user_agent: str | None = None,
) -> AuthResult:
    """Guessing is slowed per account and IP, and per account across IPs that never signed
    into it; the owner's known IPs are exempt from the second, so a stranger can never lock
    the owner out. A missing account costs the same hash as a present one (no timing tell)."""
    identifier = username_or_email.strip().lower()
    async with core.db.read_session() as session:
        user = await session.scalar(
            select(User).where(
                or_(func.lower(User.username) == identifier, func.lower(User.email) == identifier)
            )
        )
    # Username and email name one account: one set of buckets.
    account = f"user:{user.id}" if user is not None else f"name:{identifier}"
    buckets = [(f"login-failures:{account}:{client_ip}", _budget(core, "per_account"))]
    if user is None or not await _known_ip(core, user.id, client_ip):
        buckets.append((f"login-failures:{account}", _budget(core, "per_account_all_ips")))
    for bucket, budget in buckets:
        decision = await rate_limits.spend(core.redis.main, bucket, budget, record=False)
        if not decision.allowed:
            raise RateLimited(decision, "Too many failed logins; try again later.")

    hasher = password_hasher(core.settings)
    password_hash = user.password_hash if user is not None else _decoy_hash(hasher)
    verified = await asyncio.to_thread(_verify, hasher, password_hash, password)
    if user is None or not verified:
        for bucket, budget in buckets:
            await rate_limits.spend(core.redis.main, bucket, budget)
        raise DomainError(
            ErrorCode.INVALID_CREDENTIALS, "Wrong username, email or password.", "password"
        )
    await rate_limits.reset(core.redis.main, buckets[0][0])
    await core.redis.main.sadd(keys.known_ips(user.id), client_ip)  # type: ignore[misc]  # redis-py types results T | Awaitable[T]
    await core.redis.main.expire(keys.known_ips(user.id), KNOWN_IP_SECONDS)
    if hasher.check_needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(hasher.hash, password)
        async with core.db.session() as session:
            await session.execute(
                update(User).where(User.id == user.id).values(password_hash=new_hash)
            )
    token = await sessions.create(core, user.id, user_agent)
    return AuthResult(token=token, user=UserRecord.of(user))


KNOWN_IP_SECONDS = 90 * 86400


async def _known_ip(core: Core, user_id: int, client_ip: str) -> bool:
    known = await core.redis.main.sismember(keys.known_ips(user_id), client_ip)  # type: ignore[misc]  # redis-py types results T | Awaitable[T]
    return bool(known)


def _budget(core: Core, which: str) -> Budget:
    return Budget.parse(getattr(core.settings, f"rate_limit_login_failures_{which}"))


@cache
def _decoy_hash_for(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash(secrets.token_urlsafe(16))


def _decoy_hash(hasher: PasswordHasher) -> str:
    """A hash of nothing anyone knows, with the configured cost, to verify against when the
    account does not exist."""
    return _decoy_hash_for(hasher.time_cost, hasher.memory_cost, hasher.parallelism)


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def logout(core: Core, token: str) -> None:
    await sessions.revoke(core, token)


PROFILE_FIELDS = (
    "display_name",
    "bio",
    "location",
    "website",
    "protected",
    "region",
    "avatar_media_id",
    "banner_media_id",
)
# The input field each media choice comes from, for errors.
_MEDIA_FIELDS = {"avatar_media_id": "avatarMediaId", "banner_media_id": "bannerMediaId"}


async def update_profile(core: Core, user_id: int, changes: dict[str, Any]) -> UserRecord:
    """Apply the fields present in ``changes`` (a None value clears an optional field)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"unknown profile fields: {sorted(unknown)}")
    errors = ErrorCollector()
    values: dict[str, Any] = {}
    if "display_name" in changes:
        values["display_name"] = _clean_text(
            changes["display_name"], "displayName", DISPLAY_NAME_MAX, errors, required=True
        )
    if "bio" in changes:
        values["bio"] = _clean_text(changes["bio"], "bio", BIO_MAX, errors, multiline=True)
    if "location" in changes:
        values["location"] = _clean_text(changes["location"], "location", LOCATION_MAX, errors)
    if "website" in changes:
        values["website"] = _clean_website(changes["website"], errors)
    if "region" in changes:
        values["region"] = _clean_region(changes["region"], errors)
    if "protected" in changes:
        if changes["protected"] is None:
            errors.add(ErrorCode.REQUIRED, "protected cannot be null.", "protected")
        values["protected"] = changes["protected"]
    errors.raise_if_any()
    for name, field in _MEDIA_FIELDS.items():
        if name in changes:
            values[name] = await _own_ready_image(core, user_id, changes[name], field)

    async with unit_of_work(core) as work:
        session = work.session
        if "protected" in values:
            # The same lock as posting: no tweet of this user is counted under the old rule
            # while the counts move to the new one.
            await session.execute(select(func.pg_advisory_xact_lock(user_id)))
            if values["protected"] != await is_protected(session, user_id):
                work.count(await _protection_deltas(session, user_id, values["protected"]))
                await work.emit(ProtectionChanged(user_id=user_id, protected=values["protected"]))
        if values:
            await session.execute(
                update(User).where(User.id == user_id).values(**values, updated_at=func.now())
            )
            if "display_name" in values:
                await work.emit(ProfileChanged(user_id=user_id))
        user = await session.get(User, user_id, populate_existing=True)
    if user is None:
        raise DomainError(ErrorCode.NOT_FOUND, "No such user.")
    return UserRecord.of(user)


async def _own_ready_image(
    core: Core, user_id: int, media_id: int | None, field: str
) -> int | None:
    """An avatar or banner: one of the user's own processed images (None clears it)."""
    if media_id is None:
        return None
    async with core.db.read_session() as session:
        media = await session.get(Media, media_id)
    if media is None or media.owner_id != user_id:
        raise DomainError(ErrorCode.NOT_FOUND, "No such media.", field)
    if media.kind is MediaKind.VIDEO:
        raise DomainError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Use an image, not a video.", field)
    if media.status is not MediaStatus.READY:
        raise DomainError(
            ErrorCode.MEDIA_NOT_READY, "The image is still processing or failed.", field
        )
    return media_id


async def _protection_deltas(session: AsyncSession, user_id: int, protected: bool) -> list[Delta]:
    """A protected account's replies, quotes and retweets leave the public counts of the tweets
    they point at; made public again, they come back."""
    rows = await session.execute(
        select(Tweet.reply_to_tweet_id, Tweet.quote_of_tweet_id, Tweet.retweet_of_tweet_id).where(
            Tweet.author_id == user_id,
            Tweet.deleted_at.is_(None),
            or_(
                Tweet.reply_to_tweet_id.is_not(None),
                Tweet.quote_of_tweet_id.is_not(None),
                Tweet.retweet_of_tweet_id.is_not(None),
            ),
        )
    )
    return [
        delta
        for row in rows
        for delta in counting.conversation_deltas(
            reply_to_id=row.reply_to_tweet_id,
            quote_of_id=row.quote_of_tweet_id,
            retweet_of_id=row.retweet_of_tweet_id,
            author_protected=False,
            amount=-1 if protected else 1,
        )
    ]


ACTIVITY_RESOLUTION_SECONDS = 3600

# The cached session's user, marked active in the same round trip (a request's only Redis call
# before it runs). False when the session is not cached: the caller asks PostgreSQL.
_SESSION_AND_ACTIVITY = """
local user_id = redis.call('GET', KEYS[1])
if not user_id then return false end
local fresh = redis.call('SET', ARGV[1] .. user_id, 1, 'EX', ARGV[2], 'NX')
"""
_SIGNED_IN = _SESSION_AND_ACTIVITY + "return {user_id, fresh and 1 or 0}\n"
# The same, then the cost spent from the user's own bucket (ARGV[3] .. user id; ARGV[4..7]:
# the rest of ``gcra``'s arguments) in the same call.
_SIGNED_IN_SPENDING = (
    rate_limits.GCRA_FUNCTION
    + _SESSION_AND_ACTIVITY
    + """local spent = gcra(ARGV[3] .. user_id, ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return {user_id, fresh and 1 or 0, spent[1], spent[2], spent[3], spent[4]}
"""
)


async def signed_in_viewer_spending(
    core: Core, token: str, bucket_prefix: str, budget: Budget, cost: int
) -> tuple[int, rate_limits.Decision] | None:
    """``signed_in_viewer``, and ``cost`` spent from ``budget`` in the signed-in user's bucket
    (``bucket_prefix`` + their id), in one round trip. None when the session is not cached
    (or the token is malformed): nothing was spent, and the caller signs in and spends in
    turn."""
    if not sessions.well_formed(token):
        return None
    found = await core.redis.main.eval(  # type: ignore[misc]
        _SIGNED_IN_SPENDING,
        1,
        keys.session(sessions.hash_token(token).hex()),
        keys.ACTIVE_PREFIX,
        str(ACTIVITY_RESOLUTION_SECONDS),
        keys.rate_limit(bucket_prefix),
        *rate_limits.gcra_arguments(budget, cost),
    )
    if not found:
        return None
    user_id = int(found[0])
    if found[1]:
        await _note_active(core, user_id)
    return user_id, rate_limits.decision_of(found[2:], budget)


async def signed_in_viewer(core: Core, token: str) -> int | None:
    """The user a request's token signs in (None for an unknown, revoked or expired token),
    noted as active at most once an hour: fan-out skips long-inactive users."""
    if not sessions.well_formed(token):
        return None
    token_hash = sessions.hash_token(token)
    found = await core.redis.main.eval(  # type: ignore[misc]
        _SIGNED_IN,
        1,
        keys.session(token_hash.hex()),
        keys.ACTIVE_PREFIX,
        str(ACTIVITY_RESOLUTION_SECONDS),
    )
    if found:
        user_id, fresh = int(found[0]), bool(found[1])
    else:
        found_user = await sessions.user_id_from_database(core, token_hash)
        if found_user is None:
            return None
        user_id = found_user
        fresh = bool(
            await core.redis.main.set(
                keys.active(user_id), 1, ex=ACTIVITY_RESOLUTION_SECONDS, nx=True
            )
        )
    if fresh:
        await _note_active(core, user_id)
    return user_id


async def _note_active(core: Core, user_id: int) -> None:
    async with core.db.session() as session:
        await session.execute(
            update(User).where(User.id == user_id).values(last_active_at=func.now())
        )
