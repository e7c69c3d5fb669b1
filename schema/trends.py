"""Trends."""

from __future__ import annotations

import strawberry

from starling.storage import trends


@strawberry.type(description="A hashtag many accounts are suddenly using.")
class Trend:
    name: str = strawberry.field(description="The hashtag, without '#', lowercased.")
    tweet_count: int = strawberry.field(description="Tweets with it in the last 24 hours.")
    user_count: int = strawberry.field(description="Accounts that used it in the last hour.")
    score: float = strawberry.field(
        description="How unusual its use is now against the same hours of previous days "
        "(decaying from its peak); personalised lists weigh in the accounts you follow."
    )
    region: str | None = strawberry.field(description="The region's code, or null for global.")

    @classmethod
    def from_trend(cls, trend: trends.Trend, region: str | None) -> Trend:
        return cls(
            name=trend.name,
            tweet_count=trend.tweet_count,
            user_count=trend.user_count,
            score=trend.score,
            region=region,
        )
