"""sandbox/pool.py and the session lifecycle (sandbox/procs.py): priority, teardown."""

from __future__ import annotations

import os
import resource

import pytest

from sandbox.formats import parse_exercise
from sandbox.grader import Grader, start_session
from sandbox.pool import KernelPool
from sandbox.procs import BOOT_NICE, _autogroup, descendants
from sandbox.settings import SandboxSettings

from .conftest import assert_nothing_left, read

pytestmark = pytest.mark.kernel

EXERCISE = parse_exercise(read("mean-square-exercise.ipynb"))


def _can_raise_priority() -> bool:
    return os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_NICE)[0] >= 20


def _nice_values(pid: int | None) -> set[int]:
    """Nice values of every thread below ``pid``, and of the autogroups (sessions) they are in."""
    assert pid is not None
    values: set[int] = set()
    own = _autogroup("self")
    for member in descendants(pid):
        for task in os.listdir(f"/proc/{member}/task"):
            values.add(os.getpriority(os.PRIO_PROCESS, int(task)))
        group = _autogroup(str(member))
        if group is not None and group[0] != (own[0] if own else None):
            values.add(group[1])
    return values


def _entries(namespace: str | None) -> list[int]:
    """Every process of the namespace, zombies included."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not _can_raise_priority(), reason="the worker may not raise priorities here")
def test_pool_sessions_boot_low_and_grade_at_normal_priority(sandbox_settings: SandboxSettings) -> None:
    session = start_session(sandbox_settings, nice=BOOT_NICE)
    try:
        kernel_pid = session.kernel._pid()
        judge_pid = session.judge._process.pid if session.judge._process else None
        assert BOOT_NICE in _nice_values(kernel_pid) and BOOT_NICE in _nice_values(judge_pid)
        session.prioritise()
        assert _nice_values(kernel_pid) == {0}
        assert _nice_values(judge_pid) == {0}
    finally:
        session.destroy()
    assert_nothing_left(session)


def test_pool_hands_out_sessions_at_normal_priority(pool: KernelPool) -> None:
    session = pool.acquire()
    try:
        assert _nice_values(session.kernel._pid()) == {0}
    finally:
        pool.retire(session)
    assert_nothing_left(session)


def test_destroyed_session_leaves_no_zombie(grader: Grader) -> None:
    result = grader.grade(EXERCISE, read("correct-answer.ipynb"))
    assert result.score == 7.0
    session = grader.last_session
    assert_nothing_left(session)
    assert session is not None
    # killed from the inside out: nothing was orphaned to the host's init, not even a zombie
    assert _entries(session.kernel.pid_namespace) == []
    assert _entries(session.judge.pid_namespace) == []
