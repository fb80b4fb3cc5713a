"""Exercise datasets: read-only at /data in cold and forked kernels and judges, one exercise's only.

The session-wide datasets root (conftest.py) holds two exercises' directories: ``cities`` (a CSV
and a Parquet file) and ``other``, whose file no sandbox of ``cities`` may see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import SandboxError
from sandbox.formats import parse_exercise
from sandbox.grader import Grader, Session
from sandbox.pool import KernelPool
from sandbox.settings import SandboxSettings

from .conftest import read

pytestmark = pytest.mark.kernel

READ = """
import pandas as pd
largest = pd.read_csv("/data/cities.csv")["population"].max()
print(largest, int(pd.read_parquet("/data/cities.parquet")["population"].sum()))
"""

WRITE = """
import os
for name, attempt in [
    ("append", lambda: open("/data/cities.csv", "a")),
    ("create", lambda: open("/data/new.csv", "w")),
    ("chmod", lambda: os.chmod("/data/cities.csv", 0o666)),
    ("remove", lambda: os.remove("/data/cities.parquet")),
    ("rename", lambda: os.rename("/data/cities.csv", "/data/c.csv")),
]:
    try:
        attempt()
        print(name, "done")
    except OSError as error:
        print(name, "refused", error.errno)
"""

# Look everywhere for the other exercise's file and for the zygote's view of every exercise's
# datasets, also from a user namespace of the learner's own (where mounts could be undone if
# they were not locked).
LOOK_ELSEWHERE = """
import os, subprocess, sys
SEARCH = '''
import os
# The runtime's read-only trees (tens of thousands of files) are binds of host paths that hold
# no datasets: skipped, so the walk fits in a cell's time limit on a busy machine.
SKIP = ("/proc", "/sys", "/usr", "/lib", "/lib64", "/opt/kernel-venv", "/root")
found = []
for r, d, fs in os.walk("/"):
    d[:] = [name for name in d if not os.path.join(r, name).startswith(SKIP)]
    found += [os.path.join(r, f) for f in fs if f == "other-exercise-secret.csv" or ".oc-datasets" in r]
data = sorted(os.listdir("/data")) if os.path.isdir("/data") else None
print("found", found, os.path.exists("/tmp/.oc-datasets"), data)
'''
NESTED = '''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000 | 0x00020000) == 0:
    print("nested", libc.umount2(b"/tmp", 2), libc.umount2(b"/data", 2), os.path.exists("/tmp/.oc-datasets"))
'''
exec(SEARCH)
print(subprocess.run([sys.executable, "-c", NESTED], capture_output=True, text=True).stdout)
"""


@pytest.fixture(scope="module")
def cold_grader(sandbox_settings: SandboxSettings) -> Grader:
    """No pool: every call boots its kernel and judge cold, each in its own bwrap."""
    return Grader(sandbox_settings)


@pytest.fixture(params=["forked", "cold"])
def any_grader(request: pytest.FixtureRequest, grader: Grader, cold_grader: Grader) -> Iterator[Grader]:
    yield grader if request.param == "forked" else cold_grader


def _texts(grader: Grader, code: str, datasets: Path | None) -> list[str]:
    result = grader.run([code], datasets=datasets)
    assert result.status == "ok", result
    return [output.text for output in result.cells[0]]


def test_a_kernel_reads_its_datasets_and_cannot_change_them(any_grader: Grader, datasets_root: Path) -> None:
    cities = datasets_root / "cities"
    result = any_grader.run([READ, WRITE, LOOK_ELSEWHERE], datasets=cities)
    assert result.status == "ok", result
    session = any_grader.last_session
    assert session is not None and (session.kernel.forkserver is not None) == (any_grader.pool is not None)
    read_out, write_out, elsewhere = ("".join(o.text for o in outputs) for outputs in result.cells)
    assert read_out == "4397073 12547181\n"
    for name in ("append", "create", "chmod", "remove", "rename"):
        assert f"{name} refused 30" in write_out, write_out  # EROFS
    assert "found [] False ['cities.csv', 'cities.parquet']" in elsewhere, elsewhere
    assert "nested -1 -1 False" in elsewhere, elsewhere
    # Nothing changed on the host either.
    assert sorted(p.name for p in cities.iterdir()) == ["cities.csv", "cities.parquet"]


def test_a_session_without_datasets_sees_none(grader: Grader) -> None:
    """Warm pool sessions (forked before anyone knows the exercise) have an empty /data."""
    elsewhere = "".join(_texts(grader, LOOK_ELSEWHERE, None))
    assert "found [] False []" in elsewhere, elsewhere
    assert grader.last_session is not None and grader.last_session.kernel.forkserver is not None


def test_an_exercise_reading_csv_and_parquet_grades_in_kernel_and_judge(
    any_grader: Grader, datasets_root: Path
) -> None:
    source = read("dataset-exercise.ipynb")
    exercise = parse_exercise(source, "native")
    right = json.loads(source)  # the instructor's solution, as a learner would type it
    result = any_grader.grade(exercise, right, datasets=datasets_root / "cities")
    assert (result.status, result.score, result.max_score) == ("graded", 5.0, 5.0), result
    wrong = json.loads(source)
    for cell in wrong["cells"]:
        if cell["metadata"].get("opencapacity", {}).get("id") == "largest":
            cell["source"] = "def largest_city():\n    return str(pd.read_csv('/data/cities.csv')['city'].iloc[0])"
    result = any_grader.grade(exercise, wrong, datasets=datasets_root / "cities")
    assert {t.id: t.passed for t in result.tests} == {
        "largest-is-text": True,
        "largest-city": False,
        "total-population": True,
    }


def test_without_its_datasets_the_exercise_fails_its_tests(grader: Grader) -> None:
    source = read("dataset-exercise.ipynb")
    result = grader.grade(parse_exercise(source, "native"), json.loads(source))
    assert result.status == "graded" and result.score == 0.0


def test_datasets_outside_the_root_or_missing_are_refused(pool: KernelPool, tmp_path: Path) -> None:
    grader = Grader(pool=pool)
    with pytest.raises(SandboxError, match="not under the fork server's datasets_root"):
        grader.run(["1"], datasets=tmp_path)
    with pytest.raises(SandboxError, match="does not exist"):
        grader.run(["1"], datasets=tmp_path / "missing")
    assert pool._in_use == 0
    # No spare is wanted for a refused directory: the refill thread would fail and back off on it.
    assert tmp_path not in pool._wanted and tmp_path / "missing" not in pool._wanted


def test_a_directory_made_after_the_zygote_started_is_mounted(grader: Grader, datasets_root: Path) -> None:
    """The LMS lays out an exercise's directory when it first grades it, long after the
    worker's zygote started: the zygote's view of the root is live."""
    assert grader.pool is not None and grader.pool.wait_ready(timeout=60)
    late = datasets_root / "made-late"
    late.mkdir()
    (late / "late.csv").write_text("n\n7\n")
    assert _texts(grader, "print(open('/data/late.csv').read().split())", late) == ["['n', '7']\n"]


def _wait_for_spare(pool: KernelPool, datasets: Path) -> Session:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with pool._cond:
            spare = pool._spares.get(datasets)
        if spare is not None:
            return spare
        time.sleep(0.05)
    raise AssertionError(f"no spare session for {datasets}")


def test_later_submissions_of_an_exercise_with_datasets_take_a_warm_spare(
    grader: Grader, pool: KernelPool, datasets_root: Path
) -> None:
    cities = datasets_root / "cities"
    _texts(grader, "1", cities)  # a session forked for it, or the spare an earlier test left
    spare = _wait_for_spare(pool, cities)
    assert _texts(grader, "import os\nprint(sorted(os.listdir('/data')))", cities) == [
        "['cities.csv', 'cities.parquet']\n"
    ]
    assert grader.last_session is spare
    # One spare per directory, for the pool's size of directories used most recently.
    others = []
    for number in range(pool.settings.size + 1):
        other = datasets_root / f"spare-{number}"
        other.mkdir()
        (other / "n.csv").write_text(f"n\n{number}\n")
        others.append(other)
        assert _texts(grader, "print(open('/data/n.csv').read().split()[1])", other) == [f"{number}\n"]
        _wait_for_spare(pool, other)
    with pool._cond:
        kept = list(pool._spares)
    assert len(kept) == pool.settings.size and kept[-1] == others[-1] and cities not in kept
    assert spare.destroyed.wait(30)  # used once, then destroyed like any session
