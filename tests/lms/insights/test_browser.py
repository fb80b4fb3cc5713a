"""The country dashboard and the world map in a real Chromium, in English and Arabic.

UPDATE_SCREENSHOTS=1 saves docs/screenshots/insights-*.png.
"""

import pytest
from django.conf import settings
from django.test import Client

from lms.accounts.models import Role
from lms.insights import services
from lms.insights.simulation import activity_simulate
from tests.lms.insights.conftest import make_staff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed_in_admin(page, live_server):
    activity_simulate(learners=500, seed=3)
    services.rollups_refresh()
    admin = make_staff(Role.NETWORK_ADMIN)
    client = Client()
    client.force_login(admin)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return admin


def test_world_map_and_country_dashboard_render_without_outside_requests(
    page, live_server, signed_in_admin, screenshot
):
    # Both languages in one test: the simulated data is the expensive part.
    for language, direction in (("en", "ltr"), ("ar", "rtl")):
        _world_then_country(page, live_server.url, screenshot, language, direction)
    assert page.outside_requests == []


def _world_then_country(page, url, screenshot, language, direction):
    page.goto(f"{url}/{language}/insights/")
    assert page.locator("html").get_attribute("dir") == direction
    tiles = page.locator("svg.tile-map g[data-country]")
    assert tiles.count() > 200  # one square per country
    assert page.locator("svg.tile-map g[data-country=NG] rect").get_attribute("fill") != "#eef1f5"  # has learners
    screenshot(f"insights-world-{language}")

    page.locator("a[href$='/insights/ng/']").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().endswith("Nigeria") or "نيجيريا" in page.locator("h1").inner_text()
    assert page.locator("svg.chart polyline").count() >= 1
    assert page.locator(".figures .figure").count() == 7
    screenshot(f"insights-country-{language}")
