"""Accounts end to end over HTTP: register, login, logout, viewer, user, updateProfile."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from starling.config import Settings
from starling.models import Session, User, UserSettings, UserStats
from tests.support import STRONG_PASSWORD, Api

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { token user { username } errors { code field message } }
}
"""
VIEWER = "{ viewer { id username email displayName followersCount tweetsCount } }"
LOGOUT = "mutation { logout { success errors { code } } }"
UPDATE_PROFILE = """
mutation Update($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    user { displayName bio location website protected region }
    errors { code field message }
  }
}
"""


async def count_rows(settings: Settings, model: type) -> int:
    assert settings.database_url
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(model))
    await engine.dispose()
    return int(count or 0)


def codes(payload: dict) -> set[tuple[str, str | None]]:
    return {(error["code"], error["field"]) for error in payload["errors"]}


async def test_register_returns_a_working_token(api: Api) -> None:
    account = await api.register("Ada_Lovelace", display_name="Ada")

    viewer = (await api.data(VIEWER, token=account.token))["viewer"]
    assert viewer["username"] == "Ada_Lovelace"
    assert viewer["displayName"] == "Ada"
    assert viewer["email"] == "ada_lovelace@example.com"
    assert viewer["followersCount"] == 0
    assert viewer["id"] == account.id


async def test_register_creates_stats_and_settings_rows(api: Api, test_settings: Settings) -> None:
    await api.register("grace")
    assert await count_rows(test_settings, UserStats) == 1
    assert await count_rows(test_settings, UserSettings) == 1


@pytest.mark.parametrize("taken_as", ["ada", "ADA", "Ada"])
async def test_usernames_are_unique_whatever_their_case(api: Api, taken_as: str) -> None:
    await api.register("Ada")
    payload = await api.register_payload(taken_as, "other@example.com")
    assert payload["token"] is None
    assert payload["user"] is None
    assert codes(payload) == {("USERNAME_TAKEN", "username")}


async def test_emails_are_unique_whatever_their_case(api: Api) -> None:
    await api.register("ada", email="ada@example.com")
    payload = await api.register_payload("grace", "ADA@Example.com")
    assert codes(payload) == {("EMAIL_TAKEN", "email")}


async def test_concurrent_registrations_of_one_name_create_one_user(
    api: Api, test_settings: Settings
) -> None:
    payloads = await asyncio.gather(
        *(api.register_payload("racer", f"racer{i}@example.com") for i in range(8))
    )
    winners = [p for p in payloads if not p["errors"]]
    assert len(winners) == 1
    assert all(codes(p) == {("USERNAME_TAKEN", "username")} for p in payloads if p["errors"])
    assert await count_rows(test_settings, User) == 1


@pytest.mark.parametrize(
    "username", ["", "sixteen_chars_xx", "has space", "dash-ed", "émile", "semi;colon"]
)
async def test_invalid_usernames_are_rejected(api: Api, username: str) -> None:
    payload = await api.register_payload(username, "someone@example.com")
    assert codes(payload) == {("INVALID_USERNAME", "username")}


async def test_fifteen_character_username_is_fine(api: Api) -> None:
    await api.register("fifteen_chars_x")


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "@example.com", "a b@example.com", ""])
async def test_invalid_emails_are_rejected(api: Api, email: str) -> None:
    payload = await api.register_payload("someone", email)
    assert codes(payload) == {("INVALID_EMAIL", "email")}


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "TOO_SHORT"),
        ("x" * 129, "TOO_LONG"),
        ("password", "WEAK_PASSWORD"),
        ("qwertyuiop", "WEAK_PASSWORD"),
        ("Password1", "WEAK_PASSWORD"),
        ("someone_12", "WEAK_PASSWORD"),  # the username itself
    ],
)
async def test_weak_passwords_are_rejected(api: Api, password: str, code: str) -> None:
    payload = await api.register_payload("someone_12", "someone@example.com", password)
    assert codes(payload) == {(code, "password")}


async def test_all_problems_are_reported_together_and_nothing_is_written(
    api: Api, test_settings: Settings
) -> None:
    payload = await api.register_payload("bad name", "nope", "123")
    assert codes(payload) == {
        ("INVALID_USERNAME", "username"),
        ("INVALID_EMAIL", "email"),
        ("TOO_SHORT", "password"),
    }
    assert await count_rows(test_settings, User) == 0


async def test_login_by_username_or_email_in_any_case(api: Api) -> None:
    await api.register("Ada", email="ada@example.com")
    for identifier in ("Ada", "ada", "ADA@EXAMPLE.COM"):
        payload = (
            await api.data(
                LOGIN, {"input": {"usernameOrEmail": identifier, "password": STRONG_PASSWORD}}
            )
        )["login"]
        assert payload["errors"] == []
        assert payload["user"]["username"] == "Ada"
        viewer = (await api.data(VIEWER, token=payload["token"]))["viewer"]
        assert viewer["username"] == "Ada"


@pytest.mark.parametrize(
    ("identifier", "password"), [("ada", "wrong password!"), ("nobody", STRONG_PASSWORD)]
)
async def test_login_with_wrong_credentials_fails_the_same_way(
    api: Api, identifier: str, password: str
) -> None:
    await api.register("ada")
    payload = (
        await api.data(LOGIN, {"input": {"usernameOrEmail": identifier, "password": password}})
    )["login"]
    assert payload["token"] is None
    assert codes(payload) == {("INVALID_CREDENTIALS", "password")}


