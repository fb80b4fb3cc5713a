"""Regrading an exercise after fixing a test, through a real Celery worker and the real sandbox: old
and new scores are recorded, submissions and course progress follow, and nothing is counted twice."""

import json
import time

import pytest
from django.utils import timezone

from courses.exercises import exercise_create_or_update
from courses.models import CoursePage, LessonPage
from lms.celery import app
from lms.progress import services
from lms.progress.models import Certificate, Enrollment, Regrade, RegradeResult, Submission
from lms.progress.tasks import requeue_stale_regrades
from tests.builders import exercise_notebook, make_course
from tests.workers import Worker

RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"
WRONG = "def mean_square(xs):\n    return sum(xs) / len(xs)\n"
RIGHT_FLOAT_TEST = "assert math.isclose(mean_square([1.5, -1]), 1.625)"


def buggy_notebook() -> dict:
    """The mean-square exercise with a mistake in a hidden test (2 points): right answers fail it."""
    notebook = exercise_notebook()
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if source == RIGHT_FLOAT_TEST:
            cell["source"] = "assert math.isclose(mean_square([1.5, -1]), 1.7)"
    assert notebook != exercise_notebook()
    return notebook


def wait_for(predicate, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_regrade_tasks_go_to_the_grading_queue():
    for name in ("regrade_dispatch", "regrade_submission"):
        route = app.amqp.router.route({}, f"lms.progress.tasks.{name}")
        assert route["queue"].name == "grading", name


@pytest.mark.kernel
@pytest.mark.django_db(transaction=True)
def test_fixing_a_test_and_regrading_changes_scores_and_completes_the_course(tmp_path, django_user_model):
    make_course(
        tmp_path,
        modules=1,
        lessons_per_module=1,
        lesson_languages=("en",),
        completion={"lessons_viewed_percent": 0, "exercise_points_percent": 100},
    )
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(buggy_notebook())
    )
    lesson = LessonPage.objects.get(locale__language_code="en")
    lesson.body.append(("exercise", {"exercise": exercise}))
    lesson.save_revision().publish()
    course = CoursePage.objects.get(locale__language_code="en")
    right_learner = django_user_model.objects.create_user("right", "right@example.org", "x" * 12)
    wrong_learner = django_user_model.objects.create_user("wrong", "wrong@example.org", "x" * 12)
    for user in (right_learner, wrong_learner):
        services.enrollment_start(user=user, course=course)

    app.control.purge()  # messages left by an earlier run on a shared broker
    worker = Worker("regrade")
    try:
        right = services.submission_create(
            user=right_learner, exercise=exercise, notebook=exercise_notebook(RIGHT, name="mean-square-exercise.ipynb")
        )
        wrong = services.submission_create(user=wrong_learner, exercise=exercise, notebook=exercise_notebook(WRONG))
        for submission in (right, wrong):
            wait_for(lambda s=submission: Submission.objects.get(pk=s.pk).status == Submission.Status.GRADED)
        right.refresh_from_db()
        assert right.score == 5.0  # the buggy hidden test took 2 of the 7 points
        assert Enrollment.objects.get(user=right_learner).completed_at is None

        # The instructor fixes the test and regrades.
        exercise_create_or_update(slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook()))
        instructor = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
        regrade = services.regrade_start(exercise=exercise, started_by=instructor)
        assert (regrade.total, regrade.status) == (2, Regrade.Status.QUEUED)
        wait_for(lambda: Regrade.objects.get(pk=regrade.pk).status == Regrade.Status.FINISHED)
    finally:
        worker.stop()

    regrade.refresh_from_db()
    assert (regrade.done, regrade.failed, regrade.total) == (2, 0, 2) and regrade.finished_at is not None
    results = {result.submission_id: result for result in regrade.results.all()}
    assert (results[right.pk].old_score, results[right.pk].new_score) == (5.0, 7.0)
    assert (results[wrong.pk].old_score, results[wrong.pk].new_score) == (0.0, 0.0)
    right.refresh_from_db()
    assert right.score == 7.0 and all(test["passed"] for test in right.feedback["tests"])
    # Progress follows: the best score is now full marks, so the course's rule holds.
    assert Enrollment.objects.get(user=right_learner).completed_at is not None
    assert Enrollment.objects.get(user=wrong_learner).completed_at is None
    # ...and completing it issues the certificate, to that learner only.
    assert list(Certificate.objects.values_list("user_id", "course_key")) == [
        (right_learner.pk, course.translation_key)
    ]

    # A re-delivered message finds its result stored: nothing is graded or counted again.
    assert services.regrade_result_grade(result_id=results[right.pk].pk) is False
    services.regrade_result_fail(result_id=results[right.pk].pk, error="late duplicate")
    regrade.refresh_from_db()
    assert (regrade.done, regrade.failed) == (2, 0)
    assert RegradeResult.objects.get(pk=results[right.pk].pk).status == RegradeResult.Status.REGRADED


