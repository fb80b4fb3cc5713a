"""Host side of the judge: a sandboxed, pristine Python process that runs instructor tests.

The judge talks to the worker over its own pipes (JSON lines); it reaches the learner's kernel
only through requests the worker relays, so the verdict channel is out of the learner's reach.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

from . import policy, procs
from .errors import KernelStartError, SubmissionEnded
from .forkserver import ForkedSandbox, ForkServer
from .settings import SandboxSettings

_HERE = Path(__file__).resolve().parent
MAX_LINE = 64 * 1024**2


def judge_source(settings: SandboxSettings, nice: int = 0) -> str:
    from .kernel import WARMUP

    body = (
        f"WIRE_SOURCE = {(_HERE / '_wire.py').read_text()!r}\n"
        f"PRELOAD = {settings.preload!r}\n"
        f"WARMUP = {WARMUP!r}\n" + (_HERE / "_judge_main.py").read_text()
    )
    return policy.bootstrap_source(settings.limits, body, nice=nice)


class SandboxedJudge:
    def __init__(self, settings: SandboxSettings | None = None, forkserver: ForkServer | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.runtime = policy.check_available(self.settings)
        #: Fork a warm judge from this zygote instead of booting one cold in its own bwrap.
        self.forkserver = forkserver
        self._forked: ForkedSandbox | None = None
        self.workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        #: The judge's stdin (we write) and stdout (we read).
        self._to_judge: Any = None
        self._from_judge: int | None = None
        self._buffer = b""
        self.cgroup: Path | None = None
        self.pid_namespace: str | None = None
        self._pidns: procs.PidNamespace | None = None

    def __enter__(self) -> SandboxedJudge:
        if self._to_judge is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self, nice: int = 0) -> None:
        """Spawn the sandbox. bwrap's --die-with-parent follows the spawning *thread*, so call
        this from a thread that outlives the judge. ``nice``: priority while booting."""
        if self.forkserver is not None:
            self._launch_forked(self.forkserver)
            return
        self.workdir = policy.make_workdir(self.settings, "j-")
        cmd = policy.bwrap_command(self.settings, self.runtime, self.workdir, judge_source(self.settings, nice))
        self.cgroup = policy.create_pids_cgroup(self.workdir.name, self.settings.limits.processes)
        if self.cgroup is not None:
            cmd = policy.join_cgroup_command(self.cgroup, cmd)
        log = open(self.workdir.with_suffix(".log"), "wb")  # noqa: SIM115
        try:
            self._process = subprocess.Popen(  # noqa: S603 - argv built by policy.bwrap_command
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
            )
        finally:
            log.close()
        self._to_judge = self._process.stdin
        self._from_judge = self._process.stdout.fileno() if self._process.stdout else None

    def _launch_forked(self, server: ForkServer) -> None:
        self.workdir = server.make_workdir("j-")
        stdin_read, stdin_write = os.pipe()
        stdout_read, stdout_write = os.pipe()
        try:
            with open(self.workdir.with_suffix(".log"), "wb") as log:
                self._forked = server.spawn(
                    "judge",
                    self.workdir,
                    [stdin_read, stdout_write, log.fileno()],
                    self.settings.limits,
                    datasets=self.settings.datasets_dir,
                )
        except BaseException:
            for fd in (stdin_write, stdout_read):
                os.close(fd)
            policy.remove_workdir(self.workdir)
            raise
        finally:
            os.close(stdin_read)
            os.close(stdout_write)
        self.cgroup = self._forked.cgroup
        self._to_judge = os.fdopen(stdin_write, "wb")
        self._from_judge = stdout_read

    def wait_ready(self) -> None:
        try:
            ready = self.receive(time.monotonic() + self.settings.startup_seconds)
        except SubmissionEnded as exc:
            self.destroy()
            raise KernelStartError.from_output("judge", str(exc)) from exc
        if ready.get("op") != "ready":
            self.destroy()
            raise KernelStartError.from_output("judge", repr(ready))
        if self._forked is not None:
            self.pid_namespace = self._forked.pid_namespace
            return
        self._pidns = procs.find_namespace(self._process.pid if self._process else None)
        self.pid_namespace = self._pidns.namespace if self._pidns else None

    def prioritise(self) -> None:
        """Back to normal priority (best effort) once the session is handed out for grading."""
        procs.set_nice(self._process.pid if self._process else None, 0)

    def send(self, message: dict[str, Any]) -> None:
        stream = self._to_judge
        if stream is None:
            raise SubmissionEnded("crashed", "the judge is not running")
        try:
            stream.write(json.dumps(message).encode() + b"\n")
            stream.flush()
        except OSError as exc:
            raise SubmissionEnded("crashed", "the judge went away: " + self._log_tail()) from exc

    def receive(self, deadline: float) -> dict[str, Any]:
        fd = self._from_judge
        if fd is None:
            raise SubmissionEnded("crashed", "the judge is not running")
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SubmissionEnded("time limit", "a test ran longer than its limit")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise SubmissionEnded("crashed", "the judge exited: " + self._log_tail())
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE:
                raise SubmissionEnded("output limit", "the judge received too much data")
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def _log_tail(self) -> str:
        if self.workdir is None:
            return ""
        try:
            return self.workdir.with_suffix(".log").read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def destroy(self) -> None:
        forked, self._forked = self._forked, None
        if forked is not None:
            forked.kill()
            with contextlib.suppress(OSError):
                if self._to_judge is not None:
                    self._to_judge.close()
            if self._from_judge is not None:
                os.close(self._from_judge)
        self._to_judge = self._from_judge = None
        process, self._process = self._process, None
        if process is not None:
            procs.kill_sandbox(process, self._pidns)
            _wait_cgroup_empty(self.cgroup)
            for stream in (process.stdin, process.stdout):  # closes _to_judge and _from_judge
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        policy.remove_cgroup(self.cgroup)
        if self.workdir is not None:
            policy.remove_workdir(self.workdir)
            self.workdir.with_suffix(".log").unlink(missing_ok=True)
            self.workdir = None


def _wait_cgroup_empty(cgroup: Path | None, seconds: float = 5.0) -> None:
    if cgroup is None:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not (cgroup / "cgroup.procs").read_text().split():
                return
        except OSError:
            return
        time.sleep(0.005)
