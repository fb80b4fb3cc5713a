"""A learner solves an exercise in the browser, in English and Arabic, graded by a real worker."""

import json
import time

import pytest

from courses.exercises import exercise_create_or_update
from courses.models import LessonPage
from lms.celery import app
from tests.builders import exercise_notebook, make_course
from tests.workers import Worker

pytestmark = [pytest.mark.e2e, pytest.mark.kernel, pytest.mark.django_db(transaction=True)]
WRONG = "def mean_square(xs):\n    return sum(xs) / len(xs)\n"
RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    # One worker for both languages: its warm pool carries over, as it would in production.
    with django_db_blocker.unblock():
        app.control.purge()
        worker = Worker("e2e-grading")
    yield worker
    worker.stop()


@pytest.fixture
def lesson(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1)
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    for page in LessonPage.objects.all():
        page.body.append(("exercise", {"exercise": exercise}))
        page.save_revision().publish()
    return LessonPage.objects.get(locale__language_code="en")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_wrong_answer_shows_the_failing_test_then_the_fix_scores(
    page, live_server, lesson, worker, django_user_model, screenshot, language
):
    django_user_model.objects.create_user("solver", "solver@example.org", "a-long-Passphrase-42")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(
        user_id=django_user_model.objects.get().pk, email="solver@example.org", verified=True, primary=True
    )
    page.goto(f"{live_server.url}/{language}/accounts/login/")
    page.fill("input[name=login]", "solver@example.org")
    page.fill("input[name=password]", "a-long-Passphrase-42")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()

    lesson_url = LessonPage.objects.get(locale__language_code=language).url
    page.goto(live_server.url + lesson_url)
    editor = page.locator("textarea.code-editor")
    editor.fill(WRONG)
    page.locator("button[value=check]").click()
    failed = page.locator(".exercise-feedback .test-results li.failed")
    failed.first.wait_for(timeout=240_000)  # the worker's first session starts cold
    assert "visible" in failed.first.text_content()

    editor.fill(RIGHT)
    started = time.perf_counter()
    page.locator("button[value=submit]").click()
    page.locator(".exercise-feedback .score", has_text="7 / 7").wait_for(timeout=240_000)
    print(f"submit to feedback on screen: {(time.perf_counter() - started) * 1000:.0f} ms ({language})")
    assert page.locator(".exercise-feedback li.failed").count() == 0
    screenshot(f"exercise-{language}")
    assert page.outside_requests == []
    assert page.csp_violations == []
