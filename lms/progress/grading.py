"""The grading engine as each Celery worker process holds it: one warm kernel pool per process.

Only workers call `grader()`; the web process never executes learner code (it may call
`sandbox_settings()` to report the sandbox's status in /healthz).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from sandbox import KernelStartError, Limits, SandboxSettings
from sandbox.policy import check_available

if TYPE_CHECKING:
    from sandbox.grader import Grader

_lock = threading.Lock()
_grader: Grader | None = None


def sandbox_task_options(*, gradings: int = 1) -> dict[str, Any]:
    """Celery options of every task that runs code in the sandbox (grade, regrade, self-check).

    Acknowledged late and rejected when the worker dies, so a killed worker's message is
    delivered again; only a kernel that will not start is retried (a wrong answer, a timeout or a
    crash is a result); `gradings` scales the time limits for a task that grades more than once.
    """
    return {
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": (KernelStartError,),
        "retry_backoff": 2,
        "retry_backoff_max": 60,
        "retry_jitter": True,
        "max_retries": 5,
        "soft_time_limit": gradings * settings.GRADING_SOFT_TIME_LIMIT,
        "time_limit": gradings * settings.GRADING_HARD_TIME_LIMIT,
    }


def sandbox_settings() -> SandboxSettings:
    from courses.datasets import mounts_root

    options = {"bwrap": Path(settings.SANDBOX_BWRAP)}
    if settings.SANDBOX_KERNEL_PYTHON:
        options["kernel_python"] = Path(settings.SANDBOX_KERNEL_PYTHON)
    # Every exercise's datasets directory lives here; a fork server's zygote needs it to exist.
    datasets_root = mounts_root()
    datasets_root.mkdir(parents=True, exist_ok=True)
    return SandboxSettings(limits=Limits(**settings.SANDBOX_LIMITS), datasets_root=datasets_root, **options)


def grader() -> Grader:
    """This process's grader, with a warm pool when SANDBOX_POOL_SIZE > 0.

    Fails closed: raises SandboxUnavailable, naming the reason, when bubblewrap or the kernel
    runtime is missing or (with SANDBOX_SELFTEST_ON_START) the self-test finds a hole.
    """
    global _grader
    with _lock:
        if _grader is None:
            from sandbox.grader import Grader
            from sandbox.pool import KernelPool
            from sandbox.selftest import assert_sandbox_holds
            from sandbox.settings import PoolSettings

            sandbox = sandbox_settings()
            check_available(sandbox)
            if settings.SANDBOX_SELFTEST_ON_START:
                assert_sandbox_holds(sandbox)
            size = settings.SANDBOX_POOL_SIZE
            pool = (
                KernelPool(
                    PoolSettings(
                        size=size,
                        sandbox=sandbox,
                        boot_nice=settings.SANDBOX_POOL_BOOT_NICE,
                        fork_server=settings.SANDBOX_FORK_SERVER,
                    )
                )
                if size
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
