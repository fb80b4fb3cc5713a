"""An exercise inside a lesson: the learner sees the release only, submits, and reads their own feedback."""

import html as html_lib
import json
import re

import pytest

from courses.exercises import exercise_create_or_update
from courses.models import LessonPage
from lms.progress.models import Submission
from tests.builders import exercise_notebook, make_course

pytestmark = pytest.mark.django_db
RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"


@pytest.fixture
def lesson_with_exercise(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en",))
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    lesson = LessonPage.objects.get(locale__language_code="en")
    lesson.body.append(("exercise", {"exercise": exercise}))
    lesson.save_revision().publish()
    return lesson, exercise


@pytest.fixture
def learner(client, django_user_model):
    user = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    client.force_login(user)
    return user


def test_the_lesson_shows_the_release_and_never_the_solution_or_hidden_tests(client, learner, lesson_with_exercise):
    lesson, _exercise = lesson_with_exercise
    html = client.get(lesson.url).content.decode()
    assert 'name="answer:answer"' in html and "def mean_square(xs):" in html
    assert "sum(x * x" not in html  # the solution
    assert "hidden-numpy" not in html and "np.isclose" not in html and "1.625" not in html  # hidden tests
    text = html_lib.unescape(re.sub(r"<[^>]+>", "", html))
    assert "assert mean_square([1, 2, 3]) == 14 / 3" in text  # the visible test is shown


def test_untranslated_arabic_alias_shows_the_exercise_too(client, learner, lesson_with_exercise):
    lesson = LessonPage.objects.get(locale__language_code="ar")
    assert 'name="answer:answer"' in client.get(lesson.url).content.decode()


def test_submit_from_the_page_script_then_poll(
    client, learner, lesson_with_exercise, django_capture_on_commit_callbacks
):
    _lesson, exercise = lesson_with_exercise
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            f"/en/learning/exercises/{exercise.pk}/submit/",
            {"answer:answer": RIGHT, "kind": "submit"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    submission = Submission.objects.get(pk=body["id"])
    answer_cell = next(c for c in submission.notebook["cells"] if c["metadata"].get("opencapacity", {}).get("answer"))
    assert answer_cell["source"] == RIGHT
    assert client.get(body["url"], HTTP_ACCEPT="application/json").json()["status"] == "queued"


def test_without_javascript_the_form_leads_to_a_page_that_refreshes(client, learner, lesson_with_exercise):
    _lesson, exercise = lesson_with_exercise
    response = client.post(f"/en/learning/exercises/{exercise.pk}/submit/", {"answer:answer": RIGHT, "kind": "check"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page


def test_another_learners_submission_is_not_found(client, learner, lesson_with_exercise, django_user_model):
    _lesson, exercise = lesson_with_exercise
    other = django_user_model.objects.create_user("other", "other@example.org", "x" * 12)
    theirs = Submission.objects.create(
        user=other, exercise=exercise, notebook=exercise_notebook(RIGHT), queued_at="2026-01-01T00:00Z"
    )
    assert client.get(f"/en/learning/submissions/{theirs.pk}/").status_code == 404
    assert client.get(f"/en/learning/submissions/{theirs.pk}/", HTTP_ACCEPT="application/json").status_code == 404


def test_oversized_or_unknown_input_is_refused_and_nothing_is_stored(client, learner, lesson_with_exercise):
    _lesson, exercise = lesson_with_exercise
    url = f"/en/learning/exercises/{exercise.pk}/submit/"
    too_big = client.post(url, {"answer:answer": "x" * (1024 * 1024 + 10)}, HTTP_ACCEPT="application/json")
    assert too_big.status_code == 413 and "limit" in too_big.json()["error"]
    wrong_kind = client.post(url, {"answer:answer": RIGHT, "kind": "grade-me-full"}, HTTP_ACCEPT="application/json")
    assert wrong_kind.status_code == 400
    assert client.post("/en/learning/exercises/999999/submit/", {"answer:answer": RIGHT}).status_code == 404
    assert not Submission.objects.exists()


def test_anonymous_visitors_cannot_submit(client, lesson_with_exercise):
    _lesson, exercise = lesson_with_exercise
    response = client.post(f"/en/learning/exercises/{exercise.pk}/submit/", {"answer:answer": RIGHT})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Submission.objects.exists()
