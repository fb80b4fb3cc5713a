"""sandbox/__main__.py: the command line that instructors, operators and the web layer rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import NOTEBOOKS, REPO


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=REPO, capture_output=True, text=True, timeout=180
    )


@pytest.mark.kernel
def test_grade_json(tmp_path: Path) -> None:
    done = _cli("grade", str(NOTEBOOKS / "mean-square-exercise.ipynb"), str(NOTEBOOKS / "always-equal.ipynb"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"status", "score", "max_score", "tests", "manual", "duration_ms"}
    assert (result["status"], result["score"], result["max_score"]) == ("graded", 0.0, 7.0)
    assert set(result["tests"][0]) == {"id", "name", "points", "max_points", "passed", "hidden", "message"}


def test_release_then_refuse_invalid(tmp_path: Path, fixture_notebooks: Path) -> None:
    out = tmp_path / "learner.ipynb"
    done = _cli("release", str(NOTEBOOKS / "mean-square-exercise.ipynb"), str(out))
    assert done.returncode == 0, done.stderr
    assert "12.5" not in out.read_text()
    bad = _cli("grade", str(fixture_notebooks / "nbgrader/too-new.ipynb"), str(out), "--json")
    assert bad.returncode == 2 and "newer than the supported" in bad.stderr


@pytest.mark.kernel
def test_grade_with_datasets() -> None:
    exercise = str(NOTEBOOKS / "dataset-exercise.ipynb")
    done = _cli("grade", exercise, exercise, "--datasets", str(NOTEBOOKS.parent / "datasets"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["score"] == 5.0
    missing = _cli("grade", exercise, exercise, "--datasets", str(NOTEBOOKS / "no-such-directory"))
    assert missing.returncode == 3 and "does not exist" in missing.stderr
