"""Submissions through the grading task, with the real sandboxed engine in this process."""

import json

import pytest
from django.core.exceptions import ValidationError

from courses.exercises import exercise_create_or_update
from lms.progress import services
from lms.progress.models import Submission
from lms.progress.tasks import grade_submission
from tests.builders import exercise_notebook

pytestmark = [pytest.mark.django_db, pytest.mark.kernel]


def with_answer(code: str) -> dict:
    return exercise_notebook(code)


@pytest.fixture
def exercise():
    return exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )


@pytest.fixture
def learner(django_user_model):
    return django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)


def test_submission_is_stored_then_queued_on_commit(exercise, learner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission = services.submission_create(user=learner, exercise=exercise, notebook=with_answer("x = 1"))
    assert submission.status == Submission.Status.QUEUED
    assert len(callbacks) == 1  # grade_submission.delay, sent only once the row is committed


@pytest.mark.parametrize(
    ("notebook", "message"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"cells": "nope"}), "notebook"),
        (b"x" * (1024 * 1024 + 1), "the limit is 1024 KiB"),
    ],
)
def test_bad_notebooks_are_refused_and_nothing_is_stored(exercise, learner, notebook, message):
    with pytest.raises(ValidationError, match=message):
        services.submission_create(user=learner, exercise=exercise, notebook=notebook)
    assert not Submission.objects.exists()


def grade(exercise, learner, code, kind="submit"):
    submission = Submission.objects.create(
        user=learner, exercise=exercise, kind=kind, notebook=with_answer(code), queued_at="2026-01-01T00:00Z"
    )
    grade_submission.apply(args=[submission.pk])
    submission.refresh_from_db()
    return submission


def test_right_and_wrong_answers_and_a_redelivery_changes_nothing(exercise, learner):
    right = grade(exercise, learner, "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n")
    assert (right.status, right.verdict, right.score, right.max_score) == ("graded", "graded", 7.0, 7.0)
    finished = right.finished_at
    grade_submission.apply(args=[right.pk])  # the broker delivers the same message again
    right.refresh_from_db()
    assert right.deliveries == 1 and right.finished_at == finished

    wrong = grade(exercise, learner, "def mean_square(xs):\n    return 0\n")
    assert wrong.score == 0.0
    messages = json.dumps(wrong.feedback)
    assert "hidden-numpy" in messages and "np.isclose" not in messages  # hidden test source stays hidden


def test_grading_a_submission_costs_five_statements(exercise, learner, django_assert_num_queries):
    # Exam day sends thousands through here: the row with its exercise and learner, its start
    # (one conditional UPDATE, no lock held while grading), the exercise's datasets, the result
    # (another conditional UPDATE), and the learner's unfinished enrollments for completion.
    submission = Submission.objects.create(
        user=learner, exercise=exercise, kind="submit", notebook=with_answer("x = 1"), queued_at="2026-01-01T00:00Z"
    )
    with django_assert_num_queries(5):
        grade_submission.apply(args=[submission.pk])
    submission.refresh_from_db()
    assert (submission.status, submission.deliveries) == ("graded", 1)


def test_check_runs_only_the_visible_tests(exercise, learner):
    checked = grade(exercise, learner, "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n", "check")
    assert [test["id"] for test in checked.feedback["tests"]] == ["visible"]


@pytest.fixture
def short_cell_limit(settings):
    from lms.progress import grading

    settings.SANDBOX_LIMITS = {**settings.SANDBOX_LIMITS, "cell_seconds": 2.0}
    grading.shutdown()  # the engine reads its limits when it starts
    yield
    grading.shutdown()


def test_a_time_limit_is_a_grade_not_a_retry(exercise, learner, short_cell_limit):
    looping = grade(exercise, learner, "while True:\n    pass\n")
    assert looping.status == "graded" and looping.verdict == "time limit" and looping.score == 0.0
    assert looping.deliveries == 1


def test_without_a_usable_sandbox_grading_refuses_and_says_why(exercise, learner, settings):
    from lms.progress import grading

    settings.SANDBOX_BWRAP = "/nonexistent/bwrap"
    grading.shutdown()
    try:
        refused = grade(exercise, learner, "def mean_square(xs):\n    return 1\n")
    finally:
        grading.shutdown()
    assert refused.status == "failed" and refused.score is None
    assert "bubblewrap not found" in refused.error
