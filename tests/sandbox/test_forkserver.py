"""sandbox/forkserver.py: sandboxes forked from the zygote share nothing with each other.

Two sessions are taken from the (fork-server) pool at once and compared from the host and from
inside: namespaces, writable places, memory, random state, capabilities.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from sandbox.forkserver import ForkServer, _nspid
from sandbox.grader import Grader, Session
from sandbox.kernel import SandboxedKernel
from sandbox.pool import KernelPool
from sandbox.procs import children
from sandbox.settings import SandboxSettings

from .conftest import assert_nothing_left

pytestmark = pytest.mark.kernel

NAMESPACES = ("pid", "user", "mnt", "net", "ipc", "uts")


def _out(kernel: SandboxedKernel, code: str) -> str:
    run = kernel.execute(code, timeout=20)
    assert run.error is None, run.error
    return "".join(o.text for o in run.outputs if o.kind == "stream")


def _namespaces(pid: int) -> dict[str, str]:
    return {name: os.readlink(f"/proc/{pid}/ns/{name}") for name in NAMESPACES}


@pytest.fixture
def two_sessions(pool: KernelPool) -> list[Session]:
    sessions = [pool.acquire(), pool.acquire()]
    yield sessions
    for session in sessions:
        pool.retire(session)
    for session in sessions:
        assert session.destroyed.wait(30)
        assert_nothing_left(session)


def test_pool_forks_its_sessions(pool: KernelPool, two_sessions: list[Session]) -> None:
    assert pool.settings.fork_server
    for session in two_sessions:
        assert session.kernel._forked is not None and session.judge._forked is not None


def test_the_zygote_imports_what_a_kernel_imports_while_it_boots(pool: KernelPool) -> None:
    # Learnt from a throw-away kernel in the zygote. When that probe failed, nothing said so and
    # every forked kernel imported the debugger itself: about a third of its start-up CPU.
    assert pool.wait_ready(1)
    server = pool._forkserver
    assert server is not None
    assert {"ipykernel.debugger", "IPython.core.debugger"} <= server.kernel_modules


# glibc's view of the running thread's kernel tid, through a public call that reads it from the
# thread descriptor: pthread_getcpuclockid encodes it as (~tid << 3) | 6. The main thread's tid
# is the process's pid.
GLIBC_TID = """
import os, threading, time
print(~(time.pthread_getcpuclockid(threading.main_thread().ident) >> 3), os.getpid())
"""


def test_each_forked_sandbox_is_one_process_pid_1_of_its_namespaces(
    pool: KernelPool, two_sessions: list[Session]
) -> None:
    # One copy of the zygote's image per sandbox instead of three (intermediary, init, payload).
    assert pool._forkserver is not None and pool._forkserver.clones
    for session in two_sessions:
        for forked in (session.kernel._forked, session.judge._forked):
            assert forked is not None
            assert _nspid(forked.init_pid)[-1] == 1
            assert children(forked.init_pid) == []  # the kernel or the judge itself, no init above it
        names = [
            Path(f"/proc/{sandbox._forked.init_pid}/comm").read_text() for sandbox in (session.kernel, session.judge)
        ]
        assert names == ["oc-kernel\n", "oc-judge\n"]  # for ps, top and perf
    assert _out(two_sessions[0].kernel, "import os\nprint(os.getpid())").strip() == "1"


def test_glibc_in_a_cloned_kernel_knows_the_kernels_own_thread_id(two_sessions: list[Session]) -> None:
    # A raw clone(2) leaves glibc the zygote's tid in the thread descriptor, where it marks the
    # owner of recursive mutexes (the dynamic loader's): a thread of the sandbox given that same
    # number would then pass for the main thread. The zygote writes the child's own tid there.
    assert _out(two_sessions[0].kernel, GLIBC_TID).split() == ["1", "1"]


def test_a_forked_kernel_does_not_list_every_module_for_a_debugger_it_does_not_run(
    two_sessions: list[Session],
) -> None:
    # The list touched every module object of the zygote's, copying a page for each on write.
    probe = (
        "import sys, ipykernel.ipkernel as ipk\n"
        "print(get_ipython().kernel._kernel_modules, ipk.sys is sys, 'numpy' in ipk.sys.modules)"
    )
    assert _out(two_sessions[0].kernel, probe).strip() == "[] True True"


def test_the_three_process_layout_still_isolates(sandbox_settings: SandboxSettings) -> None:
    # Where clone(2) cannot be used the zygote falls back to an intermediary and an init.
    server = ForkServer(sandbox_settings, clone=False)
    try:
        assert not server.clones
        with SandboxedKernel(sandbox_settings, server) as kernel:
            forked = kernel._forked
            assert forked is not None and _nspid(forked.init_pid)[-1] == 1
            assert len(children(forked.init_pid)) == 1  # init, then the kernel
            assert _namespaces(forked.init_pid)["user"] != _namespaces(os.getpid())["user"]
            assert _out(kernel, "import os\nprint(os.getpid(), len(os.listdir('/proc')))").split() == ["2", "0"]
            assert _out(kernel, GLIBC_TID).split() == ["2", "2"]
    finally:
        server.close()


def test_forked_sandboxes_share_no_namespace(two_sessions: list[Session]) -> None:
    seen = [_namespaces(os.getpid())]
    for session in two_sessions:
        for forked in (session.kernel._forked, session.judge._forked):
            assert forked is not None
            seen.append(_namespaces(forked.init_pid))
    for name in NAMESPACES:
        values = [ns[name] for ns in seen]
        assert len(set(values)) == len(values), f"{name} namespace shared: {values}"


WRITE_EVERYWHERE = """
import os
written = []
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys")):
        dirs[:] = []
        continue
    if os.access(root, os.W_OK):
        try:
            with open(os.path.join(root, "oc-marker-{tag}"), "w") as handle:
                handle.write("x")
            written.append(root)
        except OSError:
            pass
