"""A warm pool of sandboxed sessions (kernel + judge), one per submission, never reused.

Sessions are started by a background thread that lives as long as the pool: bwrap's
--die-with-parent is tied to the spawning thread, so sessions must not be started from
short-lived threads.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from .errors import KernelStartError, SandboxError
from .grader import Session, start_session
from .policy import check_available
from .settings import PoolSettings


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
        with self._cond:
            while len(self._ready) < wanted:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return False
                self._cond.wait(remaining)
            return True

    def acquire(self, timeout: float | None = None) -> Session:
        """Take a warm session; the caller must destroy it after one submission."""
        limit = self.settings.sandbox.startup_seconds * 2 if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._cond:
            while not self._ready:
                if self._closed:
                    raise SandboxError("the pool is closed")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise KernelStartError(f"no warm kernel within {limit:g} s: {self._last_error}")
                self._cond.wait(min(remaining, 0.5))
            session = self._ready.popleft()
            self._cond.notify_all()
            return session

    def retire(self, session: Session) -> None:
        """Destroy a used session without making the caller wait for the reaping."""
        reaper = threading.Thread(target=session.destroy, name="sandbox-reaper", daemon=True)
        with self._cond:
            self._reapers = [t for t in self._reapers if t.is_alive()] + [reaper]
        reaper.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=self.settings.sandbox.startup_seconds + 5)
        with self._cond:
            sessions = list(self._ready)
            self._ready.clear()
        for session in sessions:
            session.destroy()
        for reaper in list(self._reapers):
            reaper.join(timeout=30)

    def _refill(self) -> None:
        while True:
            with self._cond:
                while not self._closed and len(self._ready) >= self.settings.size:
                    self._cond.wait()
                if self._closed:
                    return
            try:
                session = start_session(self.settings.sandbox)
            except SandboxError as exc:
                self._last_error = exc
                self._failures += 1
                time.sleep(min(30.0, 0.5 * 2 ** min(self._failures, 6)))
                continue
            self._failures = 0
            with self._cond:
                if self._closed:
                    session.destroy()
                    return
                self._ready.append(session)
                self._cond.notify_all()
