"""The self-check of exercises: request it on every save, run it on a grading worker, gate publishing.

A check belongs to one version of an exercise: a hash of its notebook's JSON and format and, when it
has any, of its datasets' names and contents, since the data decides what the solution computes.
So learners keep the live version while a draft is checked, publishing a draft is allowed only when
the check of that very draft passed, and changing an exercise's datasets checks it again
(exercises_check_after_datasets_change). The engine side is sandbox/exercise_check.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Exercise, ExerciseCheck, ExerciseCheckStatus

if TYPE_CHECKING:
    from sandbox.grader import Grader

FINISHED = (ExerciseCheckStatus.PASSED, ExerciseCheckStatus.FAILED, ExerciseCheckStatus.ERROR)
CHECKED_BY_SANDBOX = "sandbox"
#: A failure that names a file under /data: the notebook expects datasets the exercise lacks.
READS_DATA = re.compile(r"['\"]/data/[^'\"]*['\"]")
#: Notebooks in content/ are graded by tests/content/test_course_files.py in CI, not at load time.
CHECKED_BY_CONTENT_TESTS = "content tests"


class ExerciseNotChecked(Exception):
    """Publishing was refused: the version to publish has not passed its self-check."""


def notebook_hash(*, notebook: dict[str, Any], fmt: str, datasets: Sequence[tuple[str, str]] = ()) -> str:
    """The version a check belongs to; ``datasets`` are (file name, SHA-256) pairs, sorted."""
    version: dict[str, Any] = {"format": fmt, "notebook": notebook}
    if datasets:
        # Absent, not empty, without datasets: exercises without any keep the checks they had
        # before datasets counted.
        version["datasets"] = [list(pair) for pair in datasets]
    canonical = json.dumps(version, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def exercise_version(exercise: Exercise) -> tuple[str, list[tuple[str, str]]]:
    """The hash of ``exercise`` (the row or a draft revision's object) with its datasets as they are
    now, and those datasets' (file name, SHA-256) pairs."""
    from courses.datasets import exercise_datasets_listing

    listing = exercise_datasets_listing(exercise) if exercise.pk is not None else []
    return notebook_hash(notebook=exercise.notebook, fmt=exercise.format, datasets=listing), listing


def exercise_version_hash(exercise: Exercise) -> str:
    return exercise_version(exercise)[0]


# -- reads ---------------------------------------------------------------------------------------
def exercise_check_for(*, exercise: Exercise) -> ExerciseCheck | None:
    """The check of ``exercise``'s notebook as it stands (a draft revision's object or the row)."""
    if exercise.pk is None or not exercise.notebook:
        return None
    digest = exercise_version_hash(exercise)
    return ExerciseCheck.objects.filter(exercise_id=exercise.pk, notebook_hash=digest).first()


def check_message(check: ExerciseCheck | None) -> str:
    """The result in the reader's language, naming the cell and test at fault (details: check.detail)."""
    if check is None:
        return _("This version has not been checked yet. Save it to start the check.")
    if check.status == ExerciseCheckStatus.PASSED:
        if check.checked_by == CHECKED_BY_CONTENT_TESTS:
            return _("Shipped with the platform: the content tests check this notebook.")
        return _("The solution passes every test, the starter code does not, and the release hides the solutions.")
    if check.status in (ExerciseCheckStatus.QUEUED, ExerciseCheckStatus.RUNNING):
        return _("The solution and the starter code are being graded in the sandbox.")
    where = _("cell %(cell)s") % {"cell": check.cell} if check.cell is not None else _("the notebook")
    test = check.test
    messages = {
        "invalid": _("The notebook cannot be read."),
        "no-tests": _("The notebook has no autograded test."),
        "solution-fails": _("The solution fails test %(test)s in %(where)s."),
        "solution-stops": _(
            "The solution stops in %(where)s before every test has run: the sandbox ended it (a time, memory "
            "or output limit, or a crash)."
        ),
        "starter-passes": _(
            "The starter code in %(where)s already passes every test: learners would have nothing to do."
        ),
        "leak": _("The learner version would show a solution or hidden test from %(where)s."),
        "sandbox": _("The sandbox could not run the check."),
        "datasets": _("A dataset of this exercise is missing or damaged on this server: upload it again."),
        "no-datasets": _(
            "The solution fails test %(test)s in %(where)s because it reads /data, and this exercise has no "
            "dataset. Attach its datasets: the exercise is checked again as soon as they are attached."
        ),
        "datasets-changed": _("The datasets changed before this check ran; it runs again with the new ones."),
    }
    # The engine's own words (check.detail) are shown apart, left to right, as code.
    return messages.get(check.problem, _("The check failed in %(where)s.")) % {"where": where, "test": test or "?"}


def exercise_publish_refusal(*, exercise: Exercise) -> str:
    """Why this version may not be published, or an empty string when it may."""
    check = exercise_check_for(exercise=exercise)
    if check is not None and check.status == ExerciseCheckStatus.PASSED:
        return ""
    if check is None or check.status not in FINISHED:
        return _("Publishing waits for the self-check of this version to pass. %(state)s") % {
            "state": check_message(check)
        }
    reason = check_message(check)
    if check.detail:
        reason = f"{reason} ({check.detail.splitlines()[0][:300]})"
    return _("This version cannot be published until its self-check passes. %(reason)s") % {"reason": reason}


# -- writes --------------------------------------------------------------------------------------
def exercise_check_request(*, exercise: Exercise, publish_when_passed: bool = False) -> ExerciseCheck:
    """Check ``exercise``'s notebook as it stands (a draft's), once per version; enqueue on commit.

    A version already checked is not checked again, except after an infrastructure error. With
    ``publish_when_passed`` the version is published by the check task once it passes, if it is
    still the exercise's latest revision then (course package import).
    """
    from courses.tasks import check_exercise

    digest, listing = exercise_version(exercise)
    check, created = ExerciseCheck.objects.get_or_create(
        exercise_id=exercise.pk,
        notebook_hash=digest,
        defaults={
            "notebook": exercise.notebook,
            "format": exercise.format,
            "datasets": [list(pair) for pair in listing],
            "publish_when_passed": publish_when_passed,
        },
    )
    if publish_when_passed and not check.publish_when_passed:
        check.publish_when_passed = True
        check.save(update_fields=["publish_when_passed"])
    if not created and check.status == ExerciseCheckStatus.PASSED and publish_when_passed:
        exercise_publish_checked(check=check)
    if not created and check.status != ExerciseCheckStatus.ERROR:
        return check
    if not created:
        check.status = ExerciseCheckStatus.QUEUED
        check.problem = check.detail = check.test = ""
        check.cell = None
        check.save(update_fields=["status", "problem", "detail", "test", "cell"])
    transaction.on_commit(lambda: check_exercise.delay(check.pk))
    return check


def exercises_check_after_datasets_change(
    *, exercise_ids: Iterable[int], publish_when_passed: bool = False
) -> list[ExerciseCheck]:
    """Check again the exercises whose datasets were attached, detached, replaced or deleted.

    Each is checked as an instructor would publish it next (its latest revision), with the datasets
    it has now; a version already checked with exactly these datasets keeps its result (unless that
    was an error, which is run again), so a change of licence text costs nothing. The live version
    stays live whatever the result: the admin shows it, and the next publish waits for it.
    """
    checks = []
    for exercise in Exercise.objects.filter(pk__in=set(exercise_ids)).order_by("pk"):
        current = exercise.get_latest_revision_as_object() if exercise.latest_revision_id else exercise
        if current.notebook:
            checks.append(exercise_check_request(exercise=current, publish_when_passed=publish_when_passed))
    return checks


def exercise_check_record_covered(*, exercise: Exercise) -> ExerciseCheck:
    """Record that tests/content covers this notebook (content/ files), so loading stays fast."""
    digest, listing = exercise_version(exercise)
    check, _created = ExerciseCheck.objects.update_or_create(
        exercise_id=exercise.pk,
        notebook_hash=digest,
        defaults={
            "notebook": exercise.notebook,
            "format": exercise.format,
            "datasets": [list(pair) for pair in listing],
            "status": ExerciseCheckStatus.PASSED,
            "checked_by": CHECKED_BY_CONTENT_TESTS,
            "finished_at": timezone.now(),
        },
    )
    return check


def exercise_check_start(*, check: ExerciseCheck) -> None:
    check.status = ExerciseCheckStatus.RUNNING
    check.save(update_fields=["status"])


def exercise_check_run(*, check: ExerciseCheck, grader: Grader) -> ExerciseCheck:
    """Grade the solution and the starter in the sandbox and store the outcome on the check."""
    from courses.datasets import DatasetUnavailable, datasets_listing, exercise_datasets, exercise_datasets_dir
    from sandbox.exercise_check import check_exercise

    # One read of the datasets for both the comparison and the mount.
    attached = exercise_datasets(check.exercise)
    if datasets_listing(attached) != [tuple(pair) for pair in check.datasets]:
        # The datasets changed after this version was queued: a result here would be filed under
        # data it was not computed with. The version as it stands now is checked instead (usually
        # the change already asked for it), keeping an import's wish to publish once it passes.
        finished = exercise_check_finish(
            check_id=check.pk,
            status=ExerciseCheckStatus.ERROR,
            problem="datasets-changed",
            detail="the exercise's datasets changed before this check ran",
        )
        exercises_check_after_datasets_change(
            exercise_ids=[check.exercise_id], publish_when_passed=check.publish_when_passed
        )
        return finished
    try:
        # The same /data as learners' Run, Check and Submit (lms/progress/services.py).
        datasets = exercise_datasets_dir(check.exercise, datasets=attached)
    except DatasetUnavailable as error:
        # This server's copy is missing or damaged: not the notebook's fault, so checked again on save.
        return exercise_check_finish(
            check_id=check.pk, status=ExerciseCheckStatus.ERROR, problem="datasets", detail=str(error)
        )
    outcome = check_exercise(grader, check.notebook, check.format, datasets=datasets)
    if datasets is None and outcome.problem == "solution-fails" and READS_DATA.search(outcome.detail):
        # Not a verdict on the notebook but on the exercise's setup: an error, which is checked
        # again on request, and attaching the datasets requests it (a new version anyway).
        return exercise_check_finish(
            check_id=check.pk,
            status=ExerciseCheckStatus.ERROR,
            problem="no-datasets",
            cell=outcome.cell,
            test=outcome.test,
            detail=outcome.detail,
        )
    finished = exercise_check_finish(
        check_id=check.pk,
        status=ExerciseCheckStatus.PASSED if outcome.passed else ExerciseCheckStatus.FAILED,
        problem=outcome.problem,
        cell=outcome.cell,
        test=outcome.test,
        detail=outcome.detail,
    )
    if finished.status == ExerciseCheckStatus.PASSED and finished.publish_when_passed:
        exercise_publish_checked(check=finished)
    return finished


@transaction.atomic
def exercise_publish_checked(*, check: ExerciseCheck) -> bool:
    """Publish the exercise's latest revision when it is the version ``check`` passed.

    A newer draft saved meanwhile (an instructor's edit) is left for its own check and for the
    instructor to publish. Publishing passes through Exercise.publish, so the rule holds here too.
    """
    exercise = Exercise.objects.select_for_update().get(pk=check.exercise_id)
    revision = exercise.latest_revision
    if revision is None or (exercise.live and exercise.live_revision_id == revision.pk):
        return False
    draft = revision.as_object()
    if exercise_version_hash(draft) != check.notebook_hash:
        return False
    revision.publish()
    return True


@transaction.atomic
def exercise_check_finish(
    *, check_id: int, status: str, problem: str = "", cell: int | None = None, test: str = "", detail: str = ""
) -> ExerciseCheck:
    check = ExerciseCheck.objects.select_for_update().get(pk=check_id)
    check.status = status
    check.problem = problem
    check.cell = cell
    check.test = test[:200]
    check.detail = detail[:4000]
    check.checked_by = CHECKED_BY_SANDBOX
    check.finished_at = timezone.now()
    check.save(update_fields=["status", "problem", "cell", "test", "detail", "checked_by", "finished_at"])
    return check
