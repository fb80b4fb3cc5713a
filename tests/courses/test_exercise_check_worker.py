"""The self-check through a real Celery worker and the configured broker, on queue `grading`.

The worker is a separate process (tests/workers.py) that only consumes `grading`: a check routed
anywhere else would never finish here.
"""

import json

import pytest

from courses.exercise_checks import exercise_check_for
from courses.exercises import exercise_import
from courses.models import Exercise, ExerciseCheckStatus
from lms.celery import app
from tests.builders import exercise_notebook
from tests.lms.test_grading_worker import wait_for
from tests.workers import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.kernel]
WRONG_SOLUTION = "def mean_square(xs):\n    ### BEGIN SOLUTION\n    return sum(xs) / len(xs)\n    ### END SOLUTION"


def finished(exercise):
    check = exercise_check_for(exercise=exercise)
    return check if check.status in (ExerciseCheckStatus.PASSED, ExerciseCheckStatus.FAILED, "error") else None


def test_a_worker_checks_each_version_and_only_the_passing_one_publishes():
    app.control.purge()  # messages left by an earlier run on a shared broker
    worker = Worker("exercise-check")
    try:
        broken = exercise_notebook()
        broken["cells"][2]["source"] = WRONG_SOLUTION
        draft, _created = exercise_import(slug="ms", raw_notebook=json.dumps(broken))
        check = wait_for(lambda: finished(draft))
        assert (check.status, check.problem, check.cell, check.test) == ("failed", "solution-fails", 3, "visible")

        fixed, _created = exercise_import(slug="ms", raw_notebook=json.dumps(exercise_notebook()))
        check = wait_for(lambda: finished(fixed))
        assert (check.status, check.checked_by) == ("passed", "sandbox"), check.detail
        Exercise.objects.get().latest_revision.publish()
        assert Exercise.objects.get().live
    finally:
        worker.stop()