print(sorted(written))
"""

FIND_MARKERS = """
import os
found = [os.path.join(r, f) for r, d, fs in os.walk("/") if not r.startswith(("/proc", "/sys")) for f in fs
         if f.startswith("oc-marker-")]
print(sorted(found))
"""


def test_forked_sandboxes_share_no_writable_place(two_sessions: list[Session]) -> None:
    first, second = (session.kernel for session in two_sessions)
    written = _out(first, WRITE_EVERYWHERE.format(tag="first"))
    assert "/tmp" in written and "/dev/shm" in written  # the check found the writable places
    assert "oc-marker-first" not in _out(second, FIND_MARKERS)
    assert "oc-marker-first" in _out(first, FIND_MARKERS)


def test_forked_sandboxes_share_no_memory_or_random_state(two_sessions: list[Session]) -> None:
    first, second = (session.kernel for session in two_sessions)
    _out(first, "import numpy\nnumpy.SECRET = 'first learner'")
    assert _out(second, "import numpy\nprint(getattr(numpy, 'SECRET', 'nothing'))").strip() == "nothing"
    draw = "import random, numpy\nprint(random.random(), numpy.random.random())"
    assert _out(first, draw) != _out(second, draw)


def test_forked_kernel_cannot_unhide_proc_even_in_a_namespace_of_its_own(two_sessions: list[Session]) -> None:
    code = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print("proc", sorted(os.listdir("/proc")))
print("umount", libc.umount2(b"/proc", 2))
# A user namespace of its own gives capabilities there only: the mounts made before are locked.
if libc.unshare(0x10000000 | 0x00020000) == 0:
    print("nested umount", libc.umount2(b"/proc", 2), "mount", libc.mount(b"proc", b"/proc", b"proc", 0, None))
    print("proc", sorted(os.listdir("/proc")))
"""
    out = _out(two_sessions[0].kernel, code)
    assert "proc []" in out and "umount -1" in out
    assert "nested umount 0" not in out and "mount 0" not in out
    assert "'1'" not in out  # no pid ever listed


def test_a_dead_zygote_takes_its_sandboxes_and_the_pool_recovers(pool: KernelPool) -> None:
    session = pool.acquire()
    server = pool._forkserver
    assert server is not None and session.kernel._forked is not None
    zygote = server._zygote_host_pid
    os.kill(zygote, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while session.kernel.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session.kernel.alive
    assert zygote not in children(server._process.pid) or not server.alive
    pool.retire(session)
    assert session.destroyed.wait(30)
    # Sessions warmed by the dead zygote are dead too: the grader must still get a working one.
    grader = Grader(pool=pool)
    for _ in range(pool.settings.size + 1):
        result = grader.run(["print(6 * 7)"])
        if result.status == "ok":
            break
    assert result.status == "ok" and result.cells[0][0].text == "42\n"


def test_forked_kernel_inherits_none_of_the_zygotes_signal_plumbing(two_sessions: list[Session]) -> None:
    # The zygote listens for SIGCHLD through a wake-up fd; inherited, it printed an error into the
    # learner's output each time one of the learner's child processes exited.
    run = two_sessions[0].kernel.execute(
        "import os, signal, time\n"
        "print(signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL, signal.set_wakeup_fd(-1))\n"
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        os._exit(0)\n"
        "time.sleep(0.3)",
        timeout=20,
    )
    assert run.error is None
    assert [o.text for o in run.outputs] == ["True -1\n"]
