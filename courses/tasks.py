"""Celery tasks of the course authoring side: thin and idempotent, like lms/progress/tasks.py."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction

from lms.progress.grading import sandbox_task_options
from sandbox import KernelStartError, SandboxUnavailable


# The check runs instructor code, so it runs where learner code runs: the grading workers. It
# grades twice (solution, starter), each held to the engine's own limits.
@shared_task(queue="grading", **sandbox_task_options(gradings=2))
def check_exercise(self, check_id: int) -> None:  # type: ignore[no-untyped-def]
    from courses.exercise_checks import FINISHED, exercise_check_finish, exercise_check_run, exercise_check_start
    from courses.models import ExerciseCheck, ExerciseCheckStatus
    from lms.progress.grading import grader

    with transaction.atomic():
        check = ExerciseCheck.objects.select_for_update().filter(pk=check_id).first()
        if check is None or check.status in FINISHED:
            return  # gone, or a re-delivered message for a version already checked
        exercise_check_start(check=check)
    try:
        exercise_check_run(check=check, grader=grader())
    except SandboxUnavailable as error:
        exercise_check_finish(check_id=check_id, status=ExerciseCheckStatus.ERROR, problem="sandbox", detail=str(error))
    except SoftTimeLimitExceeded:
        exercise_check_finish(
            check_id=check_id, status=ExerciseCheckStatus.ERROR, problem="sandbox", detail="the check took too long"
        )
    except KernelStartError as error:
        if self.request.retries >= self.max_retries:
            exercise_check_finish(
                check_id=check_id, status=ExerciseCheckStatus.ERROR, problem="sandbox", detail=str(error)
            )
            return
        raise
