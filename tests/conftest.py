"""Shared test set-up: a clean cache per test, and one real Chromium (Debian's, never a downloaded
one) driven by Playwright against the live test server, for every directory that has browser tests."""

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _clean_cache(request):
    # Only Django tests touch the cache; the sandbox tests must not need Django at all.
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from django.core.cache import cache

        cache.clear()
    yield


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium).")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make while
    # it runs are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1100, "height": 860})
    page = context.new_page()
    page.outside_requests = []
    page.csp_violations = []
    page.on(
        "console",
        lambda message: page.csp_violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    # Nothing may be fetched from anywhere but the platform itself.
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(live_server.url) or request.url.startswith("data:")
            else page.outside_requests.append(request.url)
        ),
    )
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a screenshot into docs/screenshots when UPDATE_SCREENSHOTS=1 (kept out of normal runs)."""

    def take(name: str) -> None:
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)

    return take
