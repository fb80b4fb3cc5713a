"""Real Celery worker processes for tests: the test database, the configured broker, a small pool."""

import contextlib
import os
import signal
import subprocess

from django.conf import settings
from django.db import connection

from lms.celery import grading_worker_command


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, name: str, pool_size: int = 1) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "SANDBOX_POOL_SIZE": str(pool_size),
        }
        self.process = subprocess.Popen(
            grading_worker_command(name),
            cwd=settings.BASE_DIR,
            env=env,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker and its children at once, as a crashed machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
