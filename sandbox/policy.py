"""The sandbox policy: the bubblewrap command line, resource limits and clean environment.

Everything learner code can reach is decided here. The kernel sees only its Python runtime
(read-only), the datasets directory (read-only), its own per-kernel directory (connection file and
ipc sockets) and a private, size-capped /tmp; it runs as uid 1000 in new user, pid, net, ipc and
uts namespaces, and dies with the worker.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import SandboxUnavailable
from .settings import Limits, SandboxSettings

#: Where the kernel's virtualenv is mounted inside the sandbox.
VENV_MOUNT = "/opt/kernel-venv"
DATASETS_MOUNT = "/data"
#: Where a zygote sees every exercise's datasets (``SandboxSettings.datasets_root``): inside its
#: private /tmp, which every sandbox it forks covers with a /tmp of its own.
DATASETS_STAGE = "/tmp/.oc-datasets"  # noqa: S108 - inside the zygote's sandbox only
SANDBOX_UID = 1000
#: The sandbox's own /tmp: a private, size-capped tmpfs, not the worker's /tmp.
SANDBOX_TMP = "/tmp"  # noqa: S108 - inside the sandbox only

# Variables copied from the worker only because numerical libraries need them to work on some
# CPUs (see the machine notes); nothing else of the worker's environment enters the sandbox.
_PASSTHROUGH_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass(frozen=True)
class KernelRuntime:
    """The Python runtime of the kernel: what to mount and what to execute inside."""

    python: str
    mounts: tuple[tuple[str, str], ...]

    @classmethod
    def from_python(cls, kernel_python: Path) -> KernelRuntime:
        if not kernel_python.exists():
            raise SandboxUnavailable.from_reason(
                f"kernel runtime {kernel_python} does not exist "
                "(create it with `make kernel-venv` or set SANDBOX_KERNEL_PYTHON)"
            )
        venv = kernel_python.parent.parent
        cfg = venv / "pyvenv.cfg"
        if cfg.exists():
            home = ""
            for line in cfg.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home":
                    home = value.strip()
            if not home:
                raise SandboxUnavailable.from_reason(f"{cfg} has no home")
            base = str(Path(home).resolve().parent)
            inside = f"{VENV_MOUNT}/bin/{kernel_python.name}"
            return cls(python=inside, mounts=((str(venv.resolve()), VENV_MOUNT), (base, base)))
        real = kernel_python.resolve()
        prefix = str(real.parent.parent)
        if prefix in ("/", "/usr"):
            return cls(python=str(real), mounts=())
        return cls(python=str(real), mounts=((prefix, prefix),))


def check_available(settings: SandboxSettings) -> KernelRuntime:
    """Fail closed: raise SandboxUnavailable unless bubblewrap and the runtime are usable."""
    if not settings.bwrap.exists() or not os.access(settings.bwrap, os.X_OK):
        raise SandboxUnavailable.from_reason(f"bubblewrap not found at {settings.bwrap}")
    return KernelRuntime.from_python(settings.kernel_python)


def rlimits(limits: Limits) -> dict[str, tuple[int, int]]:
    """Resource limits applied inside the sandbox before any untrusted code runs."""
    return {
        "RLIMIT_CPU": (limits.cpu_seconds, limits.cpu_seconds + 1),
        "RLIMIT_AS": (limits.memory_bytes, limits.memory_bytes),
        "RLIMIT_NPROC": (limits.processes, limits.processes),
        "RLIMIT_FSIZE": (limits.file_size_bytes, limits.file_size_bytes),
        "RLIMIT_NOFILE": (limits.open_files, limits.open_files),
        "RLIMIT_CORE": (0, 0),
    }


def clean_environment() -> dict[str, str]:
    env = {
        "PATH": f"{VENV_MOUNT}/bin:/usr/bin:/bin",
        "HOME": SANDBOX_TMP,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": "learner",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": f"{SANDBOX_TMP}/.matplotlib",
        "IPYTHONDIR": f"{SANDBOX_TMP}/.ipython",
        "JUPYTER_CONFIG_DIR": f"{SANDBOX_TMP}/.jupyter",
        "JUPYTER_DATA_DIR": f"{SANDBOX_TMP}/.jupyter/data",
        "JUPYTER_RUNTIME_DIR": f"{SANDBOX_TMP}/.jupyter/runtime",
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        # pandas imports pyarrow when it is installed (Parquet needs it); pyarrow's default
        # allocator (mimalloc) reserves about 1 GiB of address space on first use, which
        # RLIMIT_AS counts: learners would lose that much of their memory limit.
        "ARROW_DEFAULT_MEMORY_POOL": "system",
        # glibc gives each thread that allocates an arena of up to 64 MiB of address space:
        # ipykernel's threads and pyarrow's readers would otherwise exhaust RLIMIT_AS unused.
        "MALLOC_ARENA_MAX": "2",
    }
    for name in _PASSTHROUGH_ENV:
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def bootstrap_source(limits: Limits, body: str, nice: int = 0) -> str:
    """Python source run first inside the sandbox: apply rlimits and the boot priority (the
    worker raises it back when the session is handed out), then ``body``."""
    return (
        "import os, resource\n"
        f"for _n, _v in {json.dumps(rlimits(limits))}.items():\n"
        "    resource.setrlimit(getattr(resource, _n), tuple(_v))\n"
        "os.umask(0o077)\n" + (_LOWER_PRIORITY.format(nice=int(nice)) if nice else "") + "del _n, _v\n" + body
    )


# bwrap --new-session gives the sandbox its own autogroup, where a task's nice weighs only against
# its own group: the group's nice is what counts. Non-admin changes are rate-limited (EAGAIN).
_LOWER_PRIORITY = """os.nice({nice})
for _n in range(20):
    try:
        with open("/proc/self/autogroup", "w") as _v:
            _v.write("{nice}")
        break
    except OSError as _e:
        if _e.errno != 11:
            break
        import time
        time.sleep(0.02)
