"""Test settings: the real settings, with two costs removed that no test depends on, and each
parallel test worker kept apart from the others (_isolate_parallel_worker).

- Passwords hashed with MD5: PBKDF2's deliberate slowness would dominate the suite.
- Wagtail's background tasks (search and reference indexing) are queued, not run: no test searches.
"""

import os
import re


def _isolate_parallel_worker() -> None:
    """Give each pytest-xdist worker (`make test` runs two) its own var/ directory, embedded broker,
    file cache and Redis databases; pytest-django already gives it its own test database.

    Done through the environment before the real settings are read, so that the Celery workers and
    commands a test starts inherit the same places. Those import this module too: the marker
    variable keeps them from moving the places a second time.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker or os.environ.get("OPENCAPACITY_TEST_WORKER") == worker:
        return
    number = int(worker.removeprefix("gw"))
    base = os.environ.get("OPENCAPACITY_VAR_DIR") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "var")
    os.environ["OPENCAPACITY_VAR_DIR"] = os.path.join(base, worker)
    if datasets := os.environ.get("OPENCAPACITY_DATASETS_DIR"):
        os.environ["OPENCAPACITY_DATASETS_DIR"] = os.path.join(datasets, worker)
    redis: dict[str, tuple[str, int]] = {}
    for name in ("CELERY_BROKER_URL", "CACHE_URL"):
        url = os.environ.get(name, "")
        if match := re.fullmatch(r"(rediss?://[^/]+)/(\d+)", url):
            redis[name] = (match[1], int(match[2]))
        elif url and not url.startswith(("sqla+sqlite", "locmem")):
            raise RuntimeError(f"{name}={url}: run the tests with -n 0, or teach tests/settings.py to isolate it")
    # Each worker gets the databases above the ones configured, in blocks as wide as the highest
    # configured one: CI's 0 and 1 become 2 and 3 for gw0, 4 and 5 for gw1.
    stride = max((db for _server, db in redis.values()), default=0) + 1
    for name, (server, db) in redis.items():
        moved = db + stride * (number + 1)
        if moved > 15:
            raise RuntimeError(f"{name}: worker {worker} would need Redis database {moved}; run fewer test processes")
        os.environ[name] = f"{server}/{moved}"
    os.environ["OPENCAPACITY_TEST_WORKER"] = worker


_isolate_parallel_worker()

from lms.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
# Static files straight from the source folders: tests must not depend on a collectstatic run.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Grading workers started by the tests run in other processes, so the test database is a file
# they can open too (PostgreSQL test databases are shared already).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405

# The test process boots one sandboxed session per grading call; workers the tests start set their own pool.
SANDBOX_POOL_SIZE = int(os.environ.get("SANDBOX_POOL_SIZE", "0"))
# The self-test takes seconds per process; tests/sandbox/test_selftest.py runs it, and
# tests/lms/test_grading.py checks that a worker refuses to grade when the sandbox is unusable.
SANDBOX_SELFTEST_ON_START = False
