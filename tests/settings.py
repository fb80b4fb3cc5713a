"""Test settings: the real settings, with two costs removed that no test depends on.

- Passwords hashed with MD5: PBKDF2's deliberate slowness would dominate the suite.
- Wagtail's background tasks (search and reference indexing) are queued, not run: no test searches.
"""

import os

from lms.settings import *  # noqa: F403

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
