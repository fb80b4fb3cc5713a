"""An exercise with datasets through the grading task: Run, Check and Submit all read /data.

The exercise is tests/sandbox/notebooks/dataset-exercise.ipynb (native format), whose answers
read /data/cities.csv and /data/cities.parquet with pandas, and whose hidden tests read the same
files in the judge. Graded in this process (cold sandboxes) and by a real worker (forked ones).
"""

import json
import time
from pathlib import Path

import pytest

from courses.datasets import dataset_attach, stored_path
from courses.exercises import exercise_create_or_update
from lms.celery import app
from lms.progress import services
from lms.progress.models import Submission
from lms.progress.tasks import grade_submission
from tests.builders import exercise_notebook
from tests.workers import Worker

pytestmark = pytest.mark.kernel

SAMPLES = Path(__file__).resolve().parents[1] / "sandbox" / "datasets"
META = {"source": "Example figures for tests", "licence": "CC0-1.0"}
WRONG_LARGEST = "def largest_city():\n    return 'Tunis'\n"


def wait_for(predicate, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.25)


def learner_notebook(**answers: str) -> dict:
    """The instructor's notebook with the solutions as answers, or the given answer cells' code."""
    notebook = exercise_notebook(name="dataset-exercise.ipynb")
    for cell in notebook["cells"]:
        key = cell["metadata"].get("opencapacity", {}).get("id")
        if key in answers:
            cell["source"] = answers[key]
    return notebook


@pytest.fixture
def datasets_dir(settings, tmp_path, monkeypatch):
    settings.DATASETS_DIR = tmp_path / "datasets"
    monkeypatch.setenv("OPENCAPACITY_DATASETS_DIR", str(settings.DATASETS_DIR))  # for workers
    return settings.DATASETS_DIR


@pytest.fixture
def exercise(datasets_dir):
    exercise = exercise_create_or_update(
        slug="cities", title="Cities", raw_notebook=json.dumps(exercise_notebook(name="dataset-exercise.ipynb"))
    )
    for name in ("cities.csv", "cities.parquet"):
        dataset_attach(exercise=exercise, file_name=name, content=(SAMPLES / name).read_bytes(), **META)
    return exercise


@pytest.fixture
def learner(django_user_model):
    return django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)


def grade(exercise, learner, kind, notebook):
    submission = Submission.objects.create(
        user=learner, exercise=exercise, kind=kind, notebook=notebook, queued_at="2026-01-01T00:00Z"
    )
    grade_submission.apply(args=[submission.pk])
    submission.refresh_from_db()
    return submission


@pytest.mark.django_db
def test_submit_check_and_run_read_the_datasets(exercise, learner):
    right = grade(exercise, learner, "submit", learner_notebook())
    assert (right.status, right.verdict, right.score, right.max_score) == ("graded", "graded", 5.0, 5.0), right.error
    wrong = grade(exercise, learner, "submit", learner_notebook(largest=WRONG_LARGEST))
    assert {t["id"]: t["passed"] for t in wrong.feedback["tests"]} == {
        "largest-is-text": True,
        "largest-city": False,
        "total-population": True,
    }
    checked = grade(exercise, learner, "check", learner_notebook())
    assert [(t["id"], t["passed"]) for t in checked.feedback["tests"]] == [("largest-is-text", True)]
    ran = grade(
        exercise,
        learner,
        "run",
        learner_notebook(
            largest="print(pd.read_csv('/data/cities.csv').shape, len(pd.read_parquet('/data/cities.parquet')))"
        ),
    )
    assert ran.verdict == "ran", ran.feedback
    assert "(5, 3) 5" in json.dumps(ran.feedback)


@pytest.mark.django_db
def test_a_dataset_missing_on_the_worker_fails_the_submission_naming_it(exercise, learner):
    stored_path(exercise.datasets.get(file_name="cities.parquet").sha256).unlink()
    failed = grade(exercise, learner, "submit", learner_notebook())
    assert failed.status == Submission.Status.FAILED
    assert "“cities.parquet”" in failed.error and "missing" in failed.error


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_a_warm_pool_grades_an_exercise_with_datasets(exercise, learner):
    app.control.purge()  # messages left by an earlier run on a shared broker
    worker = Worker("grading-datasets")  # a pool of one, forked from the fork server
    try:
        right = services.submission_create(user=learner, exercise=exercise, notebook=learner_notebook())
        wrong = services.submission_create(
            user=learner, exercise=exercise, notebook=learner_notebook(largest=WRONG_LARGEST)
        )
        done = (Submission.Status.GRADED, Submission.Status.FAILED)
        for submission in (right, wrong):
            wait_for(lambda s=submission: Submission.objects.get(pk=s.pk).status in done)
    finally:
        worker.stop()
    right.refresh_from_db()
    wrong.refresh_from_db()
    assert (right.status, right.score, right.max_score) == ("graded", 5.0, 5.0), right.error
    assert (wrong.status, wrong.score) == ("graded", 3.0)


@pytest.mark.django_db
def test_a_regrade_reads_the_datasets_too(exercise, learner):
    from django.utils import timezone

    from lms.progress.models import RegradeResult
    from lms.progress.tasks import regrade_submission

    Submission.objects.create(
        user=learner,
        exercise=exercise,
        notebook=learner_notebook(),
        status="graded",
        score=0.0,
        max_score=5.0,
        queued_at=timezone.now(),
    )
    app.control.purge()
    regrade = services.regrade_start(exercise=exercise, started_by=None)
    result_id = services.regrade_claim_next(regrade_id=regrade.pk)
    regrade_submission.apply(args=[result_id])  # in this process, in a cold sandbox
    app.control.purge()
    result = RegradeResult.objects.get(pk=result_id)
    assert (result.status, result.new_score, result.new_max_score) == ("regraded", 5.0, 5.0), result.error
