"""Trends over GraphQL: counted by the worker's consumer from outbox events, scored by the refresh
job (called here with an injected clock instead of waiting for its schedule)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from starling.config import Settings
from starling.services import trends
from starling.storage import keys
from starling.storage.trends import GLOBAL, Trend
from tests.e2e.test_dataloaders import count_statements
from tests.support import Account, Api, db_id, ok, post, run_sql

Jobs = Callable[[], Awaitable[int]]
TRENDS = """
query($region: String, $limit: Int, $personalized: Boolean) {
  trends(region: $region, limit: $limit, personalized: $personalized) {
    name tweetCount userCount score region
  }
}
"""


async def accounts(api: Api, prefix: str, count: int, region: str | None = None) -> list[Account]:
    made = [await api.register(f"{prefix}{n}") for n in range(count)]
    if region:
        for account in made:
            await api.data(
                "mutation($r: String) { updateProfile(input: {region: $r}) { errors { code } } }",
                {"r": region},
                token=account.token,
            )
    return made


async def age_everyone(settings: Settings) -> None:
    """Accounts younger than a day count less (the bot rule, tested on its own below)."""
    await run_sql(settings, "UPDATE users SET created_at = now() - interval '30 days'")


async def listed(
    api: Api, region: str | None = None, viewer: Account | None = None, personalized: bool = False
) -> list[dict[str, Any]]:
    data = await api.data(
        TRENDS,
        {"region": region, "personalized": personalized},
        token=viewer.token if viewer else None,
    )
    return data["trends"]


async def names(api: Api, region: str | None = None) -> list[str]:
    return [t["name"] for t in await listed(api, region)]


async def test_a_burst_of_accounts_trends_and_one_loud_account_does_not(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings
) -> None:
    crowd = await accounts(api, "fan", 6)
    loud = (await accounts(api, "loud", 1))[0]
    await age_everyone(test_settings)
    for n, fan in enumerate(crowd):
        await post(api, fan, f"#RustLang is great, take {n}")
    for n in range(30):
        await post(api, loud, f"#buynow number {n}")
    await run_jobs()

    lists = await trends.refresh(app.state.core)
    assert [t.name for t in lists[GLOBAL]] == ["rustlang"]
    [rust] = await listed(api)
    assert rust["name"] == "rustlang"
    assert rust["userCount"] == 6
    assert rust["tweetCount"] == 6
    assert rust["region"] is None
    # (observed - expected)^2 / expected; loose only for a run that crosses an hour boundary.
    assert rust["score"] == pytest.approx((6 - 1) ** 2 / 1, rel=0.01)

    # A delivery processed twice counts nothing more.
    await trends.count_tweet(app.state.core, db_id((await post(api, crowd[0], "#RustLang"))["id"]))
    await run_jobs()
    await trends.refresh(app.state.core)
    [again] = await listed(api)
    assert (again["userCount"], again["tweetCount"]) == (6, 7)


async def test_fresh_accounts_count_less(api: Api, app: Any, run_jobs: Jobs) -> None:
    for fan in await accounts(api, "new", 8):
        await post(api, fan, "#freshtag")
    await run_jobs()
    await trends.refresh(app.state.core)
    assert await names(api) == []  # eight day-old accounts weigh 1.6 accounts


async def test_deleted_tweets_stop_counting(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings
) -> None:
    crowd = await accounts(api, "fan", 5)
    await age_everyone(test_settings)
    posted = [await post(api, fan, "#fleeting moment") for fan in crowd]
    await run_jobs()
    await trends.refresh(app.state.core)
    assert await names(api) == ["fleeting"]

    await ok(api, crowd[0], "deleteTweet", posted[0]["id"])
    await run_jobs()
    await trends.refresh(app.state.core)
    assert await names(api) == ["fleeting"]  # the peak decays; it does not vanish at once
    [state] = await listed(api)
    assert state["userCount"] == 4
    assert state["tweetCount"] == 4


async def test_regions_are_separate(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings
) -> None:
    for fan in await accounts(api, "fr", 5, region="FR"):
        await post(api, fan, "#paris ce soir")
    for fan in await accounts(api, "de", 5, region="de"):
        await post(api, fan, "#berlin heute")
    await age_everyone(test_settings)
    await run_jobs()
    await trends.refresh(app.state.core)

    assert await names(api, "FR") == ["paris"]
    assert await names(api, "de") == ["berlin"]
    assert sorted(await names(api)) == ["berlin", "paris"]
    assert (await listed(api, "fr"))[0]["region"] == "FR"
    assert await names(api, "JP") == []
    assert await api.error_codes(TRENDS, {"region": "FRA"}) == ["BAD_USER_INPUT"]
    assert await api.error_codes(TRENDS, {"limit": 0}) == ["BAD_USER_INPUT"]


async def test_an_old_spike_decays(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings
) -> None:
    for fan in await accounts(api, "fan", 7):
        await post(api, fan, "#spike")
    await age_everyone(test_settings)
    await run_jobs()
    now = datetime.now(UTC)
    [peak] = (await trends.refresh(app.state.core, now))[GLOBAL]

    # Four hours later nobody uses it: the score is its peak after two half-lives.
    [later] = (await trends.refresh(app.state.core, now + timedelta(hours=4)))[GLOBAL]
    assert later.score == pytest.approx(peak.score / 4, rel=1e-3)
    assert (await listed(api))[0]["score"] == later.score
    # A day later it is forgotten.
    assert (await trends.refresh(app.state.core, now + timedelta(hours=30)))[GLOBAL] == []


async def test_the_same_use_every_day_is_not_news(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings
) -> None:
    crowd = await accounts(api, "fan", 8)
    await age_everyone(test_settings)
    for fan in crowd:
        await post(api, fan, "#coffee time")
    await run_jobs()
    now = datetime.now(UTC)
    assert [t.name for t in (await trends.refresh(app.state.core, now))[GLOBAL]] == ["coffee"]

    # The same eight accounts at this hour on each of the next seven days (today's buckets
    # copied forward): on the seventh the baseline for this hour is eight, and so is what is
    # observed: not news. (With no baseline it would score (8 - 1)^2.)
    redis, hour = app.state.core.trend_counts.redis, int(now.timestamp() // 3600)
    for day in range(1, 8):
        for family in ("accounts", "people", "tweets"):
            await redis.copy(
                keys.trends_accounts(GLOBAL, hour).replace("accounts", family),
                keys.trends_accounts(GLOBAL, hour + 24 * day).replace("accounts", family),
                replace=True,
            )
    assert (await trends.refresh(app.state.core, now + timedelta(days=7)))[GLOBAL] == []


async def test_the_deny_list(api: Api, app: Any, run_jobs: Jobs, test_settings: Settings) -> None:
    for fan in await accounts(api, "fan", 5):
        await post(api, fan, "#Banned and #allowed")
    await age_everyone(test_settings)
    await run_jobs()
    core = app.state.core
    denying = dataclasses.replace(
        core, settings=core.settings.model_copy(update={"trends_deny": "#BANNED, other"})
    )
    await trends.refresh(denying)
    assert await names(api) == ["allowed"]
    await trends.refresh(core)  # lifted: it shows at the next refresh
    assert sorted(await names(api)) == ["allowed", "banned"]


async def test_personalised_trends_favour_what_followed_accounts_use(
    api: Api, app: Any, run_jobs: Jobs, test_settings: Settings
) -> None:
    viewer = (await accounts(api, "viewer", 1))[0]
    big = await accounts(api, "big", 8)
    small = await accounts(api, "small", 6)
    for fan in big:
        await post(api, fan, "#everyone")
    for fan in small:
        await post(api, fan, "#niche")
    for friend in small[:2]:
        await ok(api, viewer, "followUser", friend.id)
    await age_everyone(test_settings)
    await run_jobs()
    await trends.refresh(app.state.core)

    assert await names(api) == ["everyone", "niche"]
    mine = await listed(api, viewer=viewer, personalized=True)
    assert [t["name"] for t in mine] == ["niche", "everyone"]
    assert mine[0]["score"] == pytest.approx((6 - 1) ** 2 * 3, rel=0.01)  # x (1 + 2 followed)
    # Signed out, personalized asks for nothing it can use.
    assert [t["name"] for t in await listed(api, personalized=True)] == ["everyone", "niche"]


async def test_engagement_velocity(api: Api, run_jobs: Jobs) -> None:
    author = (await accounts(api, "author", 1))[0]
    fans = await accounts(api, "fan", 3)
    tweet = await post(api, author, "going up")
    for fan in fans:
        await ok(api, fan, "likeTweet", tweet["id"])
    await ok(api, fans[0], "retweet", tweet["id"])
    await ok(api, fans[1], "unlikeTweet", tweet["id"])
    await run_jobs()
    await run_jobs()  # a second pass finds nothing to do: each change counted once
    data = await api.data(
        "query($id: ID!) { tweet(id: $id) { engagementVelocity } }", {"id": tweet["id"]}
    )
    # Two likes and a retweet in the 10-minute window.
    assert data["tweet"]["engagementVelocity"] == pytest.approx(3 / 10)


async def test_statements_do_not_grow_with_the_list(api: Api, app: Any) -> None:
    """The list is read from Redis; personalising it is one statement whatever its length."""
    viewer = (await accounts(api, "viewer", 1))[0]
    await api.data("{ viewer { id } }", token=viewer.token)  # caches the session lookup
    counts = app.state.core.trend_counts
    for size in (3, 40):
        made = [Trend(f"tag{n}", 100.0 - n, 10, 5) for n in range(size)]
        await counts.publish_list(GLOBAL, made)
        with count_statements(app) as statements:
            assert len(await listed(api, viewer=viewer, personalized=True)) == min(size, 10)
        assert len(statements) == 1, statements
        with count_statements(app) as statements:
            await listed(api)
        assert statements == []
