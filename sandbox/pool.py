"""A warm pool of sandboxed sessions (kernel + judge), one per submission, never reused.

With ``PoolSettings.fork_server`` (the default) sessions are forked from a sandboxed zygote that
imported the AI stack once (sandbox/forkserver.py): a refill costs milliseconds of CPU instead
of seconds, so refilling no longer competes with grading.
Sessions are started by a background thread that lives as long as the pool: bwrap's
--die-with-parent is tied to the spawning thread, so sessions must not be started from
short-lived threads. Refills keep out of the way of grading: they boot at the lowest CPU priority
and, while a warm session is still ready, wait (up to ``REFILL_DEFER_SECONDS``) for the
submissions in progress to finish before starting.

A submission whose exercise has datasets needs them at /data, which a sandbox gets when it is
forked: the first one gets a session forked for it, and the refill thread then keeps a spare
session for that datasets directory (one per directory, for the ``size`` used most recently), so
the next submissions of the same exercise find theirs warm too.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict, deque
from dataclasses import replace
from pathlib import Path

from .errors import KernelStartError, SandboxError
from .forkserver import ForkServer
from .grader import Session, start_session
from .policy import check_available
from .procs import children, set_nice
from .settings import PoolSettings

#: Longest a refill waits for grading in progress while a warm session is still ready.
REFILL_DEFER_SECONDS = 2.0


class KernelPool:
    def __init__(self, settings: PoolSettings | None = None) -> None:
        self.settings = settings or PoolSettings()
        check_available(self.settings.sandbox)
        self._ready: deque[Session] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._failures = 0
        self._last_error: Exception | None = None
        self._reapers: list[threading.Thread] = []
        #: Sessions handed out and not yet retired: submissions being graded.
        self._in_use = 0
        #: With the fork server, one spare session per datasets directory used lately (at most
        #: ``size``, least recently used first), so the next submission of that exercise finds
        #: its /data ready; and the directories whose spare was taken, to start the next one.
        self._spares: OrderedDict[Path, Session] = OrderedDict()
        self._wanted: OrderedDict[Path, None] = OrderedDict()
        #: Started and restarted by the refill thread, which outlives it (--die-with-parent).
        self._forkserver: ForkServer | None = None
        self._thread = threading.Thread(target=self._refill, name="sandbox-pool", daemon=True)
        self._thread.start()

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ready_count(self) -> int:
        with self._cond:
            return len(self._ready)

    def wait_ready(self, count: int | None = None, timeout: float = 60.0) -> bool:
        wanted = self.settings.size if count is None else count
        deadline = time.monotonic() + timeout
        if self.ready_count < wanted:
            _hurry_boots()
        with self._cond:
            while len(self._ready) < wanted:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return False
                self._cond.wait(remaining)
            return True

    def acquire(self, timeout: float | None = None, datasets: Path | None = None) -> Session:
        """Take a warm session; the caller must destroy it after one submission.

        A submission that reads ``datasets`` gets the spare session kept for that directory, or
        else one forked for it now: the generic warm sessions started before anyone knew which
        exercise they would grade, and a sandbox's mounts are fixed before it runs anything.
        """
        if datasets is not None and datasets != self.settings.sandbox.datasets_dir:
            return self._acquire_with(datasets)
        limit = self.settings.sandbox.startup_seconds * 2 if timeout is None else timeout
        deadline = time.monotonic() + limit
        if not self.ready_count:
            _hurry_boots()
        with self._cond:
            while not self._ready:
                if self._closed:
                    raise SandboxError("the pool is closed")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise KernelStartError(f"no warm kernel within {limit:g} s: {self._last_error}")
                self._cond.wait(min(remaining, 0.5))
            session = self._ready.popleft()
            self._in_use += 1
            self._cond.notify_all()
        session.prioritise()
        return session

    def _acquire_with(self, datasets: Path) -> Session:
        """The spare session for ``datasets`` if one is ready, else one forked now; either way the
        refill thread then prepares a spare for the next submission of the same exercise."""
        with self._cond:
            if self._closed:
                raise SandboxError("the pool is closed")
            self._in_use += 1  # refills wait for it as for any submission in progress
            spare = self._spares.pop(datasets, None)
        if spare is not None and spare.kernel.alive:
            self._want_spare(datasets)
            spare.prioritise()
            return spare
        if spare is not None:
            self._discard(spare)  # its zygote died
        try:
            # The refill thread's zygote: its sandboxes die with it, not with this thread.
            session = start_session(replace(self.settings.sandbox, datasets_dir=datasets), forkserver=self._zygote())
        except BaseException:
            with self._cond:
                self._in_use = max(0, self._in_use - 1)
                self._cond.notify_all()
            raise
        # Only a directory a sandbox could mount gets a spare: a refused one (outside the root,
        # missing) would have the refill thread fail and back off on it, starving the pool.
        self._want_spare(datasets)
        return session

    def _want_spare(self, datasets: Path) -> None:
        if not self.settings.fork_server:
            return
        with self._cond:
            self._wanted[datasets] = None
            self._wanted.move_to_end(datasets)
            self._cond.notify_all()

    def _zygote(self) -> ForkServer | None:
        """The running zygote, once the refill thread has started it; None without one (the
        session then boots cold)."""
        if not self.settings.fork_server:
            return None
        deadline = time.monotonic() + self.settings.sandbox.startup_seconds * 2
        with self._cond:
            while True:
                server = self._forkserver
                if server is not None and server.alive:
                    return server
                if self._closed or time.monotonic() > deadline:
                    return None
                self._cond.wait(0.1)

    def retire(self, session: Session) -> None:
        """Destroy a used session without making the caller wait for the reaping."""
        reaper = threading.Thread(target=session.destroy, name="sandbox-reaper", daemon=True)
        with self._cond:
            self._reapers = [t for t in self._reapers if t.is_alive()] + [reaper]
            self._in_use = max(0, self._in_use - 1)
            self._cond.notify_all()
        reaper.start()

    def _discard(self, session: Session) -> None:
        """Destroy a session nobody used (an evicted or dead spare) in the background."""
        reaper = threading.Thread(target=session.destroy, name="sandbox-reaper", daemon=True)
        with self._cond:
            self._reapers = [t for t in self._reapers if t.is_alive()] + [reaper]
        reaper.start()

    def _spare_wanted(self) -> Path | None:
        """The most recently used datasets directory that has no spare yet (under the lock)."""
        for datasets in reversed(self._wanted):
            if datasets not in self._spares:
                return datasets
        self._wanted.clear()
        return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=self.settings.sandbox.startup_seconds + 5)
        with self._cond:
            sessions = list(self._ready) + list(self._spares.values())
            self._ready.clear()
            self._spares.clear()
        for session in sessions:
            session.destroy()
        for reaper in list(self._reapers):
            reaper.join(timeout=30)
        self._stop_forkserver()

    def _refill(self) -> None:
        while True:
            with self._cond:
                while not self._closed and len(self._ready) >= self.settings.size and self._spare_wanted() is None:
                    self._cond.wait()
                defer_until = time.monotonic() + REFILL_DEFER_SECONDS
                while not self._closed and self._in_use and self._ready and time.monotonic() < defer_until:
                    self._cond.wait(max(0.0, defer_until - time.monotonic()))
                if self._closed:
                    return
                # The generic sessions first: every submission may need one.
                datasets = None if len(self._ready) < self.settings.size else self._spare_wanted()
            settings = replace(self.settings.sandbox, datasets_dir=datasets) if datasets else self.settings.sandbox
            try:
                forkserver = self._ensure_forkserver()
                # Booting at low priority keeps cold refills from slowing the submission being graded.
                session = start_session(settings, nice=self.settings.boot_nice, forkserver=forkserver)
            except (SandboxError, OSError) as exc:  # this thread must outlive any failed start
                self._last_error = exc
                self._failures += 1
                if datasets is not None:
                    with self._cond:
                        self._wanted.pop(datasets, None)  # a submission will ask again
                time.sleep(min(30.0, 0.5 * 2 ** min(self._failures, 6)))
                continue
            self._failures = 0
            evicted: list[Session] = []
            with self._cond:
                if self._closed:
                    session.destroy()
                    return
                if datasets is None:
                    self._ready.append(session)
                else:
                    self._wanted.pop(datasets, None)
                    self._spares[datasets] = session
                    while len(self._spares) > self.settings.size:
                        evicted.append(self._spares.popitem(last=False)[1])
                self._cond.notify_all()
            for old in evicted:
                self._discard(old)

    def _ensure_forkserver(self) -> ForkServer | None:
        """The zygote, (re)started here if it died: only from the refill thread."""
        if not self.settings.fork_server:
            return None
        if self._forkserver is not None and not self._forkserver.alive:
            self._forkserver.close()
            self._forkserver = None
        if self._forkserver is None:
            self._forkserver = ForkServer(self.settings.sandbox)
        return self._forkserver

    def _stop_forkserver(self) -> None:
        server, self._forkserver = self._forkserver, None
        if server is not None:
            server.close()


def _hurry_boots() -> None:
    """Someone waits for a session: every sandbox this worker started goes back to nice 0
    (those booting at ``boot_nice`` would otherwise crawl on a busy machine)."""
    for child in children(os.getpid()):
        try:
            with open(f"/proc/{child}/comm") as handle:
                if handle.read().strip() != "bwrap":
                    continue
        except OSError:
            continue
        set_nice(child, 0)
