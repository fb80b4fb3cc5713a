"""Offline work in Jupyter, in English and Arabic: download the exercise notebook, upload it completed,
see the score; then press Check too often and read when to try again. Graded by a real worker."""

import json
import re
from pathlib import Path

import pytest

from courses.exercises import exercise_create_or_update
from courses.models import LessonPage
from lms.celery import app
from tests.builders import exercise_notebook, make_course
from tests.workers import Worker

pytestmark = [pytest.mark.e2e, pytest.mark.kernel, pytest.mark.django_db(transaction=True)]
RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"
PASSWORD = "a-long-Passphrase-42"


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        app.control.purge()
        worker = Worker("e2e-offline")
    yield worker
    worker.stop()


@pytest.fixture
def lesson(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1)
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    for lesson in LessonPage.objects.filter(alias_of__isnull=True):
        lesson.body.append(("exercise", {"exercise": exercise}))
        lesson.save_revision().publish()
    return exercise


def log_in(page, live_server, language, django_user_model):
    from allauth.account.models import EmailAddress

    user = django_user_model.objects.create_user("offline", "offline@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email="offline@example.org", verified=True, primary=True)
    page.goto(f"{live_server.url}/{language}/accounts/login/")
    page.fill("input[name=login]", "offline@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_download_complete_upload_and_see_the_score_then_the_rate_limit(
    page, live_server, lesson, worker, django_user_model, screenshot, settings, tmp_path, language
):
    settings.RATE_LIMITS = {"run": "20/m", "check": "1/h", "submit": "10/m"}
    log_in(page, live_server, language, django_user_model)
    page.goto(live_server.url + LessonPage.objects.get(locale__language_code=language).url)

    with page.expect_download() as download_info:
        page.locator(".exercise-download a").first.click()
    download = download_info.value
    assert download.suggested_filename == "mean-square.ipynb"
    notebook = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    answer_cells = [c for c in notebook["cells"] if c["metadata"].get("opencapacity", {}).get("answer")]
    assert len(answer_cells) == 1 and "def mean_square(xs):" in answer_cells[0]["source"]
    assert "sum(x * x" not in json.dumps(notebook)  # never the solution

    # What the learner does in Jupyter: write the answer, run it (outputs appear), save.
    answer_cells[0]["source"] = RIGHT
    answer_cells[0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "done\n"}]
    completed = tmp_path / "mean-square.ipynb"
    completed.write_text(json.dumps(notebook), encoding="utf-8")

    page.set_input_files(".exercise-upload input[type=file]", str(completed))
    assert page.locator(".exercise-upload input[value=submit]").is_checked()  # Submit unless Check is chosen
    page.locator(".exercise-upload button[type=submit]").click()
    page.locator(".exercise-feedback .score", has_text="7 / 7").wait_for(timeout=240_000)
    assert page.locator(".exercise-feedback li.failed").count() == 0
    screenshot(f"exercise-upload-{language}")

    # Check is allowed once an hour here: the second press is refused with the time to wait.
    page.locator(".exercise-form:not(.exercise-upload) button[value=check]").click()
    page.locator(".exercise-feedback .test-results").wait_for(timeout=240_000)
    page.locator(".exercise-form:not(.exercise-upload) button[value=check]").click()
    # The script shows "…" while the request is out; wait for the refusal itself.
    notice = page.locator(".exercise-feedback .notice", has_text=re.compile(r"\d"))
    notice.wait_for(timeout=30_000)
    text = notice.text_content()
    wait = int(re.search(r"(\d+)", text).group(1))
    assert 0 < wait <= 120
    assert ("“Check”" if language == "en" else "تحقّق") in text
    if language == "en":
        # The window is fixed to the clock: under two minutes left, the wait is told in seconds.
        assert re.search(rf"You can try again in {wait} (second|minute)", text)
    screenshot(f"exercise-rate-limit-{language}")
    assert page.outside_requests == []
    assert page.csp_violations == []