@pytest.mark.django_db
def test_one_regrade_at_a_time_and_lost_messages_are_sent_again(tmp_path, django_user_model, settings):
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    learner = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="no graded submissions"):
        services.regrade_start(exercise=exercise, started_by=None)
    for score in (3.0, 7.0):
        Submission.objects.create(user=learner, exercise=exercise, notebook={}, status="graded", score=score,
                                  max_score=7.0, queued_at=timezone.now())  # fmt: skip
    app.control.purge()
    regrade = services.regrade_start(exercise=exercise, started_by=None)
    assert sorted(regrade.results.values_list("old_score", flat=True)) == [3.0, 7.0]
    with pytest.raises(ValidationError, match="already running"):
        services.regrade_start(exercise=exercise, started_by=None)

    # The dispatch fills the window of messages in the queue; sent again, it does not widen it.
    from lms.progress.tasks import regrade_dispatch

    assert regrade_dispatch.apply(args=[regrade.pk]).result == 2
    assert regrade_dispatch.apply(args=[regrade.pk]).result == 0
    app.control.purge()
    RegradeResult.objects.filter(regrade=regrade).update(status="pending", queued_at=None)
    # Claims are exclusive: each result is handed out once, then none is left.
    first = services.regrade_claim_next(regrade_id=regrade.pk)
    second = services.regrade_claim_next(regrade_id=regrade.pk)
    assert {first, second} == set(regrade.results.values_list("pk", flat=True))
    assert services.regrade_claim_next(regrade_id=regrade.pk) is None

    # Their messages were lost (as if a worker died): the sweep sends them again once they are overdue.
    settings.GRADING_HARD_TIME_LIMIT = 0
    settings.GRADING_LOST_AFTER_SECONDS = 0
    Regrade.objects.filter(pk=regrade.pk).update(status=Regrade.Status.RUNNING)
    assert requeue_stale_regrades() == 2
    # A submission the sandbox cannot regrade keeps its score; the regrade finishes with it counted as failed.
    services.regrade_result_fail(result_id=first, error="sandbox unavailable")
    services.regrade_result_fail(result_id=first, error="sandbox unavailable")
    regrade.refresh_from_db()
    assert (regrade.done, regrade.failed, regrade.status) == (0, 1, Regrade.Status.RUNNING)
    services.regrade_result_fail(result_id=second, error="sandbox unavailable")
    regrade.refresh_from_db()
    assert (regrade.failed, regrade.status) == (2, Regrade.Status.FINISHED)
    app.control.purge()


@pytest.mark.django_db
def test_a_notebook_that_no_longer_parses_fails_the_result_instead_of_looping(django_user_model):
    from courses.models import Exercise
    from lms.progress.tasks import regrade_submission

    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    learner = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    submission = Submission.objects.create(
        user=learner,
        exercise=exercise,
        notebook={},
        status="graded",
        score=3.0,
        max_score=7.0,
        queued_at=timezone.now(),
    )
    app.control.purge()
    regrade = services.regrade_start(exercise=exercise, started_by=None)
    app.control.purge()
    Exercise.objects.filter(pk=exercise.pk).update(notebook={"cells": "not a list"})
    result_id = services.regrade_claim_next(regrade_id=regrade.pk)
    regrade_submission.apply(args=[result_id])  # in this process: the notebook fails before any kernel starts
    result = RegradeResult.objects.get(pk=result_id)
    regrade.refresh_from_db()
    assert result.status == RegradeResult.Status.FAILED and result.error
    assert (regrade.failed, regrade.status) == (1, Regrade.Status.FINISHED)
    submission.refresh_from_db()
    assert submission.score == 3.0  # kept
    app.control.purge()


@pytest.mark.kernel
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_regrade_still_counts_each_submission_once(django_user_model, settings):
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    learner = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    slow = exercise_notebook("import time\ntime.sleep(6)\n" + RIGHT)
    submission = Submission.objects.create(
        user=learner,
        exercise=exercise,
        notebook=slow,
        status="graded",
        score=5.0,
        max_score=7.0,
        queued_at=timezone.now(),
    )
    app.control.purge()
    doomed = Worker("regrade-doomed")
    survivor = None
    try:
        regrade = services.regrade_start(exercise=exercise, started_by=None)
        wait_for(lambda: Regrade.objects.get(pk=regrade.pk).status == Regrade.Status.RUNNING)
        time.sleep(2)  # the worker has the submission in its sandbox, 4 s before it could finish
        doomed.kill()
        assert Regrade.objects.get(pk=regrade.pk).done == 0

        survivor = Worker("regrade-survivor")
        # Beat's sweep, run at once as if the limits had passed: the lost submission is sent again.
        settings.GRADING_HARD_TIME_LIMIT = 0
        settings.GRADING_LOST_AFTER_SECONDS = 0
        assert requeue_stale_regrades() == 1
        wait_for(lambda: Regrade.objects.get(pk=regrade.pk).status == Regrade.Status.FINISHED)
        # The broker may also hand the dead worker's unacknowledged message to the survivor: counted once anyway.
        time.sleep(1)
    finally:
        for worker in (doomed, survivor):
            if worker is not None:
                worker.stop()
    regrade.refresh_from_db()
    result = regrade.results.get()
    why = f"verdict {result.new_verdict!r}, error {result.error!r}"  # a sandbox limit on a loaded machine shows here
    assert (regrade.total, regrade.done, regrade.failed) == (1, 1, 0), why
    assert (result.old_score, result.new_score, result.status) == (5.0, 7.0, RegradeResult.Status.REGRADED), why
    submission.refresh_from_db()
    assert submission.score == 7.0
