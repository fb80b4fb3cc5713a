"""sandbox/kernel.py and policy.py under abuse: each case is a learner answer in notebooks/abuse-*.

After each: a precise verdict, nothing left behind (processes, cgroups, directories), and the
worker keeps grading normally.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from sandbox.forkserver import ForkServer
from sandbox.formats import parse_exercise
from sandbox.grader import Grader
from sandbox.kernel import SandboxedKernel
from sandbox.settings import SandboxSettings

from .conftest import assert_nothing_left, read

pytestmark = pytest.mark.kernel

EXERCISE = parse_exercise(read("mean-square-exercise.ipynb"))

# case: (expected status, text that must appear in the learner's outputs, text that must not)
ABUSE = {
    # forked copies keep looping until the wall clock ends them
    "fork-bomb": ("process limit|time limit", "", ""),
    "memory-bomb-one-allocation": ("memory limit", "", ""),
    "memory-bomb-slow-growth": ("memory limit", "", ""),
    "infinite-loop": ("time limit", "", ""),
    "sleep-forever": ("time limit", "", ""),
    "ignore-sigterm": ("time limit", "", ""),
    "network-internet": ("graded", "OSError", ""),
    "network-postgres-localhost": ("graded", "Error", ""),
    "network-redis-localhost": ("graded", "Error", ""),
    "read-proc1-environ": ("graded", "PATH", "opencapacity-selftest-secret"),
    "read-project-and-database": ("graded", "FOUND []", ""),
    "read-root": ("graded", "ROOT ['.pyenv']", ""),
    "read-other-kernels": ("graded", "OTHERS []", "j-"),
    "write-site-packages": ("graded", "Read-only file system", ""),
    "write-project": ("graded", "Error", ""),
    "fill-tmp-one-huge-file": ("file size limit", "", ""),
    "fill-tmp-many-small-files": ("disk limit", "", ""),
    "gigabyte-of-output": ("output limit", "", ""),
    "huge-images": ("output limit", "", ""),
    "background-process-outlives-kernel": ("graded", "", ""),
    "kill-parent": ("graded", "", ""),
    # kill(-1) inside the pid namespace reaches nothing the kernel may signal
    "kill-every-process": ("graded", "ProcessLookupError", ""),
    "segfault-ctypes": ("crashed", "", ""),
    # IPython formatting a 3000-frame traceback can outlast a 4 s cell limit
    "unbounded-recursion": ("graded|time limit", "", ""),
    "unbounded-recursion-no-limit": ("crashed|memory limit|time limit", "", ""),
}


@pytest.fixture(autouse=True)
def _secret_in_worker_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "opencapacity-selftest-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://opencapacity-selftest-secret@127.0.0.1/db")


@pytest.mark.parametrize("case", sorted(ABUSE))
def test_abuse_ends_cleanly(grader: Grader, case: str) -> None:
    status, shown, hidden = ABUSE[case]
    result = grader.grade(EXERCISE, read(f"abuse-{case}.ipynb"))
    text = "\n".join(o.text + o.ename + o.evalue + o.traceback for cell in result.outputs for o in cell)
    assert result.status in status.split("|"), (result.detail, text[-2000:])
    assert shown in text
    if hidden:
        assert hidden not in text
    assert "opencapacity-selftest-secret" not in text
    if status != "graded" or case.startswith(("background", "kill-parent")):
        assert result.score <= 7
    if case == "gigabyte-of-output":
        assert result.score == 0
    assert_nothing_left(grader.last_session)


def test_background_process_does_not_change_the_grade(grader: Grader) -> None:
    result = grader.grade(EXERCISE, read("abuse-background-process-outlives-kernel.ipynb"))
    assert (result.status, result.score) == ("graded", 7.0)
    assert_nothing_left(grader.last_session)


def test_worker_grades_normally_after_abuse(grader: Grader) -> None:
    grader.grade(EXERCISE, read("abuse-kill-every-process.ipynb"))
    result = grader.grade(EXERCISE, read("correct-answer.ipynb"))
    assert (result.status, result.score) == ("graded", 7.0)
    assert os.getpid() > 0


def test_run_returns_outputs_images_and_tracebacks(grader: Grader) -> None:
    result = grader.run(
        [
            "print('hello')",
            "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
            "1 / 0",
            "6 * 7",
        ]
    )
    assert result.status == "ok"
    assert result.cells[0][0].text == "hello\n"
    assert any(o.png and o.png.startswith("iVBORw0KGgo") for o in result.cells[1])
    error = result.cells[2][-1]
    assert error.ename == "ZeroDivisionError" and "1 / 0" in error.traceback
    assert "\x1b[" not in error.traceback
    assert result.cells[3][0].text == "42"


def test_run_caps_output_kept(grader: Grader) -> None:
    result = grader.run(["print('x' * 200_000)"])
    kept = sum(len(o.text) for o in result.cells[0])
    assert 0 < kept <= grader.settings.limits.output_bytes_kept


@pytest.mark.parametrize("fork_server", [False, True], ids=["cold", "forked"])
def test_kernel_starts_without_preloaded_modules(sandbox_settings: SandboxSettings, fork_server: bool) -> None:
    settings = replace(sandbox_settings, preload=())
    server = ForkServer(settings) if fork_server else None
    try:
        with SandboxedKernel(settings, server) as kernel:
            run = kernel.execute("import sys\nprint('numpy' in sys.modules, 6 * 7)", timeout=10)
        assert run.status == "ok", run.error
        assert run.outputs[0].text == "False 42\n"
    finally:
        if server is not None:
            server.close()
