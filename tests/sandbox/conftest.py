"""Fixtures for the engine's tests: real kernels in the real sandbox, no Django."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.grader import Grader, Session
from sandbox.kernel import _namespace_members
from sandbox.pool import KernelPool
from sandbox.settings import Limits, PoolSettings, SandboxSettings

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
NOTEBOOKS = HERE / "notebooks"
DATASETS = HERE / "datasets"


def fixtures_root() -> Path:
    return Path(os.environ.get("OPENCAPACITY_FIXTURES", str(REPO.parent / "shared" / "fixtures")))


@pytest.fixture(scope="session")
def fixture_notebooks() -> Path:
    path = fixtures_root() / "notebooks"
    if not path.is_dir():
        pytest.skip(f"third-party notebooks not found at {path} (set OPENCAPACITY_FIXTURES)")
    return path


#: Tight limits so abuse cases end quickly; numpy only preloaded to keep kernels cheap in tests.
TEST_LIMITS = Limits(
    cell_seconds=4.0,
    submission_seconds=20.0,
    cpu_seconds=20,
    memory_bytes=1024**3,
    processes=48,
    file_size_bytes=8 * 1024**2,
    tmp_bytes=16 * 1024**2,
    output_bytes_max=2 * 1024**2,
)


@pytest.fixture(scope="session")
def datasets_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Datasets laid out as the LMS does: one directory per exercise. ``cities`` holds the files
    tests/sandbox/notebooks/dataset-exercise.ipynb reads; ``other`` stands for another exercise."""
    root = tmp_path_factory.mktemp("datasets")
    (root / "cities").mkdir()
    for name in ("cities.csv", "cities.parquet"):
        shutil.copyfile(DATASETS / name, root / "cities" / name)
    (root / "other").mkdir()
    (root / "other" / "other-exercise-secret.csv").write_text("answer\n42\n")
    return root


@pytest.fixture(scope="session")
def sandbox_settings(datasets_root: Path) -> SandboxSettings:
    return SandboxSettings(limits=TEST_LIMITS, preload=("numpy",), datasets_root=datasets_root)


@pytest.fixture(scope="session")
def pool(sandbox_settings: SandboxSettings) -> Iterator[KernelPool]:
    # Boot at normal priority: the suite must not depend on how busy the machine is otherwise
    # (test_pool.py covers booting at a low priority).
    with KernelPool(PoolSettings(size=2, sandbox=sandbox_settings, boot_nice=0)) as warm:
        yield warm


@pytest.fixture(scope="session")
def grader(pool: KernelPool) -> Grader:
    return Grader(pool=pool)


def read(name: str) -> bytes:
    return (NOTEBOOKS / name).read_bytes()


def assert_nothing_left(session: Session | None) -> None:
    """Every process of the session's kernel and judge is gone, and so are their cgroups."""
    assert session is not None
    assert session.destroyed.wait(30), "the session was not destroyed"
    for namespace, cgroup in (
        (session.kernel.pid_namespace, session.kernel.cgroup),
        (session.judge.pid_namespace, session.judge.cgroup),
    ):
        assert namespace is not None
        assert _leftovers(namespace, cgroup) == [], f"processes left in {namespace}"
    assert session.kernel.workdir is not None and not session.kernel.workdir.exists()
    for cgroup in (session.kernel.cgroup, session.judge.cgroup):
        assert cgroup is None or not cgroup.exists()


def _leftovers(namespace: str, cgroup: Path | None) -> list[int]:
    """Processes still in the namespace. Sandboxes are made fast enough that the kernel may give
    a dead namespace's number to a new one at once: with a cgroup, only its members count."""
    members = _namespace_members(namespace)
    if cgroup is None:
        return members
    left = []
    for pid in members:
        try:
            with open(f"/proc/{pid}/cgroup") as handle:
                if cgroup.name in handle.read():
                    left.append(pid)
        except OSError:
            continue
    return left


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kernel: starts real sandboxed kernels (slow, needs bwrap)")
