"""sandbox/exercise_check.py: the authoring self-check, graded through the real sandbox."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import ExerciseFormatError
from sandbox.exercise_check import check_exercise, find_leak
from sandbox.formats import parse_exercise
from sandbox.grader import Grader
from sandbox.release import release_notebook

from .conftest import NOTEBOOKS

pytestmark = pytest.mark.kernel


def mean_square() -> dict[str, Any]:
    return json.loads((NOTEBOOKS / "mean-square-exercise.ipynb").read_text())


def with_source(notebook: dict[str, Any], index: int, source: str) -> dict[str, Any]:
    changed = copy.deepcopy(notebook)
    changed["cells"][index]["source"] = source
    return changed


def test_a_sound_exercise_passes(grader: Grader) -> None:
    outcome = check_exercise(grader, mean_square())
    assert outcome.passed, outcome


def test_a_broken_solution_names_the_failing_test_and_its_cell(grader: Grader) -> None:
    broken = with_source(
        mean_square(),
        2,
        "def mean_square(xs):\n    ### BEGIN SOLUTION\n    return sum(xs) / len(xs)\n    ### END SOLUTION",
    )
    outcome = check_exercise(grader, broken)
    assert (outcome.problem, outcome.test, outcome.cell) == ("solution-fails", "visible", 3)


def test_a_solution_stopped_by_a_limit_names_the_cell_that_was_running(grader: Grader) -> None:
    looping = with_source(
        mean_square(),
        2,
        "def mean_square(xs):\n    ### BEGIN SOLUTION\n    return 0.0\n    ### END SOLUTION\nwhile True: pass",
    )
    outcome = check_exercise(grader, looping)
    assert (outcome.problem, outcome.cell, outcome.test) == ("solution-stops", 2, ""), outcome
    assert outcome.detail.startswith("time limit"), outcome

    # In a test: its cell and its id. (Only the solution is graded: the check stops at the first problem.)
    slow_test = with_source(mean_square(), 4, "while True: pass")
    outcome = check_exercise(grader, slow_test)
    assert (outcome.problem, outcome.cell, outcome.test) == ("solution-stops", 4, "hidden-int"), outcome


def test_a_starter_that_already_passes_is_refused(grader: Grader) -> None:
    # Tests too weak to tell the stub from the solution: the released starter scores full marks.
    weak = with_source(mean_square(), 3, "assert callable(mean_square)")
    weak["cells"] = weak["cells"][:4]
    outcome = check_exercise(grader, weak)
    assert (outcome.problem, outcome.cell) == ("starter-passes", 2), outcome


def test_a_hidden_test_copied_into_a_visible_cell_is_a_leak(grader: Grader) -> None:
    notebook = mean_square()
    hidden = "".join(notebook["cells"][5]["source"])
    leaky = with_source(notebook, 1, "import math\n" + hidden)
    outcome = check_exercise(grader, leaky)
    assert (outcome.problem, outcome.test, outcome.cell) == ("leak", "hidden-float", 5)


def test_one_distinctive_solution_line_shown_in_the_release_is_a_leak(grader: Grader) -> None:
    # The description quotes the solution's one line (not its markers): the old rule wanted every
    # line of the answer cell, markers included, in the release, and let this through.
    notebook = mean_square()
    description = "".join(notebook["cells"][0]["source"])
    leaky = with_source(notebook, 0, description + "\n\n    return sum(x * x for x in xs) / len(xs)\n")
    outcome = check_exercise(grader, leaky)
    assert (outcome.problem, outcome.cell) == ("leak", 2), outcome
    assert "is also in cell 0" in outcome.detail, outcome


def test_a_short_line_shared_with_a_visible_cell_is_not_a_leak() -> None:
    # ``return 0.0`` in the solution and in a visible cell is boilerplate, not the answer.
    notebook = mean_square()
    notebook["cells"][2]["source"] = (
        "def mean_square(xs):\n    ### BEGIN SOLUTION\n    if not xs:\n        return 0.0\n"
        "    return sum(x * x for x in xs) / len(xs)\n    ### END SOLUTION"
    )
    notebook["cells"][1]["source"] = "import math\n\ndef zero():\n    return 0.0"
    text = json.dumps(notebook)
    exercise = parse_exercise(text)
    cells = notebook["cells"]
    assert find_leak(exercise, release_notebook(exercise, notebook["metadata"]), cells) is None


def test_an_unreadable_notebook_is_reported_not_raised(grader: Grader) -> None:
    notebook = mean_square()
    notebook["cells"][3]["metadata"]["opencapacity"]["points"] = -1
    outcome = check_exercise(grader, notebook)
    assert outcome.problem == "invalid" and "cell 3" in outcome.detail and "negative" in outcome.detail


#: The self-check of every third-party notebook that parses: (problem, cell, test). nbgrader's
#: submitted-*.ipynb are learners' copies of test.ipynb checked as if they were the source, so their
#: wrong or missing answers are the culprits; timeout.ipynb's test outlasts the cell limit and is named.
FIXTURE_CHECKS: dict[str, tuple[str, int | None, str]] = {
    "nbgrader/autotest-hidden-changed-right.ipynb": ("", None, ""),
    "nbgrader/autotest-hidden-changed-wrong.ipynb": ("", None, ""),
    "nbgrader/autotest-hidden.ipynb": ("", None, ""),
    "nbgrader/submitted-changed.ipynb": ("", None, ""),
    "nbgrader/submitted-cheat-attempt-alternative.ipynb": ("solution-fails", 2, "bar"),
    "nbgrader/submitted-cheat-attempt.ipynb": ("solution-fails", 2, "bar"),
    "nbgrader/submitted-grade-cell-changed.ipynb": ("starter-passes", 0, ""),
    "nbgrader/submitted-locked-cell-changed.ipynb": ("solution-fails", 2, "bar"),
    "nbgrader/submitted-unchanged.ipynb": ("solution-fails", 2, "bar"),
    # The file's own solution fails its hidden squares(11) check.
    "nbgrader/test-hidden-tests.ipynb": ("solution-fails", 5, "correct_squares"),
    "nbgrader/test.ipynb": ("", None, ""),
    "nbgrader/timeout.ipynb": ("solution-stops", 1, "correct_squares"),
    # Otter's generated notebook keeps a hidden test (in its metadata, so no cell) that imports
    # student_file, a support file Otter ships beside it and the fixture does not have.
    "otter/example-correct/autograder/example.ipynb": ("solution-fails", None, "q1-6"),
    "otter/example.ipynb": ("", None, ""),
    "otter/exception-example.ipynb": ("", None, ""),
}


def test_the_fixture_check_table_lists_every_importable_fixture_notebook(fixture_notebooks: Path) -> None:
    importable = set()
    for path in fixture_notebooks.rglob("*.ipynb"):
        try:
            parse_exercise(path.read_bytes())
        except ExerciseFormatError:
            continue
        importable.add(str(path.relative_to(fixture_notebooks)))
    assert importable == set(FIXTURE_CHECKS)


@pytest.mark.parametrize("name", sorted(FIXTURE_CHECKS))
def test_every_importable_fixture_notebook_passes_or_names_the_culprit(
    grader: Grader, fixture_notebooks: Path, name: str
) -> None:
    outcome = check_exercise(grader, json.loads((fixture_notebooks / name).read_text()))
    assert (outcome.problem, outcome.cell, outcome.test) == FIXTURE_CHECKS[name], outcome
    if outcome.problem and outcome.cell is None and not outcome.test:
        assert "limit" in outcome.detail, outcome  # the whole grading ended: the detail says why


def test_an_exercise_reading_its_datasets_is_checked_with_them_mounted(grader: Grader, datasets_root: Path) -> None:
    notebook = json.loads((NOTEBOOKS / "dataset-exercise.ipynb").read_text())
    outcome = check_exercise(grader, notebook, datasets=datasets_root / "cities")
    assert outcome.passed, outcome
    # Without /data the solution cannot read the file, and the detail names it.
    missing = check_exercise(grader, notebook)
    assert missing.problem == "solution-fails" and "/data/cities.csv" in missing.detail, missing
