"""Host side of the fork server: a sandboxed zygote that forks warm kernels and judges.

Booting a kernel with numpy, pandas and scikit-learn costs seconds of CPU; forking one from a
process that imported them once costs milliseconds. The zygote (``_zygote_main.py``) runs in
bubblewrap under the same policy as a cold kernel and never runs learner code; every sandbox it
forks gets new user, mount, pid, net, ipc and uts namespaces, its own /tmp, its own pids cgroup
(joined here, before anything runs in it) and the learner limits, and shares no writable memory
with any other (fork copies on write). See docs/sandbox.md, "Fork server".
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from . import policy, procs
from .errors import KernelStartError, SandboxError
from .settings import Limits, SandboxSettings

_HERE = Path(__file__).resolve().parent

#: Modules a kernel imports while it boots, beyond ``SandboxSettings.preload``; the zygote also
#: learns the rest from a throw-away kernel it initialises once.
_KERNEL_PRELOAD = (
    # Not matplotlib.pyplot nor its inline backend: importing the backend hooks it into the
    # IPython shell that exists at that moment, and the zygote has none (plots would vanish).
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "jupyter_client.connect",
)


@dataclass
class _Pending:
    forked: int | None = None
    started: int | None = None
    exited: int | None = None


class ForkServer:
    """One zygote per worker process. Start it from a thread that outlives it: bubblewrap's
    --die-with-parent follows the spawning thread, and every sandbox dies with the zygote."""

    def __init__(self, settings: SandboxSettings, *, clone: bool = True) -> None:
        """``clone=False`` keeps the zygote to the portable three-process layout, which it also
        falls back to by itself where clone(2) cannot be used (see _zygote_main)."""
        self.settings = settings
        self.runtime = policy.check_available(settings)
        self.workdir = policy.make_workdir(settings, "z-")
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: dict[int, _Pending] = {}
        self._closed = False
        host_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = host_end
        spec = {
            "preload": list(settings.preload) + list(_KERNEL_PRELOAD),
            "warmup": _warmup(),
            "wire": (_HERE / "_wire.py").read_text(),
            "agent": (_HERE / "_kernel_agent.py").read_text(),
            "judge": (_HERE / "_judge_main.py").read_text(),
            "control_fd": zygote_end.fileno(),
            "clone": clone,
        }
        source = (
            "import resource, os\n"
            "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
            "os.umask(0o077)\n"
            f"SPEC = {spec!r}\n" + (_HERE / "_zygote_main.py").read_text()
        )
        #: Every exercise's datasets, which the zygote sees read-only (policy.DATASETS_STAGE).
        self.datasets_root = _resolved(settings.datasets_root or settings.datasets_dir)
        argv = policy.bwrap_command(
            replace(settings, datasets_dir=None), self.runtime, self.workdir, source, datasets_root=self.datasets_root
        )
        self._log_path = self.workdir.with_suffix(".log")
        log = open(self._log_path, "wb")  # noqa: SIM115 - handed to the child process
        try:
            self._process = subprocess.Popen(  # noqa: S603 - argv built by policy.bwrap_command
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(zygote_end.fileno(),),
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
            )
        finally:
            log.close()
            zygote_end.close()
        try:
            ready = self._receive(time.monotonic() + settings.startup_seconds * 2)
        except BaseException:
            self.close()
            raise
        if ready.get("op") != "ready":
            self.close()
            raise KernelStartError.from_output("fork server", self._log_tail())
        #: What a kernel imports while it boots, learnt by the zygote from a throw-away kernel and
        #: imported there once (empty if that probe failed: kernels then import it themselves).
        learnt = ready.get("learnt")
        self.kernel_modules = frozenset(str(name) for name in learnt) if isinstance(learnt, list) else frozenset()
        #: Whether each sandbox is one process cloned into its namespaces (else three).
        self.clones = ready.get("clone") is True
        self._pidns = procs.find_namespace(self._process.pid)
        self._zygote_host_pid = self._host_pid(self._process.pid, int(str(ready["pid"])), depth=2)
        self._reader = threading.Thread(target=self._read, name="sandbox-forkserver", daemon=True)
        self._reader.start()

    # -- plumbing ----------------------------------------------------------------------------
    def _receive(self, deadline: float) -> dict[str, object]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KernelStartError.from_output("fork server", self._log_tail())
            ready, _, _ = select.select([self._control], [], [], min(remaining, 0.5))
            if ready:
                data = self._control.recv(1 << 16)
                if not data:
                    raise KernelStartError.from_output("fork server", self._log_tail())
                message: dict[str, object] = json.loads(data)
                return message
            if self._process.poll() is not None:
                raise KernelStartError.from_output("fork server", self._log_tail())

    def _read(self) -> None:
        while True:
            try:
                data = self._control.recv(1 << 16)
            except OSError:
                data = b""
            with self._cond:
                if not data:
                    self._closed = True
                    self._cond.notify_all()
                    return
                message = json.loads(data)
                pending = self._pending.get(int(message.get("id", 0)))
                if pending is not None:
                    setattr(pending, str(message["op"]), int(message.get("pid", message.get("code", 0))))
                self._cond.notify_all()

    def _wait_for(self, key: int, field: str, deadline: float) -> int:
        with self._cond:
            while True:
                value = getattr(self._pending[key], field)
                if value is not None:
                    return int(value)
                if self._pending[key].exited is not None:
                    raise KernelStartError.from_output("sandbox", self._log_tail())
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    raise KernelStartError.from_output("fork server", self._log_tail())
                self._cond.wait(remaining)

    def _host_pid(self, ancestor: int, inner_pid: int, depth: int = 1, seconds: float = 2.0) -> int:
        """The host pid of the process ``depth`` levels below ``ancestor`` whose pid in its
        parent's pid namespace is ``inner_pid`` (from ``NSpid`` in /proc/PID/status)."""
        deadline = time.monotonic() + seconds
        while True:
            level = [ancestor]
            for _ in range(depth):
                level = [child for pid in level for child in procs.children(pid)]
            for pid in level:
                if _nspid(pid)[1:2] == [inner_pid]:  # its pid one namespace below the host's
                    return pid
            if time.monotonic() > deadline:
                raise KernelStartError(f"sandbox process {inner_pid} not found")
            time.sleep(0.001)

    def _log_tail(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        return not self._closed and self._process.poll() is None

    # -- sandboxes -------------------------------------------------------------------------
    def make_workdir(self, prefix: str) -> Path:
        import tempfile

        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.workdir)).resolve()

    def spawn(
        self,
        kind: str,
        workdir: Path,
        fds: list[int],
        limits: Limits | None = None,
        datasets: Path | None = None,
        **extra: str,
    ) -> ForkedSandbox:
        """Fork a sandbox running ``kind`` ("kernel" or "judge") with ``fds`` as its plumbing
        (kernel: [log]; judge: [stdin, stdout, log]) under ``limits`` (default: the server's
        settings), with ``datasets`` (a directory under ``datasets_root``) read-only at /data;
        the caller keeps its copies of ``fds``."""
        limits = limits or self.settings.limits
        if datasets is not None:
            extra["datasets"] = self._datasets_in_zygote(datasets)
        if not self.alive:
            raise KernelStartError.from_output("fork server", self._log_tail())
        key = next(self._ids)
        deadline = time.monotonic() + self.settings.startup_seconds
        with self._cond:
            self._pending[key] = _Pending()
        request = {
            "op": "spawn",
            "id": key,
            "kind": kind,
            "workdir": str(workdir),
            "rlimits": policy.rlimits(limits),
            "tmp_bytes": limits.tmp_bytes,
            **extra,
        }
        cgroup: Path | None = None
        try:
            with self._lock:
                socket.send_fds(self._control, [json.dumps(request).encode()], fds)
            forked = self._host_pid(self._zygote_host_pid, self._wait_for(key, "forked", deadline))
            # Its own pids cgroup before it forks anything: nothing inside can escape the cap.
            cgroup = policy.create_pids_cgroup(workdir.name, limits.processes)
            if cgroup is not None:
                (cgroup / "cgroup.procs").write_text(str(forked))
            with self._lock:
                self._control.send(json.dumps({"op": "go", "id": key}).encode())
            # 0: the forked process is itself the sandbox's pid 1 (cloned into its namespaces);
            # else the pid of the init that the intermediary forked.
            started = self._wait_for(key, "started", deadline)
            init = forked if started == 0 else self._host_pid(forked, started)
            pidfd = os.pidfd_open(init)
        except OSError as error:
            # The zygote or the new sandbox died mid-spawn (a broken control socket, a process
            # gone before its cgroup or pidfd): a failed start like any other, which the pool's
            # refill thread retries with a new zygote instead of dying of it.
            self._forget(key)
            policy.remove_cgroup(cgroup)
            raise KernelStartError(f"the fork server could not start a sandbox: {error}") from error
        except BaseException:
            self._forget(key)
            policy.remove_cgroup(cgroup)
            raise
        return ForkedSandbox(self, key, init, pidfd, cgroup)

    def _datasets_in_zygote(self, datasets: Path) -> str:
        """Where the zygote sees ``datasets``; only directories under its root can be bound."""
        path = _resolved(datasets)
        if self.datasets_root is None or path is None or not path.is_relative_to(self.datasets_root):
            raise SandboxError(f"datasets directory {datasets} is not under the fork server's datasets_root")
        if not path.is_dir():
            raise SandboxError(f"datasets directory {datasets} does not exist")
        return str(PurePosixPath(policy.DATASETS_STAGE) / path.relative_to(self.datasets_root))

    def exit_code(self, key: int, seconds: float = 0.5) -> int | None:
        deadline = time.monotonic() + seconds
        with self._cond:
            while True:
                pending = self._pending.get(key)
                if pending is None or pending.exited is not None:
                    return None if pending is None else pending.exited
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return None
                self._cond.wait(remaining)

    def _forget(self, key: int) -> None:
        with self._cond:
            self._pending.pop(key, None)

    def close(self) -> None:
        """Kill the zygote and so every sandbox it forked."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        procs.kill_sandbox(self._process, getattr(self, "_pidns", None))
        self._control.close()
        policy.remove_workdir(self.workdir)
        self._log_path.unlink(missing_ok=True)


class ForkedSandbox:
    """One forked kernel or judge: its init's host pid (pid 1 of its own pid namespace)."""

    def __init__(self, server: ForkServer, key: int, init_pid: int, pidfd: int, cgroup: Path | None) -> None:
        self.server = server
        self.key = key
        self.init_pid = init_pid
        self.cgroup = cgroup
        self._pidfd: int | None = pidfd
        self.pid_namespace: str | None = None
        with contextlib.suppress(OSError):
            self.pid_namespace = os.readlink(f"/proc/{init_pid}/ns/pid")

    def is_alive(self) -> bool:
        if self._pidfd is None:
            return False
        return not select.select([self._pidfd], [], [], 0)[0]

    def exit_code(self) -> int | None:
        return None if self.is_alive() else self.server.exit_code(self.key)

    def kill(self) -> None:
        """SIGKILL to the init: the kernel then kills every process of the sandbox."""
        pidfd, self._pidfd = self._pidfd, None
        if pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            select.select([pidfd], [], [], 5.0)
            os.close(pidfd)
        # An init exits only once every other process of its pid namespace is gone.
        self.server.exit_code(self.key, seconds=2.0)
        self.server._forget(self.key)
        if self.cgroup is not None:
            _wait_cgroup_empty(self.cgroup)
            policy.remove_cgroup(self.cgroup)


def _wait_cgroup_empty(cgroup: Path, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not (cgroup / "cgroup.procs").read_text().split():
                return
        except OSError:
            return
        time.sleep(0.002)


def _resolved(path: Path | None) -> Path | None:
    return None if path is None else path.resolve()


def _nspid(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return [int(part) for part in line.split()[1:]]
    except OSError:
        pass
    return []


def _warmup() -> str:
    from .kernel import WARMUP

    return WARMUP


__all__ = ["ForkServer", "ForkedSandbox", "SandboxError"]
