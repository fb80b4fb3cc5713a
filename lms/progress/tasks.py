"""Celery tasks: thin and idempotent. They load a row, lock it, and call a service."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from courses.datasets import DatasetUnavailable
from lms.progress import services
from lms.progress.grading import sandbox_task_options
from lms.progress.models import Regrade, RegradeResult, Submission
from sandbox import ExerciseFormatError, InvalidSubmission, KernelStartError, SandboxUnavailable

logger = logging.getLogger(__name__)


@shared_task(**sandbox_task_options())
def grade_submission(self, submission_id: int) -> None:  # type: ignore[no-untyped-def]
    # Four statements in all, none in a transaction: this row, its start, the exercise's datasets
    # and the result (then completion, for a Submit). Two deliveries of one message may both
    # grade; only the first result is stored (services.submission_grade).
    submission = Submission.objects.select_related("exercise", "user").filter(pk=submission_id).first()
    if submission is None or not services.submission_start(submission=submission):
        return  # gone, or a re-delivered message for work already done
    try:
        services.submission_grade(submission=submission)
    except (SandboxUnavailable, DatasetUnavailable) as error:
        # The machine cannot grade safely, or lacks the exercise's data: retrying here will not help.
        services.submission_fail(submission_id=submission_id, error=str(error))
    except SoftTimeLimitExceeded:
        services.submission_fail(submission_id=submission_id, error="grading took longer than the worker allows")
    except KernelStartError as error:
        if self.request.retries >= self.max_retries:
            services.submission_fail(submission_id=submission_id, error=str(error))
            return
        services.submission_requeue(submission_id=submission_id)
        raise


@shared_task
def requeue_stale_submissions() -> int:
    """Find submissions whose task was lost (broker restart, worker killed) and queue them again."""
    now = timezone.now()
    queued_before = now - timedelta(seconds=settings.GRADING_LOST_AFTER_SECONDS)
    running_before = now - timedelta(seconds=settings.GRADING_HARD_TIME_LIMIT + settings.GRADING_LOST_AFTER_SECONDS)
    stale = list(
        Submission.objects.filter(status=Submission.Status.QUEUED, queued_at__lt=queued_before).values_list(
            "pk", flat=True
        )
    ) + list(
        Submission.objects.filter(status=Submission.Status.RUNNING, started_at__lt=running_before).values_list(
            "pk", flat=True
        )
    )
    for submission_id in stale:
        services.submission_requeue(submission_id=submission_id)
        grade_submission.delay(submission_id)
    if stale:
        logger.warning("re-queued %d stale submissions", len(stale))
    return len(stale)


# -- regrades: routed to queue `grading`, where the sandbox is (CELERY_TASK_ROUTES) ---------------


@shared_task(acks_late=True, reject_on_worker_lost=True)
def regrade_dispatch(regrade_id: int) -> int:
    """Start a regrade: put its first few submissions on the queue. Each one, when done, sends the next,
    so a regrade never holds more than REGRADE_IN_FLIGHT places in the queue learners use too."""
    services.regrade_mark_running(regrade_id=regrade_id)
    # A re-delivered dispatch only tops the window up: it never widens it.
    in_flight = RegradeResult.objects.filter(regrade_id=regrade_id, status=RegradeResult.Status.QUEUED).count()
    sent = 0
    for _slot in range(max(services.REGRADE_IN_FLIGHT - in_flight, 0)):
        result_id = services.regrade_claim_next(regrade_id=regrade_id)
        if result_id is None:
            break
        regrade_submission.delay(result_id)
        sent += 1
    return sent


@shared_task(**sandbox_task_options())
def regrade_submission(self, result_id: int) -> None:  # type: ignore[no-untyped-def]
    regrade_id = RegradeResult.objects.filter(pk=result_id).values_list("regrade_id", flat=True).first()
    if regrade_id is None:
        return  # the regrade was deleted
    try:
        services.regrade_result_grade(result_id=result_id)
    except (SandboxUnavailable, DatasetUnavailable) as error:
        services.regrade_result_fail(result_id=result_id, error=str(error))
    except SoftTimeLimitExceeded:
        services.regrade_result_fail(result_id=result_id, error="grading took longer than the worker allows")
    except KernelStartError as error:
        if self.request.retries >= self.max_retries:
            services.regrade_result_fail(result_id=result_id, error=str(error))
        else:
            raise
    except (ExerciseFormatError, InvalidSubmission) as error:
        # The current notebook (or this stored answer) cannot be read: say so on the result.
        services.regrade_result_fail(result_id=result_id, error=str(error))
    except Exception as error:
        # Anything else would leave the result queued and the sweep sending it again forever.
        logger.exception("regrading result %s failed", result_id)
        services.regrade_result_fail(result_id=result_id, error=f"{type(error).__name__}: {error}")
    # Keep the regrade's window full: this place in the queue goes to its next submission.
    next_id = services.regrade_claim_next(regrade_id=regrade_id)
    if next_id is not None:
        regrade_submission.delay(next_id)


@shared_task
def requeue_stale_regrades() -> int:
    """Send again the regrade messages that were lost (broker restart, worker killed): a regrade still
    queued, and submissions queued longer than a grading can take. Duplicates are harmless."""
    lost_before = timezone.now() - timedelta(
        seconds=settings.GRADING_HARD_TIME_LIMIT + settings.GRADING_LOST_AFTER_SECONDS
    )
    resent = 0
    for regrade_id in Regrade.objects.filter(status=Regrade.Status.QUEUED, started_at__lt=lost_before).values_list(
        "pk", flat=True
    ):
        regrade_dispatch.delay(regrade_id)
        resent += 1
    stale = list(
        RegradeResult.objects.filter(status=RegradeResult.Status.QUEUED, queued_at__lt=lost_before).values_list(
            "pk", flat=True
        )
    )
    for result_id in stale:
        RegradeResult.objects.filter(pk=result_id, status=RegradeResult.Status.QUEUED).update(queued_at=timezone.now())
        regrade_submission.delay(result_id)
    if resent or stale:
        logger.warning("re-sent %d regrades and %d regrade submissions", resent, len(stale))
    return resent + len(stale)
