"""Celery tasks for insights: thin and idempotent (each rebuilds from raw data; running twice changes nothing)."""

from celery import shared_task

from lms.insights import services


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def refresh_insights() -> None:
    """The months since the last refresh and the 30-day snapshot (every 15 minutes)."""
    services.rollups_refresh(full=False)


@shared_task(acks_late=True, soft_time_limit=3000, time_limit=3300)
def rebuild_insights() -> None:
    """Everything, picking up learners who changed country, centre, language or consent (nightly)."""
    services.rollups_refresh(full=True)
