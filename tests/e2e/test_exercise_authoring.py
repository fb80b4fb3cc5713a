"""An instructor brings a notebook in the admin, in English then Arabic, with a real grading worker:
the upload's self-check fails and the failure appears without a reload naming the cell, publishing
is refused, the fixed notebook passes and is published.

This is also the test of the check's Celery path: the worker (tests/workers.py) consumes only
queue `grading`, so a check task routed anywhere else would never finish here.
"""

import json

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.test import Client
from django.urls import reverse
from wagtail.users.models import UserProfile

from courses.models import Exercise
from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.celery import app
from tests.builders import exercise_notebook, make_course
from tests.workers import Worker

pytestmark = [pytest.mark.e2e, pytest.mark.kernel, pytest.mark.django_db(transaction=True)]
WRONG_SOLUTION = "def mean_square(xs):\n    ### BEGIN SOLUTION\n    return sum(xs) / len(xs)\n    ### END SOLUTION"
#: Two gradings per check on a busy machine; the page polls, the test only waits for it.
CHECK_WAIT_MS = 240_000


@pytest.fixture
def worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        app.control.purge()
        worker = Worker("e2e-authoring")
    yield worker
    worker.stop()


@pytest.fixture
def instructor(page, live_server, django_user_model, tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en",))
    user = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
    accounts.profile_create(user=user, country="EG")
    accounts.role_assign(user=user, role=Role.INSTRUCTOR)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    # A logged-in session (the TOTP login itself is tested in tests/lms/test_accounts.py).
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return user


def notebook_file(tmp_path, name, notebook):
    path = tmp_path / name
    path.write_text(json.dumps(notebook))
    return str(path)


def save_draft(page):
    page.locator("button.action-save").first.click()
    page.wait_for_load_state()


def publish(page):
    page.locator("footer [data-w-dropdown-target='toggle']").first.click()
    page.locator("button[name='action-publish']").click()
    page.wait_for_load_state()


def test_upload_failed_check_fix_and_publish(page, live_server, instructor, worker, screenshot, tmp_path):
    broken = exercise_notebook()
    broken["cells"][2]["source"] = WRONG_SOLUTION
    page.goto(live_server.url + reverse("wagtailsnippets_courses_exercise:add"))
    page.fill("input[name=slug]", "mean-square")
    page.set_input_files("input[name=notebook_file]", notebook_file(tmp_path, "mean-square.ipynb", broken))
    save_draft(page)
    exercise = Exercise.objects.get()
    assert page.url.endswith(reverse("wagtailsnippets_courses_exercise:edit", args=[exercise.pk]))

    # The check runs on the worker; the page learns its result by polling, without a reload.
    page.evaluate("window.stillTheSamePage = true")
    check_box = page.locator("[data-exercise-check]")
    assert check_box.get_attribute("data-status") in ("queued", "running")
    page.wait_for_selector("[data-exercise-check][data-status='failed']", timeout=CHECK_WAIT_MS)
    assert page.evaluate("window.stillTheSamePage") is True
    message = check_box.locator(".exercise-check__message").inner_text()
    assert "fails test visible in cell 3" in message, message
    assert "AssertionError" in check_box.locator(".exercise-check__detail").inner_text()

    # Publishing is refused, naming the cell; the learner never gets this version.
    publish(page)
    assert "cell 3" in page.locator(".messages").inner_text()
    assert not Exercise.objects.get().live
    screenshot("authoring/exercise-check-failed-en")

    # The same page in Arabic (right to left), then the fixed notebook.
    profile = UserProfile.get_for_user(instructor)
    profile.preferred_language = "ar"
    profile.save()
    page.reload()
    assert page.locator("html").get_attribute("dir") == "rtl"
    screenshot("authoring/exercise-check-failed-ar")
    page.set_input_files("input[name=notebook_file]", notebook_file(tmp_path, "mean-square.ipynb", exercise_notebook()))
    save_draft(page)
    page.evaluate("window.stillTheSamePage = true")
    page.wait_for_selector("[data-exercise-check][data-status='passed']", timeout=CHECK_WAIT_MS)
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot("authoring/exercise-check-passed-ar")
    publish(page)
    exercise = Exercise.objects.get()
    assert exercise.live and not exercise.has_unpublished_changes
    assert "sum(x * x for x in xs)" in json.dumps(exercise.notebook)  # the fixed solution is what went live

    # The preview panel: the learner version, as the lesson's exercise block renders it.
    page.goto(live_server.url + reverse("wagtailsnippets_courses_exercise:edit", args=[exercise.pk]))
    page.locator("[data-side-panel-toggle='preview']").click()
    preview = page.frame_locator("iframe#w-preview-iframe")
    preview.locator(".exercise textarea.code-editor").first.wait_for(state="attached")
    assert "sum(x * x" not in preview.locator(".exercise").inner_text()
    screenshot("authoring/exercise-preview-ar")
    assert page.outside_requests == []
