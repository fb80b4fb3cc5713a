"""A sandboxed ipykernel: started through jupyter-client (ipc transport) inside bubblewrap,
executed with wall-clock, output and liveness limits, and destroyed with every process it made.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager

from . import policy
from .errors import KernelStartError, SubmissionEnded
from .results import CellOutput
from .settings import SandboxSettings

_KERNEL_BODY = """
import sys, runpy
for _m in {preload!r}:
    try:
        __import__(_m)
    except Exception:
        pass
sys.argv = ["ipykernel_launcher", "-f", {connection_file!r}]
del _m
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""

#: Verdicts recognised from an uncaught error in a learner cell.
_ERROR_VERDICTS = {
    "MemoryError": "memory limit",
}
_ERRNO_VERDICTS = {
    "[Errno 27]": "file size limit",
    "[Errno 28]": "disk limit",
    "[Errno 24]": "open files limit",
    "[Errno 11] Resource temporarily unavailable": "process limit",
}


@dataclass
class CellRun:
    """What one execute request produced."""

    status: str
    outputs: list[CellOutput] = field(default_factory=list)
    error: CellOutput | None = None
    user_expressions: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0
    truncated: bool = False

    def breach(self) -> str | None:
        """The limit verdict this cell's uncaught error stands for, if any."""
        if self.error is None:
            return None
        if self.error.ename in _ERROR_VERDICTS:
            return _ERROR_VERDICTS[self.error.ename]
        text = f"{self.error.ename}: {self.error.evalue}"
        for marker, verdict in _ERRNO_VERDICTS.items():
            if marker in text:
                return verdict
        return None


def verdict_from_exit(code: int | None) -> str:
    """Why a kernel process went away, from bwrap's exit status (128 + signal)."""
    if code is not None and code > 128 and code - 128 == signal.SIGXCPU:
        return "time limit"
    return "crashed"


