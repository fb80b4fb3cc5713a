"""A sandboxed ipykernel: started through jupyter-client (ipc transport) inside bubblewrap,
executed with wall-clock, output and liveness limits, and destroyed with every process it made.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager

from . import policy, procs
from .errors import KernelStartError, SubmissionEnded
from .forkserver import ForkedSandbox, ForkServer
from .results import CellOutput
from .settings import SandboxSettings

_HERE = Path(__file__).resolve().parent
#: The channels a kernel client opens: no stdin (``allow_stdin`` is always off), no control
#: channel (kernels are killed, never asked to stop) and no heartbeat (one thread per kernel in
#: the worker; liveness comes from the sandbox's process instead).
_CHANNELS = {"shell": True, "iopub": True, "stdin": False, "hb": False, "control": False}
#: The worker's ZeroMQ context for kernel clients. A client connects before the kernel has bound
#: its ipc sockets, and ZeroMQ retries a refused connection only every 100 ms by default: about
#: as long as a forked kernel takes to boot. Retrying every 2 ms makes readiness follow the boot.
_ZMQ: dict[int, zmq.Context[Any]] = {}


def _zmq_context() -> zmq.Context[Any]:
    """This process's context, made on first use: a context is not carried across fork()."""
    context = _ZMQ.get(os.getpid())
    if context is None:
        context = _ZMQ[os.getpid()] = zmq.Context()
        context.setsockopt(zmq.RECONNECT_IVL, 2)
    return context


def _channel_poller(kc: BlockingKernelClient, *fds: int) -> tuple[zmq.Poller, zmq.Socket[Any], zmq.Socket[Any]]:
    """A poller on the client's shell and IOPub sockets and on ``fds``, with the two sockets."""
    shell = kc.shell_channel.socket
    iopub = kc.iopub_channel.socket
    assert shell is not None and iopub is not None
    poller = zmq.Poller()
    for fd in (*fds, shell, iopub):
        poller.register(fd, zmq.POLLIN)
    return poller, shell, iopub


#: Largest reply the kernel's agent may send for one request.
MAX_AGENT_REPLY = 64 * 1024**2

_KERNEL_BODY = """
import sys, runpy, types
def _oc_preload(names):
    for name in names:
        try:
            __import__(name)
        except Exception:
            pass
_oc_preload({preload!r})
del _oc_preload
{warmup}
_agent = types.ModuleType("_oc_agent")
_agent.WIRE_SOURCE = {wire!r}
exec(compile({agent!r}, "<agent>", "exec"), _agent.__dict__)
sys.modules["_oc_agent"] = _agent
_agent.cap_output({output_limit})
sys.argv = ["ipykernel_launcher", "-f", {connection_file!r}]
del _agent
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""

#: Run once at boot after the preloads: first calls pay for one-time lazy work (scikit-learn's
#: dataframe plugin discovery, ~15 ms) that would otherwise land in a learner's graded time.
WARMUP = """
def _oc_warmup():
    import sys
    if "sklearn.linear_model" in sys.modules:
        import numpy as np
        from sklearn.linear_model import LinearRegression
        X = np.arange(12.0).reshape(4, 3)
        LinearRegression().fit(X, X[:, 0]).score(X, X[:, 0])
try:
    _oc_warmup()
except Exception:
    pass
