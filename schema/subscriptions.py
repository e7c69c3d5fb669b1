"""The root Subscription type."""

from __future__ import annotations

import strawberry

from resolvers import subscriptions, trends


@strawberry.type
class Subscription:
    home_timeline = strawberry.subscription(
        resolver=subscriptions.home_timeline,
        description="Each tweet as it lands in the viewer's home timeline.",
    )
    notifications = strawberry.subscription(
        resolver=subscriptions.notifications, description="Each new or updated notification."
    )
    tweet_engagement = strawberry.subscription(
        resolver=subscriptions.tweet_engagement,
        description="Live like/retweet/reply/quote counts of one tweet (coalesced).",
    )
    trends = strawberry.subscription(
        resolver=trends.live_trends,
        description="The trends of a region (or global): now, then whenever they change.",
    )
