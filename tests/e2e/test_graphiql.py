"""GraphiQL works offline: a real headless Chromium loads the page from the app, with every
request to anywhere else refused, runs a query and sees the result."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


async def test_graphiql_runs_a_query_with_no_internet(server: str) -> None:
    if CHROMIUM is None:
        pytest.skip("no Chromium here (Debian's chromium package; .ci/run installs it)")
    from playwright.async_api import Route, async_playwright

    base = server.removesuffix("/graphql")
    elsewhere: list[str] = []

    async def only_the_app(route: Route) -> None:
        if route.request.url.startswith(base):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page()
            await page.route("**/*", only_the_app)
            await page.goto(server)
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            await page.evaluate(
                "document.querySelector('.graphiql-query-editor .CodeMirror')"
                ".CodeMirror.setValue('{ __typename hello: __typename }')"
            )
            await page.click(".graphiql-execute-button")
            response = page.locator(".graphiql-response")
            await response.get_by_text('"hello": "Query"').wait_for(timeout=20_000)
        finally:
            await browser.close()
    assert elsewhere == []
