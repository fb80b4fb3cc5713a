"""The instructor analytics in a real Chromium, in English and Arabic, and the regrade's progress bar
moving without a reload. The regrade's worker side runs in tests/lms/test_regrade.py; here the test
moves the counters as workers would, so no kernel is needed.

UPDATE_SCREENSHOTS=1 saves docs/screenshots/analytics/*.png.
"""

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.test import Client
from django.urls import reverse
from wagtail.users.models import UserProfile

from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.celery import app
from lms.progress import services
from lms.progress.models import Regrade, RegradeResult
from tests.conftest import SCREENSHOTS
from tests.lms.analytics_data import build_data_set

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def data(tmp_path, django_user_model):
    return build_data_set(tmp_path, django_user_model)


@pytest.fixture
def teacher(data, page, live_server, django_user_model):
    # After the course exists: instructors get page permissions on the catalogs there are.
    user = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
    accounts.profile_create(user=user, country="SN")
    accounts.role_assign(user=user, role=Role.INSTRUCTOR)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    page.context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": live_server.url}])
    (SCREENSHOTS / "analytics").mkdir(parents=True, exist_ok=True)
    return user


def test_analytics_pages_in_both_directions_and_the_regrade_progress_bar(page, live_server, data, teacher, screenshot):
    exercise_url = reverse("progress_analytics:exercise", kwargs={"exercise_id": data["exercise"].pk})
    course_url = reverse("progress_analytics:course", kwargs={"page_id": data["course"].pk})
    for language, direction in (("en", "ltr"), ("ar", "rtl")):
        UserProfile.objects.update_or_create(user=teacher, defaults={"preferred_language": language})
        page.goto(live_server.url + exercise_url)
        assert page.locator("html").get_attribute("dir") == direction
        assert page.locator("svg.analytics-chart rect").count() == 8  # one bar per point, 0 to 7
        assert page.locator("[data-figure=median]").inner_text() == "2"
        screenshot(f"analytics/exercise-{language}")
        page.goto(live_server.url + course_url)
        assert page.locator("#lesson-funnel tbody tr").count() == 3
        assert page.locator("[data-figure=enrolled]").inner_text() == "6"
        screenshot(f"analytics/course-{language}")

    # The regrade page polls its status: the bar moves and the changes appear, with no navigation.
    UserProfile.objects.update_or_create(user=teacher, defaults={"preferred_language": "en"})
    app.control.purge()
    regrade = services.regrade_start(exercise=data["exercise"], started_by=teacher)
    app.control.purge()  # no worker here: the test plays its part below
    page.goto(live_server.url + reverse("progress_analytics:regrade", kwargs={"regrade_id": regrade.pk}))
    page.evaluate("window.sameDocument = true")
    bar = page.locator("progress[data-regrade=bar]")
    assert bar.get_attribute("value") == "0" and page.locator("[data-regrade=results]").is_hidden()
    results = list(regrade.results.order_by("pk"))
    for result in results[:4]:
        RegradeResult.objects.filter(pk=result.pk).update(status="regraded", new_score=7.0, new_max_score=7.0)
    Regrade.objects.filter(pk=regrade.pk).update(status="running", done=4)
    page.wait_for_function("document.querySelector('progress[data-regrade=bar]').value === 4")
    for result in results[4:]:
        RegradeResult.objects.filter(pk=result.pk).update(status="regraded", new_score=7.0, new_max_score=7.0)
    Regrade.objects.filter(pk=regrade.pk).update(status="finished", done=9)
    page.locator("[data-regrade=results]").wait_for(state="visible")
    # Old scores 3 7 7 0 1 5 7 5 7, all now 7: five rows changed.
    assert page.locator("[data-regrade=rows] tr").count() == 5
    assert page.locator("[data-regrade=raised]").inner_text() == "5"
    assert page.evaluate("window.sameDocument") is True
    screenshot("analytics/regrade-en")
    assert page.outside_requests == [] and page.csp_violations == []
