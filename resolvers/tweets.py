"""tweet, postTweet, editTweet, deleteTweet, bookmarks."""

from __future__ import annotations

import strawberry

from resolvers.common import decode_id, returns_errors_in
from resolvers.limits import Action, spend
from schema.connections import Connection
from schema.context import Info
from schema.node import db_id_of
from schema.payloads import (
    DeleteTweetPayload,
    EditTweetInput,
    EditTweetPayload,
    PostTweetInput,
    PostTweetPayload,
)
from schema.tweets import Tweet, tweet_connection, visible_tweet
from starling.queries import tweets as tweet_queries
from starling.queries.pagination import page_request
from starling.services import home_timeline as home_timeline_service
from starling.services import tweets


async def tweet(info: Info, id: strawberry.ID) -> Tweet | None:
    return await visible_tweet(info, db_id_of(id, "Tweet"))


@returns_errors_in(PostTweetPayload)
async def post_tweet(info: Info, input: PostTweetInput) -> PostTweetPayload:
    author_id = info.context.require_viewer()
    await spend(info, Action.POST)
    posted = await tweets.post_tweet(
        info.context.core,
        author_id,
        text=input.text,
        reply_to_id=decode_id(input.reply_to_id, "Tweet", "replyToId")
        if input.reply_to_id
        else None,
        quote_of_id=decode_id(input.quote_of_id, "Tweet", "quoteOfId")
        if input.quote_of_id
        else None,
        # An id that is not ours names no media (0 is never an id): the service reports it
        # after the checks that come first (how many, duplicates).
        media_ids=[db_id_of(media_id, "Media") or 0 for media_id in input.media_ids],
        idempotency_key=input.idempotency_key,
    )
    info.context.loaders.prime_tweets([posted.tweet])
    return PostTweetPayload(tweet=Tweet.from_record(posted.tweet))


@returns_errors_in(EditTweetPayload)
async def edit_tweet(info: Info, input: EditTweetInput) -> EditTweetPayload:
    editor_id = info.context.require_viewer()
    edited = await tweets.edit_tweet(
        info.context.core, editor_id, decode_id(input.id, "Tweet"), input.text
    )
    return EditTweetPayload(tweet=Tweet.from_record(edited))


@returns_errors_in(DeleteTweetPayload)
async def delete_tweet(info: Info, id: strawberry.ID) -> DeleteTweetPayload:
    user_id = info.context.require_viewer()
    await tweets.delete_tweet(info.context.core, user_id, decode_id(id, "Tweet"))
    return DeleteTweetPayload(deleted_id=id)


async def bookmarks(
    info: Info, first: int | None = None, after: str | None = None
) -> Connection[Tweet]:
    viewer_id = info.context.require_viewer()
    page = await tweet_queries.bookmarked_tweets(
        info.context.core.db, viewer_id, page_request(first, after)
    )
    return await tweet_connection(info, page)


async def home_timeline(
    info: Info, first: int | None = None, after: str | None = None
) -> Connection[Tweet]:
    viewer_id = info.context.require_viewer()
    page = await home_timeline_service.read(
        info.context.core, viewer_id, page_request(first, after)
    )
    return await tweet_connection(info, page)
