"""The processes of one sandbox, seen from the worker through /proc: find, prioritise, kill.

A sandbox is ``bwrap`` (the worker's child) monitoring the namespace's init (bwrap again, pid 1
inside), which runs Python. Killing the init first lets the outer bwrap reap it and exit, so
nothing is orphaned to the host's init (which may reap slowly: seconds, on some hosts).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

#: The default nice value of pool sessions while they boot (``PoolSettings.boot_nice``).
BOOT_NICE = 10


@dataclass(frozen=True)
class PidNamespace:
    """The sandbox's pid namespace (``/proc/PID/ns/pid`` link) and its init's host pid."""

    namespace: str
    init_pid: int


def children(pid: int) -> list[int]:
    result: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return result
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                result += [int(child) for child in handle.read().split()]
        except OSError:
            continue
    return result


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (host pids)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += children(current)
    return found


def find_namespace(pid: int | None, seconds: float = 2.0) -> PidNamespace | None:
    """The first process below ``pid`` that lives in another pid namespace (the sandbox's init)."""
    if pid is None:
        return None
    own = os.readlink("/proc/self/ns/pid")
    deadline = time.monotonic() + seconds
    while True:
        for current in descendants(pid):
            try:
                namespace = os.readlink(f"/proc/{current}/ns/pid")
            except OSError:
                continue
            if namespace != own:
                return PidNamespace(namespace, current)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


def _running(pid: int) -> bool:
    """False for zombies: they run nothing and wait only to be reaped by their parent."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def namespace_members(namespace: str | None) -> list[int]:
    """Host pids of the processes still running in ``namespace``."""
    members: list[int] = []
    if namespace is None:
        return members
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") == namespace and _running(int(entry)):
                members.append(int(entry))
        except OSError:
            continue
    return members


def wait_namespace_empty(namespace: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while namespace_members(namespace) and time.monotonic() < deadline:
        time.sleep(0.005)
    for pid in namespace_members(namespace):
        # Only reachable if the namespace's init outlived its parent: kill what is left.
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def kill_sandbox(process: subprocess.Popen[Any] | None, pidns: PidNamespace | None) -> None:
    """Kill the namespace's init (the kernel then kills every process inside), let the outer
    bwrap reap it and exit, then make sure the outer process is gone too."""
    if pidns is not None:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pidns.init_pid}/ns/pid") == pidns.namespace:
                os.kill(pidns.init_pid, signal.SIGKILL)
    if process is None:
        if pidns is not None:
            wait_namespace_empty(pidns.namespace)
        return
    if pidns is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5.0)
    if process.returncode is None or pidns is None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()
        if pidns is not None:
            wait_namespace_empty(pidns.namespace)
    # Otherwise the outer bwrap reaped the init, which cannot finish exiting before every other
    # process of its namespace is gone: the namespace is empty, no need to scan /proc for it.


def set_nice(pid: int | None, value: int) -> None:
    """Best effort: set every thread of ``pid`` and its descendants to ``value``.

    Raising priority back needs root, CAP_SYS_NICE or an RLIMIT_NICE of 20 - value in the
    worker (inherited by the sandbox); without them the session keeps its boot priority.
    """
    if pid is None:
        return
    own = _autogroup("self")
    for member in descendants(pid):
        group = _autogroup(str(member))
        # The sandbox runs in its own autogroup (a session of its own): its nice is what counts.
        # Never the worker's own group: that would slow the worker down.
        if group is not None and (own is None or group[0] != own[0]) and group[1] != value:
            with contextlib.suppress(OSError), open(f"/proc/{member}/autogroup", "w") as handle:
                handle.write(str(value))
        try:
            tasks = os.listdir(f"/proc/{member}/task")
        except OSError:
            continue
        for task in tasks:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, int(task), value)


def _autogroup(pid: str) -> tuple[str, int] | None:
    """``("/autogroup-N", nice)`` of a process, or None where the kernel has no autogroups."""
    try:
        with open(f"/proc/{pid}/autogroup") as handle:
            name, _, nice = handle.read().split()
        return name, int(nice)
    except (OSError, ValueError):
        return None