async def test_logout_revokes_only_that_token(api: Api, test_settings: Settings) -> None:
    account = await api.register("ada")
    second = (
        await api.data(LOGIN, {"input": {"usernameOrEmail": "ada", "password": STRONG_PASSWORD}})
    )["login"]["token"]
    assert (await api.data(VIEWER, token=account.token))["viewer"] is not None

    assert (await api.data(LOGOUT, token=account.token))["logout"] == {
        "success": True,
        "errors": [],
    }

    assert (await api.data(VIEWER, token=account.token))["viewer"] is None
    assert await api.error_codes(LOGOUT, token=account.token) == ["UNAUTHENTICATED"]
    assert (await api.data(VIEWER, token=second))["viewer"]["username"] == "ada"
    assert await count_rows(test_settings, Session) == 1


async def test_viewer_without_token_is_null(api: Api) -> None:
    assert (await api.data(VIEWER))["viewer"] is None


@pytest.mark.parametrize("token", ["stl_not-a-real-token", "garbage", "x" * 500])
async def test_viewer_with_a_bad_token_is_null(api: Api, token: str) -> None:
    assert (await api.data(VIEWER, token=token))["viewer"] is None


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "bearer   ", "stl_abc"])
async def test_malformed_authorization_headers_mean_anonymous(api: Api, header: str) -> None:
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": header}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": None}


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (LOGOUT, {}),
        (UPDATE_PROFILE, {"input": {"bio": "hi"}}),
    ],
)
async def test_protected_fields_need_a_token(api: Api, document: str, variables: dict) -> None:
    body = await api.post(document, variables)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert body["data"] is None


async def test_email_is_visible_only_to_its_owner(api: Api) -> None:
    ada = await api.register("ada")
    grace = await api.register("grace")
    query = '{ user(username: "ada") { username email } }'
    assert (await api.data(query, token=ada.token))["user"]["email"] == "ada@example.com"
    assert (await api.data(query, token=grace.token))["user"]["email"] is None
    assert (await api.data(query))["user"]["email"] is None


async def test_user_by_username_ignores_case_and_at_sign(api: Api) -> None:
    await api.register("Ada")
    for name in ("ada", "ADA", "@Ada"):
        assert (await api.data(f'{{ user(username: "{name}") {{ username }} }}'))["user"] == {
            "username": "Ada"
        }
    assert (await api.data('{ user(username: "nobody") { username } }'))["user"] is None


async def test_update_profile_changes_only_the_fields_sent(api: Api) -> None:
    ada = await api.register("ada", display_name="Ada")
    payload = (
        await api.data(
            UPDATE_PROFILE,
            {
                "input": {
                    "bio": "  First programmer.\nAnalyst.  ",
                    "website": "ada.example.com",
                    "location": "London",
                    "region": "gb",
                    "protected": True,
                }
            },
            token=ada.token,
        )
    )["updateProfile"]
    assert payload["errors"] == []
    assert payload["user"] == {
        "displayName": "Ada",
        "bio": "First programmer.\nAnalyst.",
        "location": "London",
        "website": "https://ada.example.com",
        "protected": True,
        "region": "GB",
    }

    cleared = (
        await api.data(UPDATE_PROFILE, {"input": {"bio": None, "website": ""}}, token=ada.token)
    )["updateProfile"]
    assert cleared["user"]["bio"] is None
    assert cleared["user"]["website"] is None
    assert cleared["user"]["location"] == "London"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"displayName": "x" * 51}, {("TOO_LONG", "displayName")}),
        ({"displayName": "   "}, {("REQUIRED", "displayName")}),
        ({"displayName": None}, {("REQUIRED", "displayName")}),
        ({"displayName": "bell\u0007"}, {("INVALID", "displayName")}),
        ({"bio": "b" * 161}, {("TOO_LONG", "bio")}),
        ({"location": "l" * 31}, {("TOO_LONG", "location")}),
        ({"website": "ftp://example.com"}, {("INVALID_URL", "website")}),
        ({"website": "not a url"}, {("INVALID_URL", "website")}),
        ({"website": "https://" + "w" * 100 + ".com"}, {("TOO_LONG", "website")}),
        ({"region": "GBR"}, {("INVALID_REGION", "region")}),
        ({"protected": None}, {("REQUIRED", "protected")}),
    ],
)
async def test_update_profile_validation(api: Api, changes: dict, expected: set) -> None:
    ada = await api.register("ada", display_name="Ada")
    payload = (await api.data(UPDATE_PROFILE, {"input": changes}, token=ada.token))["updateProfile"]
    assert payload["user"] is None
    assert codes(payload) == expected


async def test_update_profile_writes_nothing_when_any_field_is_invalid(api: Api) -> None:
    ada = await api.register("ada", display_name="Ada")
    payload = (
        await api.data(
            UPDATE_PROFILE,
            {"input": {"bio": "a fine bio", "website": "nope"}},
            token=ada.token,
        )
    )["updateProfile"]
    assert codes(payload) == {("INVALID_URL", "website")}
    assert (await api.data('{ user(username: "ada") { bio website } }'))["user"] == {
        "bio": None,
        "website": None,
    }


async def test_counting_uses_characters_not_bytes(api: Api) -> None:
    ada = await api.register("ada")
    name = "é" * 50  # 50 characters, 100 bytes in UTF-8
    payload = (await api.data(UPDATE_PROFILE, {"input": {"displayName": name}}, token=ada.token))[
        "updateProfile"
    ]
    assert payload["errors"] == []
    assert payload["user"]["displayName"] == name
