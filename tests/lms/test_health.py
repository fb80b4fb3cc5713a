import pytest
from django.conf import settings as django_settings

from lms.celery import app

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    body = client.get("/healthz").json()
    assert body["ok"] is True
    assert body["checks"]["database"]["vendor"] == __import__("django.db").db.connection.vendor
    assert body["checks"]["broker"]["transport"] == django_settings.CELERY_BROKER_URL.split(":", 1)[0]


def test_healthz_fails_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["checks"]["broker"]["ok"] is False


def test_celery_reads_the_django_settings():
    # A misspelt setting silently does nothing; check that ours reached the Celery app.
    assert app.conf.broker_url == django_settings.CELERY_BROKER_URL
    assert app.conf.task_routes["lms.progress.tasks.grade_submission"] == {"queue": "grading"}
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_ignore_result is True


def test_debug_is_off_unless_asked_for():
    assert django_settings.DEBUG is False


def test_healthz_reports_an_unusable_sandbox(client, settings):
    settings.SANDBOX_BWRAP = "/nonexistent/bwrap"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "bubblewrap not found" in response.json()["checks"]["sandbox"]["error"]


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/healthz")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy and "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