class SandboxedKernel:
    """One kernel for one submission. Use as a context manager; it is never reused."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.runtime = policy.check_available(self.settings)
        self.workdir: Path | None = None
        self.pid_namespace: str | None = None
        self._km: KernelManager | None = None
        self._kc: BlockingKernelClient | None = None
        self._output_bytes = 0
        self._log: Path | None = None
        self.cgroup: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> SandboxedKernel:
        if self._km is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def start(self) -> None:
        self.workdir = policy.make_workdir(self.settings, "k-")
        self._log = self.workdir.with_suffix(".log")
        connection_file = str(self.workdir / "kernel.json")
        body = _KERNEL_BODY.format(preload=self.settings.preload, connection_file=connection_file)
        source = policy.bootstrap_source(self.settings.limits, body)
        argv = policy.bwrap_command(self.settings, self.runtime, self.workdir, source)
        self.cgroup = policy.create_pids_cgroup(self.workdir.name, self.settings.limits.processes)
        if self.cgroup is not None:
            argv = policy.join_cgroup_command(self.cgroup, argv)
        km = KernelManager(transport="ipc", ip=str(self.workdir / "ipc"), connection_file=connection_file)
        km._kernel_spec = KernelSpec(argv=argv, display_name="sandbox", language="python")
        self._km = km
        log = open(self._log, "wb")  # noqa: SIM115 - handed to the child process
        try:
            km.start_kernel(env={"PATH": "/usr/bin:/bin"}, stdout=log, stderr=log, cwd=str(self.workdir))
        except Exception as exc:
            self.destroy()
            raise KernelStartError.from_output("kernel", str(exc)) from exc
        finally:
            log.close()
        kc = km.client()
        kc.start_channels()
        self._kc = kc
        deadline = time.monotonic() + self.settings.startup_seconds
        try:
            while True:
                if not km.is_alive():
                    raise KernelStartError.from_output("kernel", self._read_log())
                try:
                    kc.wait_for_ready(timeout=0.5)
                    break
                except RuntimeError:
                    if time.monotonic() > deadline:
                        raise KernelStartError.from_output("kernel", self._read_log()) from None
        except BaseException:
            self.destroy()
            raise
        self.pid_namespace = _child_pid_namespace(km)
        self._output_bytes = 0

    def _read_log(self) -> str:
        try:
            return self._log.read_text(errors="replace") if self._log else ""
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        return self._km is not None and self._km.has_kernel and self._km.is_alive()

    def exit_code(self) -> int | None:
        provisioner = self._km.provisioner if self._km else None
        process = getattr(provisioner, "process", None)
        if process is None:
            return None
        code = process.poll()
        return None if code is None else int(code)

    def destroy(self) -> None:
        """Kill the sandbox (and so its whole pid namespace) and remove its directory."""
        kc, km = self._kc, self._km
        self._kc = None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:  # noqa: BLE001 - best effort on an already broken kernel
                pass
        if km is not None:
            provisioner = km.provisioner
            process = getattr(provisioner, "process", None)
            if process is not None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    process.kill()
                except OSError:
                    pass
                process.wait()
            try:
                km.cleanup_resources()
            except Exception:  # noqa: BLE001
                pass
        if self.pid_namespace is not None:
            _wait_namespace_empty(self.pid_namespace)
        policy.remove_cgroup(self.cgroup)
        if self.workdir is not None:
            policy.remove_workdir(self.workdir)
        if self._log is not None:
            self._log.unlink(missing_ok=True)

    # -- execution -------------------------------------------------------------------------
    def execute(
        self,
        code: str,
        *,
        timeout: float,
        silent: bool = False,
        user_expressions: dict[str, str] | None = None,
        keep_outputs: bool = True,
    ) -> CellRun:
        """Run ``code``; raise SubmissionEnded on a time, output or liveness breach."""
        kc = self._kc
        if kc is None or self._km is None:
            raise SubmissionEnded("crashed", "the kernel is not running")
        limits = self.settings.limits
        started = time.monotonic()
        deadline = started + timeout
        msg_id = kc.execute(
            code,
            silent=silent,
            store_history=not silent,
            user_expressions=user_expressions or {},
            allow_stdin=False,
            stop_on_error=False,
        )
        shell = kc.shell_channel.socket
        iopub = kc.iopub_channel.socket
        assert shell is not None and iopub is not None
        poller = zmq.Poller()
        poller.register(shell, zmq.POLLIN)
        poller.register(iopub, zmq.POLLIN)
        run = CellRun(status="pending")
        reply: dict[str, Any] | None = None
        idle = False
        kept = 0
        while reply is None or not idle:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SubmissionEnded("time limit", f"a cell ran longer than {timeout:g} s")
            events = dict(poller.poll(int(min(remaining, 0.2) * 1000) + 1))
            if not events:
                if not self._km.is_alive():
                    raise SubmissionEnded(verdict_from_exit(self.exit_code()), "the kernel died")
                continue
            if iopub in events:
                while True:
                    try:
                        raw = iopub.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    self._output_bytes += sum(len(frame.bytes) for frame in raw)
                    if self._output_bytes > limits.output_bytes_max:
                        raise SubmissionEnded("output limit", f"more than {limits.output_bytes_max} bytes of output")
                    msg = _deserialize(kc, raw)
                    if msg["parent_header"].get("msg_id") != msg_id:
                        continue
                    kind = msg["msg_type"]
                    content = msg["content"]
                    if kind == "status" and content.get("execution_state") == "idle":
                        idle = True
                    elif keep_outputs and kind in ("stream", "execute_result", "display_data", "error"):
                        output = CellOutput.from_message(kind, content, limits.image_bytes_max)
                        size = output.size()
                        if kind == "error":
                            run.error = output
                        if kept + size > limits.output_bytes_kept and kind != "error":
                            run.truncated = True
                            room = max(0, limits.output_bytes_kept - kept)
                            output = output.truncated(room)
                            if output.size() == 0:
                                continue
                            size = output.size()
                        kept += size
                        run.outputs.append(output)
                    elif kind == "error":
                        run.error = CellOutput.from_message(kind, content, limits.image_bytes_max)
            if shell in events:
                while True:
                    try:
                        raw = shell.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    msg = _deserialize(kc, raw)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        reply = msg["content"]
        run.status = str(reply.get("status", "error"))
        expressions = reply.get("user_expressions")
        run.user_expressions = expressions if isinstance(expressions, dict) else {}
        run.duration_ms = int((time.monotonic() - started) * 1000)
        return run

    def count_processes(self) -> int:
        """Processes currently alive in this kernel's pid namespace."""
        return len(_namespace_members(self.pid_namespace)) if self.pid_namespace else 0


def _deserialize(kc: BlockingKernelClient, raw: list[Any]) -> dict[str, Any]:
    session = kc.session
    _, frames = session.feed_identities(raw, copy=False)
    msg: dict[str, Any] = session.deserialize(frames, content=True, copy=False)
    return msg


def _child_pid_namespace(km: KernelManager) -> str | None:
    process = getattr(km.provisioner, "process", None)
    if process is None:
        return None
    own = os.readlink("/proc/self/ns/pid")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        for pid in _children(process.pid):
            try:
                ns = os.readlink(f"/proc/{pid}/ns/pid")
            except OSError:
                continue
            if ns != own:
                return ns
        time.sleep(0.01)
    return None


def _children(pid: int) -> list[int]:
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


def _namespace_members(namespace: str | None) -> list[int]:
    members: list[int] = []
    if namespace is None:
        return members
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                members.append(int(entry))
        except OSError:
            continue
    return members


def _wait_namespace_empty(namespace: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while _namespace_members(namespace) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in _namespace_members(namespace):
        # Only reachable if the namespace's init outlived its parent: kill what is left.
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def new_secret() -> str:
    return uuid.uuid4().hex
