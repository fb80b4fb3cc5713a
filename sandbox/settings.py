"""Settings of the engine: limits, kernel runtime and pool size, as plain dataclasses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: The repository root, used only to find the default kernel runtime.
_REPO = Path(__file__).resolve().parent.parent


def default_kernel_python() -> Path:
    """``$SANDBOX_KERNEL_PYTHON`` or ``<repo>/.kernel-venv/bin/python``."""
    configured = os.environ.get("SANDBOX_KERNEL_PYTHON")
    if configured:
        return Path(configured)
    return _REPO / ".kernel-venv" / "bin" / "python"


@dataclass(frozen=True)
class Limits:
    """Per-cell and per-submission limits; every breach ends the submission with a verdict."""

    cell_seconds: float = 10.0
    submission_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3
    processes: int = 64
    file_size_bytes: int = 16 * 1024**2
    tmp_bytes: int = 64 * 1024**2
    open_files: int = 256
    #: Output kept per cell (text and images); beyond this it is truncated.
    output_bytes_kept: int = 64 * 1024
    #: Output a submission may produce in total before it is stopped ("output limit").
    output_bytes_max: int = 8 * 1024**2
    #: Largest single image kept (PNG bytes); larger images are dropped with a note.
    image_bytes_max: int = 1024**2


@dataclass(frozen=True)
class SandboxSettings:
    """Where the kernel runtime lives and how it is confined."""

    kernel_python: Path = field(default_factory=default_kernel_python)
    #: This session's datasets, mounted read-only at /data (None: no /data). Grader calls set
    #: it per submission (``Grader.grade(..., datasets=...)``).
    datasets_dir: Path | None = None
    #: The directory holding every exercise's datasets directory. A fork server's zygote sees it
    #: read-only where no sandbox it forks can reach it, and binds each sandbox's own
    #: ``datasets_dir`` (which must lie under it) at /data. Cold sandboxes do not need it.
    datasets_root: Path | None = None
    #: Per-kernel directories; refused unless owned by the worker's user and not group/world writable.
    runtime_dir: Path = Path("/tmp/opencapacity-sandbox")  # noqa: S108 - checked by policy.make_workdir
    bwrap: Path = Path("/usr/bin/bwrap")
    limits: Limits = field(default_factory=Limits)
    #: Modules imported in every kernel and judge before the learner's code (warm start).
    preload: tuple[str, ...] = ("numpy", "pandas", "sklearn", "sklearn.linear_model", "matplotlib")
    startup_seconds: float = 30.0


@dataclass(frozen=True)
class PoolSettings:
    """A warm pool of sandboxed kernels, one per submission, never reused."""

    size: int = 2
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    #: Nice value of sessions while they boot (0 to 19): refills leave the CPU to grading. They
    #: are set back to 0 when handed out, or as soon as someone has to wait for a session.
    boot_nice: int = 10  # procs.BOOT_NICE
    #: Fork sessions from a warm, sandboxed zygote (sandbox/forkserver.py) rather than booting
    #: each kernel and judge cold in its own bubblewrap.
    fork_server: bool = True
