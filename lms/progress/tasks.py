"""Celery tasks: thin and idempotent. They load a row, lock it, and call a service."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses.datasets import DatasetUnavailable
from lms.progress import services
from lms.progress.models import Submission
from sandbox import KernelStartError, SandboxUnavailable

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # Only the infrastructure is retried; a wrong answer, a timeout or a crash is a grade.
    autoretry_for=(KernelStartError,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=settings.GRADING_SOFT_TIME_LIMIT,
    time_limit=settings.GRADING_HARD_TIME_LIMIT,
)
def grade_submission(self, submission_id: int) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or submission.status in (Submission.Status.GRADED, Submission.Status.FAILED):
            return  # gone, or a re-delivered message for work already done
        services.submission_start(submission=submission)
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