"""


def bwrap_command(
    settings: SandboxSettings,
    runtime: KernelRuntime,
    workdir: Path,
    python_source: str,
    args: list[str] | None = None,
    *,
    datasets_root: Path | None = None,
) -> list[str]:
    """The full command: bwrap confining ``python -c python_source args...``.

    ``datasets_root`` is for a zygote only: every exercise's datasets at ``DATASETS_STAGE``
    (read-only) and an empty /data where it binds each forked sandbox's own.
    """
    cmd = [
        str(settings.bwrap),
        "--unshare-user",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
    ]
    for key, value in clean_environment().items():
        cmd += ["--setenv", key, value]
    for path in ("/usr/lib", "/usr/lib64", "/usr/share/zoneinfo"):
        if Path(path).is_dir():
            cmd += ["--ro-bind", path, path]
    for link in ("lib", "lib64"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.is_dir():
            cmd += ["--ro-bind", str(target), f"/{link}"]
    for source, dest in runtime.mounts:
        cmd += ["--ro-bind", source, dest]
    if settings.datasets_dir is not None:
        cmd += ["--ro-bind", str(settings.datasets_dir), DATASETS_MOUNT]
    cmd += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(settings.limits.tmp_bytes),
        "--tmpfs",
        SANDBOX_TMP,
    ]
    if datasets_root is not None:
        cmd += ["--ro-bind", str(datasets_root), DATASETS_STAGE, "--dir", DATASETS_MOUNT]
    cmd += [
        "--bind",
        str(workdir),
        str(workdir),
        "--ro-bind",
        str(workdir / "passwd"),
        "/etc/passwd",
        "--ro-bind",
        str(workdir / "group"),
        "/etc/group",
        "--remount-ro",
        "/",
        "--chdir",
        SANDBOX_TMP,
        "--",
        runtime.python,
        "-I",
        "-c",
        python_source,
    ]
    return cmd + (args or [])


_PIDS_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


def create_pids_cgroup(name: str, limit: int) -> Path | None:
    """A per-sandbox pids cgroup capping processes *and threads* (RLIMIT_NPROC does not apply
    to a user namespace whose owner is root). None where no writable pids controller exists."""
    for root in _PIDS_ROOTS:
        controllers = root / "cgroup.controllers"
        if root.name != "pids" and not (controllers.exists() and "pids" in controllers.read_text()):
            continue
        path = root / "opencapacity-sandbox" / name
        try:
            path.mkdir(parents=True, exist_ok=True)
            if root.name != "pids":
                (path.parent / "cgroup.subtree_control").write_text("+pids")
            (path / "pids.max").write_text(str(limit))
        except OSError:
            continue
        return path
    return None


def join_cgroup_command(cgroup: Path, cmd: list[str]) -> list[str]:
    """Make the process join ``cgroup`` before it execs bwrap, so no child escapes it."""
    return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *cmd]


def remove_cgroup(cgroup: Path | None) -> None:
    if cgroup is None:
        return
    import time

    for _ in range(100):
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def make_workdir(settings: SandboxSettings, prefix: str) -> Path:
    """A private per-kernel directory (connection file, ipc sockets) on the worker."""
    import tempfile

    settings.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The default lives in the shared /tmp: refuse a directory someone else created first.
    info = settings.runtime_dir.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise SandboxUnavailable.from_reason(f"{settings.runtime_dir} is not private to the worker's user")
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=settings.runtime_dir)).resolve()
    (workdir / "passwd").write_text(f"learner:x:{SANDBOX_UID}:{SANDBOX_UID}::/tmp:/bin/false\n")
    (workdir / "group").write_text(f"learner:x:{SANDBOX_UID}:\n")
    return workdir


def remove_workdir(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
