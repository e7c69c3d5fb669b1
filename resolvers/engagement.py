"""likeTweet, unlikeTweet, retweet, undoRetweet, bookmarkTweet, unbookmarkTweet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from resolvers.common import decode_id, returns_errors_in, viewer_acts_on
from resolvers.limits import Action, spend
from schema.context import Info
from schema.payloads import EngagementPayload, RetweetPayload
from schema.tweets import Tweet, visible_tweet
from starling.core import Core
from starling.services import engagement


def _engagement(
    action: Callable[[Core, int, int], Awaitable[int]], budget: Action | None = None
) -> Callable[[Info, strawberry.ID], Awaitable[EngagementPayload]]:
    async def wrap(info: Info, tweet_id: int) -> EngagementPayload:
        # Read back under the viewer's read rule: undoing a like of a tweet one may no longer
        # see works, and shows nothing of the tweet.
        return EngagementPayload(tweet=await visible_tweet(info, tweet_id))

    return viewer_acts_on("Tweet", EngagementPayload, action, wrap, budget)


like_tweet = _engagement(engagement.like, Action.LIKE)
unlike_tweet = _engagement(engagement.unlike)
undo_retweet = _engagement(engagement.undo_retweet)
bookmark_tweet = _engagement(engagement.bookmark, Action.BOOKMARK)
unbookmark_tweet = _engagement(engagement.unbookmark)


@returns_errors_in(RetweetPayload)
async def retweet(info: Info, id: strawberry.ID) -> RetweetPayload:
    viewer_id = info.context.require_viewer()
    await spend(info, Action.POST)
    the_retweet, original = await engagement.retweet(
        info.context.core, viewer_id, decode_id(id, "Tweet")
    )
    return RetweetPayload(retweet=Tweet.from_record(the_retweet), tweet=Tweet.from_record(original))
