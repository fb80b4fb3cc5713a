"""Shared test set-up: a clean cache per test and builders for course trees."""

import pytest


@pytest.fixture(autouse=True)
def _clean_cache(request):
    # Only Django tests touch the cache; the sandbox tests must not need Django at all.
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from django.core.cache import cache

        cache.clear()
    yield
