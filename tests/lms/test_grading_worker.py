"""Grading through a real Celery worker and the configured broker (embedded SQLite, Redis in CI).

The worker is a separate process started here, with the test database and the same broker, so
these tests exercise the path a real deployment takes: commit, enqueue, consume, grade, store.
"""

import json
import time

import pytest

from courses.exercises import exercise_create_or_update
from lms.celery import app
from lms.progress import services
from lms.progress.models import Submission
from lms.progress.tasks import requeue_stale_submissions
from tests.builders import exercise_notebook as notebook_with
from tests.workers import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kernel]
RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"


@pytest.fixture
def workers():
    app.control.purge()  # messages left by an earlier run on a shared broker
    started: list[Worker] = []
    yield lambda name: started.append(Worker(name)) or started[-1]
    for worker in started:
        worker.stop()


@pytest.fixture
def exercise():
    return exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(notebook_with(RIGHT))
    )


def wait_for(predicate, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_worker_grades_submissions_from_the_broker(exercise, django_user_model, workers):
    learner = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    workers("grading-a")
    right = services.submission_create(user=learner, exercise=exercise, notebook=notebook_with(RIGHT))
    wrong = services.submission_create(user=learner, exercise=exercise, notebook=notebook_with("mean_square = len"))
    for submission in (right, wrong):
        wait_for(lambda s=submission: Submission.objects.get(pk=s.pk).status == Submission.Status.GRADED)
    right.refresh_from_db()
    wrong.refresh_from_db()
    assert (right.score, right.max_score, right.deliveries) == (7.0, 7.0, 1)
    assert wrong.score == 0.0


def test_a_worker_killed_mid_grading_still_gives_exactly_one_result(exercise, django_user_model, workers, settings):
    learner = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    first = workers("grading-doomed")
    slow = notebook_with("import time\ntime.sleep(6)\n" + RIGHT)
    submission = services.submission_create(user=learner, exercise=exercise, notebook=slow)
    wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Submission.Status.RUNNING)
    first.kill()

    workers("grading-survivor")
    # The sweep runs every minute under beat; here it runs at once, as if the limits had passed.
    settings.GRADING_LOST_AFTER_SECONDS = 0
    settings.GRADING_HARD_TIME_LIMIT = 0
    assert requeue_stale_submissions() == 1
    wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Submission.Status.GRADED)
    submission.refresh_from_db()
    # Delivered again by the sweep, and possibly also by the broker returning the dead worker's
    # unacknowledged message: either way the result is stored once.
    assert submission.score == 7.0 and submission.deliveries in (2, 3)
    deliveries = submission.deliveries
    # A late duplicate of the original message (the broker gives unacknowledged work back) changes nothing.
    finished = submission.finished_at
    from lms.progress.tasks import grade_submission

    grade_submission.delay(submission.pk)
    time.sleep(3)
    submission.refresh_from_db()
    assert submission.finished_at == finished and submission.deliveries == deliveries


def test_a_burst_across_workers_is_graded_exactly_once_even_when_one_dies(
    exercise, django_user_model, workers, settings
):
    """Several workers under their own node names share queue `grading`; one is killed while the
    burst is being graded. Every submission still ends graded once, and none is lost.
    (bench/grading_throughput.py runs the same with 2,000 submissions and reports the figures.)"""
    learner = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    doomed = workers("burst-a")
    workers("burst-b")
    count = 24
    ids = [
        services.submission_create(user=learner, exercise=exercise, notebook=notebook_with(RIGHT)).pk
        for _ in range(count)
    ]

    def graded() -> int:
        return Submission.objects.filter(pk__in=ids, status=Submission.Status.GRADED).count()

    wait_for(lambda: graded() >= count // 3)
    doomed.kill()
    settings.GRADING_LOST_AFTER_SECONDS = 0
    settings.GRADING_HARD_TIME_LIMIT = 0
    requeue_stale_submissions()  # beat's sweep, run at once: what the dead worker held comes back
    wait_for(lambda: graded() == count)
    rows = list(Submission.objects.filter(pk__in=ids).values_list("score", "deliveries"))
    assert len(rows) == count and all(score == 7.0 for score, _ in rows)
    # The sweep also re-sends what was still waiting in the queue, so a few rows are delivered
    # twice; the result is stored once (submission_grade locks the row and keeps the first).
    assert all(deliveries >= 1 for _, deliveries in rows)
