"""``python -m sandbox selftest``: prove, on this machine, that the sandbox holds.

Each check runs real code in a real sandboxed kernel. Any failure makes the command exit non-zero
and :func:`assert_sandbox_holds` raise SandboxUnavailable, so grading refuses to run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from .errors import SandboxError, SandboxUnavailable, SubmissionEnded
from .forkserver import ForkServer
from .kernel import SandboxedKernel
from .settings import Limits, SandboxSettings

_PROBES: list[tuple[str, str, Callable[[str], bool]]] = [
    ("runs as a non-root uid", "import os; print(os.getuid())", lambda out: out.strip() not in ("", "0")),
    (
        "no network to the internet",
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=2); print('open')\n"
        "except OSError:\n    print('blocked')",
        lambda o: o.strip() == "blocked",
    ),
    (
        "no network to the worker's database",
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 5432), timeout=2); print('open')\n"
        "except OSError:\n    print('blocked')",
        lambda o: o.strip() == "blocked",
    ),
    (
        "clean environment",
        "import os; print(sorted(k for k in os.environ if 'SECRET' in k or 'DATABASE' in k or 'OPENCAPACITY' in k))",
        lambda o: o.strip() == "[]",
    ),
    (
        "host's /root hidden",
        "import os; print(sorted(os.listdir('/root')))",
        lambda o: o.strip() in ("['.pyenv']", "[]"),
    ),
    (
        "project tree absent",
        f"import os; print(os.path.exists({os.getcwd()!r}) and bool(os.listdir({os.getcwd()!r})))",
        lambda o: o.strip() == "False",
    ),
    (
        "runtime is read-only",
        "import sys, os\ntry:\n    open(os.path.join(sys.prefix, 'pwned'), 'w'); print('writable')\n"
        "except OSError:\n    print('read-only')",
        lambda o: o.strip() == "read-only",
    ),
    (
        "no capabilities: mounts cannot be undone or added",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.umount2(b'/tmp', 2), libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))",
        lambda o: o.strip() == "-1 -1",
    ),
    (
        "pid namespace",
        "import os; print(len([p for p in os.listdir('/proc') if p.isdigit()]))",
        lambda o: o.strip().isdigit() and int(o) < 10,
    ),
]


def check_sandbox(settings: SandboxSettings | None = None, report: Callable[[str], None] | None = None) -> list[str]:
    """Run every probe; return the names of the checks that failed."""
    base = settings or SandboxSettings()
    say = report or (lambda _line: None)
    failures: list[str] = []
    os.environ.setdefault("SECRET_KEY", "selftest-secret")
    os.environ.setdefault("DATABASE_URL", "postgres://selftest")
    # Both ways a kernel starts: booted cold in its own bubblewrap, and forked by the zygote.
    server = ForkServer(base)
    try:
        for kind, forkserver in (("cold", None), ("forked", server)):
            failures += _check_kind(base, kind, forkserver, say)
    finally:
        server.close()
    return failures


def _check_kind(
    base: SandboxSettings, kind: str, forkserver: ForkServer | None, say: Callable[[str], None]
) -> list[str]:
    failures: list[str] = []
    with SandboxedKernel(base, forkserver) as kernel:
        for name, code, ok in _PROBES:
            run = kernel.execute(code, timeout=10)
            out = "".join(o.text for o in run.outputs if o.kind == "stream")
            passed = run.error is None and ok(out)
            say(f"{'ok  ' if passed else 'FAIL'} {kind}: {name}")
            if not passed:
                failures.append(f"{kind}: {name}")
    tight = SandboxSettings(
        kernel_python=base.kernel_python,
        bwrap=base.bwrap,
        runtime_dir=base.runtime_dir,
        limits=Limits(memory_bytes=1024**3, processes=32),
    )
    # (name, code, expected verdict, wall clock): the last two end at their limit, which a busy
    # machine may take a while to reach; only the first must run into the wall clock.
    limit_probes = [
        ("wall-clock limit", "while True: pass", "time limit", 3.0),
        ("memory limit", "x = bytearray(4 * 1024**3)", "memory limit", 15.0),
        (
            "process limit",
            "import os\nfor _ in range(200):\n    if os.fork() == 0:\n        import time; time.sleep(60)",
            "process limit",
            15.0,
        ),
    ]
    for name, code, verdict, seconds in limit_probes:
        kernel = SandboxedKernel(tight, forkserver)
        namespace = None
        try:
            kernel.start()
            namespace = kernel.pid_namespace
            run = kernel.execute(code, timeout=seconds)
            got = run.breach() or "no breach"
        except SubmissionEnded as ended:
            got = ended.verdict
        finally:
            kernel.destroy()
        left = _namespace_alive(namespace)
        passed = got == verdict and not left
        say(f"{'ok  ' if passed else 'FAIL'} {kind}: {name} ({got}{', processes left behind' if left else ''})")
        if not passed:
            failures.append(f"{kind}: {name}")
    return failures


def _namespace_alive(namespace: str | None) -> bool:
    from .kernel import _namespace_members

    return bool(namespace and _namespace_members(namespace))


def assert_sandbox_holds(settings: SandboxSettings | None = None) -> None:
    failures = check_sandbox(settings)
    if failures:
        raise SandboxUnavailable.from_reason("self-test failed: " + ", ".join(failures))


def run_selftest() -> int:
    try:
        failures = check_sandbox(report=print)
    except SandboxError as exc:
        print(f"FAIL sandbox unusable: {exc}", file=sys.stderr)
        return 1
    if failures:
        print(f"FAIL {len(failures)} check(s): the sandbox does not hold here", file=sys.stderr)
        return 1
    print("sandbox holds")
    return 0
