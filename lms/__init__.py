"""The OpenCapacity Django project: settings, urls, the Celery app and the LMS domain apps."""

from lms.celery import app as celery_app

__all__ = ["celery_app"]