del _oc_warmup
"""

#: What the judge gets when the learner's kernel gives no usable answer.
UNREADABLE: dict[str, Any] = {"raise": {"type": "RuntimeError", "msg": "the learner's kernel gave no usable answer"}}

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


#: Exit status of a kernel that stopped itself at the output limit (``_kernel_agent.cap_output``).
OUTPUT_LIMIT_EXIT = 125


def verdict_from_exit(code: int | None) -> str:
    """Why a kernel process went away, from its exit status (128 + signal for a signal)."""
    if code is not None and code > 128 and code - 128 == signal.SIGXCPU:
        return "time limit"
    if code == OUTPUT_LIMIT_EXIT:
        return "output limit"
    return "crashed"


class SandboxedKernel:
    """One kernel for one submission. Use as a context manager; it is never reused."""

    def __init__(self, settings: SandboxSettings | None = None, forkserver: ForkServer | None = None) -> None:
        self.settings = settings or SandboxSettings()
        self.runtime = policy.check_available(self.settings)
        #: Fork a warm kernel from this zygote instead of booting one cold in its own bwrap.
        self.forkserver = forkserver
        self._forked: ForkedSandbox | None = None
        self.workdir: Path | None = None
        self.pid_namespace: str | None = None
        self._pidns: procs.PidNamespace | None = None
        self._km: KernelManager | None = None
        self._listener: socket.socket | None = None
        self._agent: socket.socket | None = None
        self._agent_request = ""
        self._agent_ended = False
        self._agent_buffer = b""
        self._kc: BlockingKernelClient | None = None
        self._output_bytes = 0
        self._log: Path | None = None
        self.cgroup: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> SandboxedKernel:
        if self._kc is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def start(self, nice: int = 0) -> None:
        """Boot the kernel; ``nice`` is its priority while booting (see :meth:`prioritise`)."""
        if self.forkserver is not None:
            self._start_forked(self.forkserver)
            return
        self.workdir = policy.make_workdir(self.settings, "k-")
        self._log = self.workdir.with_suffix(".log")
        connection_file = str(self.workdir / "kernel.json")
        body = _KERNEL_BODY.format(
            preload=self.settings.preload,
            warmup=WARMUP,
            wire=(_HERE / "_wire.py").read_text(),
            agent=(_HERE / "_kernel_agent.py").read_text(),
            connection_file=connection_file,
            output_limit=self.settings.limits.output_bytes_max,
        )
        source = policy.bootstrap_source(self.settings.limits, body, nice=nice)
        argv = policy.bwrap_command(self.settings, self.runtime, self.workdir, source)
        self.cgroup = policy.create_pids_cgroup(self.workdir.name, self.settings.limits.processes)
        if self.cgroup is not None:
            argv = policy.join_cgroup_command(self.cgroup, argv)
        km = KernelManager(
            transport="ipc", ip=str(self.workdir / "ipc"), connection_file=connection_file, context=_zmq_context()
        )
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
        kc.start_channels(**_CHANNELS)
        self._kc = kc
        try:
            self._wait_ready(kc)
        except BaseException:
            self.destroy()
            raise
        self._pidns = procs.find_namespace(self._pid())
        self.pid_namespace = self._pidns.namespace if self._pidns else None
        self._output_bytes = 0

    def _wait_ready(self, kc: BlockingKernelClient) -> None:
        """Until the kernel answers; KernelStartError, with its log, if it dies or takes too long.

        Not ``kc.wait_for_ready``: it polls the heartbeat every 0.2 s and then waits 0.2 s more
        for IOPub to fall silent, which made a forked kernel's start twice as long as its boot.
        Ready here means a kernel_info reply on shell and a message on IOPub (ipykernel
        welcomes each subscriber), so IOPub is known to be connected before a cell runs.
        """
        deadline = time.monotonic() + self.settings.startup_seconds
        poller, shell, iopub = _channel_poller(kc)
        request = kc.kernel_info()
        replied = subscribed = False
        while not (replied and subscribed):
            if time.monotonic() > deadline:
                raise KernelStartError.from_output("kernel", self._read_log())
            events = dict(poller.poll(100))
            if not events:
                if not self.alive:
                    raise KernelStartError.from_output("kernel", self._read_log())
                if replied:  # IOPub was not subscribed when the reply was published: ask again
                    request = kc.kernel_info()
                    replied = False
                continue
            if iopub in events:
                while True:
                    try:
                        iopub.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    subscribed = True
            if shell in events:
                while True:
                    try:
                        raw = shell.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    if _deserialize(kc, raw)["parent_header"].get("msg_id") == request:
                        replied = True

    def _start_forked(self, server: ForkServer) -> None:
        self.workdir = server.make_workdir("k-")
        self._log = self.workdir.with_suffix(".log")
        connection_file = str(self.workdir / "kernel.json")
        write_connection_file(connection_file, transport="ipc", ip=str(self.workdir / "ipc"))
        try:
            with open(self._log, "wb") as log:
                self._forked = server.spawn(
                    "kernel",
                    self.workdir,
                    [log.fileno()],
                    self.settings.limits,
                    datasets=self.settings.datasets_dir,
                    connection_file=connection_file,
                    output_limit=str(self.settings.limits.output_bytes_max),
                )
            self.cgroup = self._forked.cgroup
            kc = BlockingKernelClient(connection_file=connection_file, context=_zmq_context())
            kc.load_connection_file()
            kc.start_channels(**_CHANNELS)
            self._kc = kc
            self._wait_ready(kc)
        except BaseException:
            self.destroy()
            raise
        self._pidns = procs.PidNamespace(self._forked.pid_namespace or "", self._forked.init_pid)
        self.pid_namespace = self._forked.pid_namespace
        self._output_bytes = 0

    def _pid(self) -> int | None:
        if self._forked is not None:
            return self._forked.init_pid
        process = getattr(self._km.provisioner, "process", None) if self._km else None
        return None if process is None else int(process.pid)

    def prioritise(self) -> None:
        """Back to normal priority (best effort) once the session is handed out for grading."""
        procs.set_nice(self._pid(), 0)

    def _read_log(self) -> str:
        try:
            return self._log.read_text(errors="replace") if self._log else ""
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        if self._forked is not None:
            return self._forked.is_alive()
        return self._km is not None and self._km.has_kernel and self._km.is_alive()

    def exit_code(self) -> int | None:
        if self._forked is not None:
            return self._forked.exit_code()
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
        for sock in (self._agent, self._listener):
            if sock is not None:
                sock.close()
        self._agent = self._listener = None
        if kc is not None:
            with contextlib.suppress(Exception):  # best effort on an already broken kernel
                kc.stop_channels()
        forked, self._forked = self._forked, None
        if forked is not None:
            forked.kill()
        if km is not None:
            # Never km.shutdown_kernel(): it asks the kernel to exit and waits for a reply; a
            # kernel is never reused, so it is killed outright.
            procs.kill_sandbox(getattr(km.provisioner, "process", None), self._pidns)
            with contextlib.suppress(Exception):  # best effort on an already broken kernel
                km.cleanup_resources()
        elif self.pid_namespace is not None:
            procs.wait_namespace_empty(self.pid_namespace)
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
        then_start_agent: bool = False,
    ) -> CellRun:
        """Run ``code``; raise SubmissionEnded on a time, output or liveness breach.

        ``then_start_agent`` queues :meth:`start_agent` right behind this request: the kernel
        handles requests in order, so the agent starts once this cell is done, one round trip early.
        """
        kc = self._kc
        if kc is None:
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
        if then_start_agent:
            self.start_agent()
        poller, shell, iopub = _channel_poller(kc)
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
                if not self.alive:
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
                    parent = msg["parent_header"].get("msg_id")
                    if parent == msg_id:
                        reply = msg["content"]
                    elif parent and parent == self._agent_request:
                        self._agent_ended = True
        run.status = str(reply.get("status", "error"))
        expressions = reply.get("user_expressions")
        run.user_expressions = expressions if isinstance(expressions, dict) else {}
        run.duration_ms = int((time.monotonic() - started) * 1000)
        return run

    # -- the agent: the judge's relay to learner objects ---------------------------------------
    def start_agent(self) -> None:
        """Start the agent loaded at boot: one silent execute request that serves the judge's
        requests over a fresh unix socket in this kernel's directory until :meth:`destroy`.

        Learner code may have replaced the agent; whatever answers is only ever taken as data.
        """
        kc = self._kc
        if kc is None or self.workdir is None:
            raise SubmissionEnded("crashed", "the kernel is not running")
        path = str(self.workdir / f"agent-{new_secret()[:12]}.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        listener.setblocking(False)
        self._listener = listener
        self._agent_request = kc.execute(
            f"__import__('_oc_agent').serve(get_ipython().user_ns, {path!r})",
            silent=True,
            store_history=False,
            allow_stdin=False,
            stop_on_error=False,
        )

    def ask_agent(self, request: Any, deadline: float) -> dict[str, Any]:
        """One request to the agent; its reply re-checked as ``{"ok": ...}`` or ``{"raise": ...}``.

        A missing, broken or lying agent gives an error the judge raises in the test; a dead
        kernel, a breached time or output limit ends the submission.
        """
        if self._agent is None and self._listener is not None:
            if self._wait(self._listener, deadline):
                self._agent, _ = self._listener.accept()
            self._listener.close()
            self._listener = None
        agent = self._agent
        if agent is None:
            return dict(UNREADABLE)
        try:
            agent.sendall(json.dumps(request).encode() + b"\n")
        except OSError:
            self._agent_lost()
            return dict(UNREADABLE)
        while b"\n" not in self._agent_buffer:
            if not self._wait(agent, deadline):
                self._agent_lost()
                return dict(UNREADABLE)
            try:
                chunk = agent.recv(1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                self._agent_lost()
                return dict(UNREADABLE)
            self._agent_buffer += chunk
            if len(self._agent_buffer) > MAX_AGENT_REPLY:
                raise SubmissionEnded("output limit", "the learner's kernel sent too much data")
        line, _, self._agent_buffer = self._agent_buffer.partition(b"\n")
        try:
            reply = json.loads(line)
        except (ValueError, RecursionError):
            return dict(UNREADABLE)
        if isinstance(reply, dict) and ("ok" in reply or "raise" in reply):
            return reply
        return dict(UNREADABLE)

    def _wait(self, sock: socket.socket, deadline: float) -> bool:
        """Wait until ``sock`` is readable, counting the kernel's output meanwhile. False if the
        agent's execute request ended first (the agent is gone while the kernel lives on)."""
        kc = self._kc
        if kc is None:
            raise SubmissionEnded("crashed", "the kernel is not running")
        if self._agent_ended:
            return bool(select.select([sock], [], [], 0)[0])
        poller, shell, iopub = _channel_poller(kc, sock.fileno())
        limit = self.settings.limits.output_bytes_max
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SubmissionEnded("time limit", "a test ran longer than its limit")
            events = dict(poller.poll(int(min(remaining, 0.2) * 1000) + 1))
            if not events:
                if not self.alive:
                    raise SubmissionEnded(verdict_from_exit(self.exit_code()), "the kernel died")
                continue
            if iopub in events:
                while True:
                    try:
                        raw = iopub.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    self._output_bytes += sum(len(frame.bytes) for frame in raw)
                    if self._output_bytes > limit:
                        raise SubmissionEnded("output limit", f"more than {limit} bytes of output")
            if sock.fileno() in events:
                return True
            if shell in events:
                while True:
                    try:
                        raw = shell.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    if _deserialize(kc, raw)["parent_header"].get("msg_id") == self._agent_request:
                        self._agent_ended = True
                        return bool(select.select([sock], [], [], 0)[0])

    def _agent_lost(self) -> None:
        """The agent hung up: if the kernel died with it, that ends the submission."""
        if self._agent is not None:
            self._agent.close()
            self._agent = None
        self._listener = None
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if not self.alive:
                raise SubmissionEnded(verdict_from_exit(self.exit_code()), "the kernel died")
            time.sleep(0.01)

    def count_processes(self) -> int:
        """Processes currently alive in this kernel's pid namespace."""
        return len(_namespace_members(self.pid_namespace)) if self.pid_namespace else 0


def _deserialize(kc: BlockingKernelClient, raw: list[Any]) -> dict[str, Any]:
    session = kc.session
    _, frames = session.feed_identities(raw, copy=False)
    msg: dict[str, Any] = session.deserialize(frames, content=True, copy=False)
    return msg


# Shared /proc helpers, kept under their historical names for callers and tests.
_children = procs.children
_namespace_members = procs.namespace_members
_wait_namespace_empty = procs.wait_namespace_empty


def new_secret() -> str:
    return secrets.token_hex(16)
