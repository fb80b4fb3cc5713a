"""Test settings: the real settings, with two costs removed that no test depends on.

- Passwords hashed with MD5: PBKDF2's deliberate slowness would dominate the suite.
- Wagtail's background tasks (search and reference indexing) are queued, not run: no test searches.
"""

from lms.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
# Static files straight from the source folders: tests must not depend on a collectstatic run.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
