"""searchTweets, searchUsers, autocomplete and hashtag."""

from __future__ import annotations

from resolvers.limits import Action, spend
from schema.connections import Connection
from schema.context import Info
from schema.search import Hashtag, HashtagSuggestion, SearchSort, Suggestion, UserSuggestion
from schema.tweets import Tweet, tweet_connection
from schema.users import User, user_connection
from starling.errors import DomainError, ErrorCode
from starling.queries import hashtags as hashtag_queries
from starling.queries.pagination import page_request
from starling.search_query import parse
from starling.storage import search
from starling.text import MAX_HASHTAG_LENGTH


async def search_tweets(
    info: Info,
    query: str,
    first: int | None = None,
    after: str | None = None,
    sort: SearchSort = SearchSort.TOP,
) -> Connection[Tweet]:
    request = page_request(first, after)
    tree = parse(query)
    await spend(info, Action.SEARCH)
    searched = await info.context.core.search.search_tweets(
        tree, info.context.viewer_id, search.SearchSort(sort.value), request
    )
    info.context.note_search(searched)
    return await tweet_connection(info, searched.value)


async def search_users(
    info: Info, query: str, first: int | None = None, after: str | None = None
) -> Connection[User]:
    request = page_request(first, after)
    await spend(info, Action.SEARCH)
    searched = await info.context.core.search.search_users(query, info.context.viewer_id, request)
    info.context.note_search(searched)
    return user_connection(info, searched.value)


async def autocomplete(info: Info, prefix: str, limit: int = 10) -> list[Suggestion]:
    """``@ada`` suggests users, ``#ada`` hashtags, ``ada`` both: users first, then hashtags."""
    if not 1 <= limit <= search.AUTOCOMPLETE_MAX:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT,
            f"limit must be between 1 and {search.AUTOCOMPLETE_MAX}.",
            "limit",
        )
    text = prefix.strip()
    kind = text[:1] if text[:1] in ("@", "#") else ""
    wanted = text.lstrip("@#")
    if len(wanted) > search.MAX_NAME_QUERY:
        raise DomainError(
            ErrorCode.BAD_USER_INPUT,
            f"A prefix is at most {search.MAX_NAME_QUERY} characters.",
            "prefix",
        )
    if not wanted or not all(c.isalnum() or c == "_" for c in wanted):
        return []  # nothing a username or hashtag could start with
    users = limit if kind == "@" else 0 if kind == "#" else (limit + 1) // 2
    searched = await info.context.core.search.suggest(
        wanted, info.context.viewer_id, users=users, hashtags=0 if kind == "@" else limit
    )
    info.context.note_search(searched)
    found = searched.value
    suggestions: list[Suggestion] = [
        UserSuggestion(user=User.from_record(user)) for user in found.users
    ]
    suggestions += [
        HashtagSuggestion(name=tag.name, tweet_count=tag.tweet_count) for tag in found.hashtags
    ]
    return suggestions[:limit]


async def hashtag(info: Info, name: str) -> Hashtag | None:
    tag = name.strip().lstrip("#").lower()
    if not tag or len(tag) > MAX_HASHTAG_LENGTH:
        return None
    count = await hashtag_queries.uses(info.context.core.db, tag)
    return Hashtag(name=tag, tweet_count=count) if count else None
