"""The worker's pool takes its size and boot priority from the settings (a misspelt setting would
silently do nothing)."""

import pytest

from lms.progress import grading

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("boot_nice", [0, 7])
def test_the_pool_boots_at_the_configured_priority(settings, boot_nice):
    settings.SANDBOX_POOL_SIZE = 1
    settings.SANDBOX_POOL_BOOT_NICE = boot_nice
    grading.shutdown()
    try:
        pool = grading.grader().pool
        assert pool is not None
        assert (pool.settings.size, pool.settings.boot_nice) == (1, boot_nice)
    finally:
        grading.shutdown()
