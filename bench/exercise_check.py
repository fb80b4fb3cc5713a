"""The authoring self-check against the two gradings it runs, in the same pool and run.

Run: ``.venv/bin/python bench/exercise_check.py [--runs N]``. The check parses the notebook, looks
for leaks, grades the solution and then the released starter (sandbox/exercise_check.py). The
baselines are those two gradings alone: the solution (as a learner's correct answer) and the
released starter (as an untouched notebook, every test failing). All three are timed in turn with
the pool full before each, so none waits for a refill (the check's second grading may run beside
the refill its first one started). The exercise is tests/sandbox/notebooks/reference-exercise.ipynb
(a scikit-learn fit, five visible and five hidden tests). The last line prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox.exercise_check import check_exercise  # noqa: E402
from sandbox.formats import parse_exercise  # noqa: E402
from sandbox.grader import Grader  # noqa: E402
from sandbox.pool import KernelPool  # noqa: E402
from sandbox.release import release_notebook  # noqa: E402
from sandbox.settings import PoolSettings, SandboxSettings  # noqa: E402

NOTEBOOKS = REPO / "tests" / "sandbox" / "notebooks"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    raw = (NOTEBOOKS / "reference-exercise.ipynb").read_bytes()
    notebook = json.loads(raw)
    exercise = parse_exercise(raw)
    starter = release_notebook(exercise, notebook.get("metadata"))

    checks: list[float] = []
    grades: list[float] = []
    starters: list[float] = []
    with KernelPool(PoolSettings(size=2, sandbox=SandboxSettings())) as pool:
        grader = Grader(pool=pool)
        for _ in range(args.runs):
            pool.wait_ready(timeout=120)
            started = time.perf_counter()
            result = grader.grade(exercise, notebook)
            grades.append(time.perf_counter() - started)
            assert result.score == result.max_score, result.to_dict()

            pool.wait_ready(timeout=120)
            started = time.perf_counter()
            result = grader.grade(exercise, starter)
            starters.append(time.perf_counter() - started)
            assert result.status == "graded" and result.score < result.max_score, result.to_dict()

            pool.wait_ready(timeout=120)
            started = time.perf_counter()
            outcome = check_exercise(grader, notebook)
            checks.append(time.perf_counter() - started)
            assert outcome.passed, outcome

    grade_p50, starter_p50 = statistics.median(grades), statistics.median(starters)
    check_p50 = statistics.median(checks)
    print(f"baseline, grading the solution: p50 {grade_p50 * 1000:.0f} ms over {len(grades)}")
    print(f"baseline, grading the released starter: p50 {starter_p50 * 1000:.0f} ms over {len(starters)}")
    print(f"self-check (leaks, solution, starter): p50 {check_p50 * 1000:.0f} ms over {len(checks)}")
    print(f"self-check / (solution + starter gradings): {check_p50 / (grade_p50 + starter_p50):.2f}")


if __name__ == "__main__":
    main()
