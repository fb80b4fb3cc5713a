"""The grading engine as each Celery worker process holds it: one warm kernel pool per process.

Only workers import this module's engine; the web process never executes learner code.
"""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from sandbox import Limits, PoolSettings, SandboxSettings
from sandbox.grader import Grader
from sandbox.pool import KernelPool

_lock = threading.Lock()
_grader: Grader | None = None


def sandbox_settings() -> SandboxSettings:
    options = {}
    if settings.SANDBOX_KERNEL_PYTHON:
        options["kernel_python"] = Path(settings.SANDBOX_KERNEL_PYTHON)
    return SandboxSettings(limits=Limits(**settings.SANDBOX_LIMITS), **options)


def grader() -> Grader:
    """This process's grader, with a warm pool when SANDBOX_POOL_SIZE > 0 (started on first use)."""
    global _grader
    with _lock:
        if _grader is None:
            sandbox = sandbox_settings()
            pool = (
                KernelPool(PoolSettings(size=settings.SANDBOX_POOL_SIZE, sandbox=sandbox))
                if settings.SANDBOX_POOL_SIZE
                else None
            )
            _grader = Grader(sandbox, pool=pool)
        return _grader


def shutdown() -> None:
    global _grader
    with _lock:
        if _grader is not None and _grader.pool is not None:
            _grader.pool.close()
        _grader = None
