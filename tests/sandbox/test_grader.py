"""sandbox/grader.py with real kernels: third-party notebooks, and learners who try to cheat.

Every cheat notebook under notebooks/ is a submission for mean-square-exercise.ipynb written by
someone who did not solve it; each must score exactly zero (or only the visible points it
hard-coded), and the feedback must never reveal hidden test source or expected values.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sandbox.formats import load_notebook, parse_exercise
from sandbox.grader import Grader

from .conftest import assert_nothing_left, read

pytestmark = pytest.mark.kernel

EXERCISE = parse_exercise(read("mean-square-exercise.ipynb"))
HIDDEN_SECRETS = ("12.5", "1.625", "[3, 4]", "[1.5, -1]", "[2]", "mean_square([5])")

CHEATS = {
    # notebook: (status, score)
    "always-equal.ipynb": ("graded", 0.0),
    # breaking builtins breaks the learner's own kernel: whatever the verdict, no points
    "patch-builtins.ipynb": ("graded|time limit|crashed", 0.0),
    "patch-modules-the-tests-import.ipynb": ("graded", 0.0),
    "fake-success-output.ipynb": ("graded", 0.0),
    "exit-early.ipynb": ("crashed", 0.0),
    "exit-during-tests.ipynb": ("crashed", 0.0),
    # A forked kernel is pid 1 of its namespace, where a SIGKILL it sends itself is ignored: the
    # function returns None and the test fails. A cold kernel, or one forked in the three-process
    # layout, dies. Either way nothing is earned.
    "kill-kernel-during-tests.ipynb": ("graded|crashed", 0.0),
    "hide-tracebacks.ipynb": ("graded", 0.0),
    "suppress-exceptions.ipynb": ("graded", 0.0),
    "search-for-hidden-tests.ipynb": ("graded", 0.0),
    "inspect-caller-frames.ipynb": ("graded", 0.0),
    "patch-kernel-replies.ipynb": ("graded", 0.0),
    "forge-judge-answers.ipynb": ("graded", 0.0),
    # a correct function behind a removed agent: the judge never sees it, and nothing crashes
    "break-the-agent.ipynb": ("graded", 0.0),
    "settrace-and-threads.ipynb": ("graded", 0.0),
    "subclass-result-type.ipynb": ("graded", 0.0),
    "edit-test-cells.ipynb": ("graded", 0.0),
    "wrong-answer.ipynb": ("graded", 0.0),
    # solving only the visible example earns only the visible point
    "hardcode-visible-answers.ipynb": ("graded", 1.0),
}


def _feedback(result: object) -> str:
    return json.dumps(result.to_dict())  # type: ignore[attr-defined]


def test_correct_answer_scores_full(grader: Grader) -> None:
    result = grader.grade(EXERCISE, read("correct-answer.ipynb"))
    assert (result.status, result.score, result.max_score) == ("graded", 7.0, 7.0)
    assert all(t.passed for t in result.tests)
    assert_nothing_left(grader.last_session)


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_cheat_does_not_pay(grader: Grader, name: str) -> None:
    status, score = CHEATS[name]
    result = grader.grade(EXERCISE, read(name))
    assert result.status in status.split("|"), result.detail
    assert result.score == score, [(t.id, t.passed, t.message) for t in result.tests]
    feedback = _feedback(result)
    for secret in HIDDEN_SECRETS:
        assert secret not in feedback
    for test in result.tests:
        if test.hidden:
            assert test.message in ("", "a hidden test failed") or test.message.startswith("not run")
    assert_nothing_left(grader.last_session)


def test_check_runs_visible_tests_only(grader: Grader) -> None:
    result = grader.check(EXERCISE, read("hardcode-visible-answers.ipynb"))
    assert [t.id for t in result.tests] == ["visible"]
    assert (result.score, result.max_score) == (1.0, 1.0)


def test_invalid_submission_is_a_verdict(grader: Grader) -> None:
    result = grader.grade(EXERCISE, b"{not a notebook")
    assert result.status == "invalid submission" and result.score == 0
    assert result.detail


def test_visible_failure_explains(grader: Grader) -> None:
    result = grader.grade(EXERCISE, read("wrong-answer.ipynb"))
    visible = next(t for t in result.tests if t.id == "visible")
    assert "AssertionError" in visible.message and "mean_square([1, 2, 3])" in visible.message


# -- third-party notebooks ----------------------------------------------------------------------
def _grade_fixture(grader: Grader, root: Path, source: str, submission: str) -> tuple[str, float, dict[str, bool]]:
    exercise = parse_exercise((root / source).read_bytes())
    result = grader.grade(exercise, (root / submission).read_bytes())
    return result.status, result.score, {t.id: t.passed for t in result.tests}


def test_nbgrader_solution_scores_all_autograded_points(grader: Grader, fixture_notebooks: Path) -> None:
    exercise = parse_exercise((fixture_notebooks / "nbgrader/test.ipynb").read_bytes())
    result = grader.grade(exercise, (fixture_notebooks / "nbgrader/test.ipynb").read_bytes())
    assert (result.status, result.score, result.max_score) == ("graded", 3.0, 6.0)
    # manually graded cells are reported, never scored
    assert {m.id: m.max_points for m in result.manual} == {
        "sum_of_squares_equation": 1.0,
        "sum_of_squares_application": 2.0,
    }
    assert "pyramidal_number" in result.manual[1].answer


def test_nbgrader_hidden_tests_catch_hard_coding(grader: Grader, fixture_notebooks: Path) -> None:
    status, score, passed = _grade_fixture(
        grader, fixture_notebooks, "nbgrader/test-hidden-tests.ipynb", "nbgrader/test-hidden-tests.ipynb"
    )
    assert status == "graded"
    assert passed == {
        "correct_squares": False,
        "squares_invalid_input": True,
        "correct_sum_of_squares": False,
        "sum_of_squares_uses_squares": True,
    }
    assert score == 1.5


@pytest.mark.parametrize(
    "submission, score",
    [
        ("nbgrader/autotest-hidden-changed-right.ipynb", 1.0),
        ("nbgrader/autotest-hidden-changed-wrong.ipynb", 0.0),
    ],
)
def test_nbgrader_autotests(grader: Grader, fixture_notebooks: Path, submission: str, score: float) -> None:
    status, got, _ = _grade_fixture(grader, fixture_notebooks, "nbgrader/autotest-hidden.ipynb", submission)
    assert (status, got) == ("graded", score)


def test_nbgrader_timeout_is_a_time_limit(grader: Grader, fixture_notebooks: Path) -> None:
    status, score, _ = _grade_fixture(grader, fixture_notebooks, "nbgrader/timeout.ipynb", "nbgrader/timeout.ipynb")
    assert (status, score) == ("time limit", 0.0)


def _submitted_source(root: Path) -> bytes:
    """The instructor notebook behind nbgrader's submitted-*.ipynb (not shipped upstream)."""
    nb = load_notebook((root / "nbgrader/submitted-unchanged.ipynb").read_bytes())
    source = copy.deepcopy(nb)
    source["cells"][0]["source"] = "### BEGIN SOLUTION\na = 1\n### END SOLUTION"
    return json.dumps(source).encode()


@pytest.mark.parametrize(
    "submission, score, passed",
    [
        ("submitted-unchanged.ipynb", 1.0, {"foo": True, "bar": False}),
        ("submitted-changed.ipynb", 2.0, {"foo": True, "bar": True}),
        # the learner commented out the test: tests come from the instructor's copy
        ("submitted-grade-cell-changed.ipynb", 1.0, {"foo": True, "bar": False}),
        ("submitted-locked-cell-changed.ipynb", 1.0, {"foo": True, "bar": False}),
        # showtraceback patched away: the judge does not read the kernel's tracebacks
        ("submitted-cheat-attempt.ipynb", 1.0, {"foo": True, "bar": False}),
        ("submitted-cheat-attempt-alternative.ipynb", 1.0, {"foo": True, "bar": False}),
    ],
)
def test_nbgrader_submissions(
    grader: Grader, fixture_notebooks: Path, submission: str, score: float, passed: dict[str, bool]
) -> None:
    exercise = parse_exercise(_submitted_source(fixture_notebooks))
    result = grader.grade(exercise, (fixture_notebooks / "nbgrader" / submission).read_bytes())
    assert result.status == "graded"
    assert {t.id: t.passed for t in result.tests} == passed
    assert result.score == score
    assert {m.id for m in result.manual} == {"baz", "quux"}


def test_otter_master_against_its_own_solution(grader: Grader, fixture_notebooks: Path) -> None:
    status, score, passed = _grade_fixture(grader, fixture_notebooks, "otter/example.ipynb", "otter/example.ipynb")
    assert status == "graded"
    failed = sorted(k for k, ok in passed.items() if not ok)
    assert failed == [], failed
    assert score == 41.0  # every autograded point; the manual questions are reported apart


def test_otter_released_student_notebook_scores_little(grader: Grader, fixture_notebooks: Path) -> None:
    status, _score, passed = _grade_fixture(
        grader,
        fixture_notebooks,
        "otter/example-correct/autograder/example.ipynb",
        "otter/example-correct/student/example.ipynb",
    )
    assert status == "graded"
    assert not passed["q3-2"] and not passed["q8-1"]
    assert passed["q1-2"]  # ">>> None" passes for anyone, as in Otter


def test_otter_exception_tests(grader: Grader, fixture_notebooks: Path) -> None:
    status, _score, passed = _grade_fixture(
        grader, fixture_notebooks, "otter/exception-example.ipynb", "otter/exception-example.ipynb"
    )
    assert status == "graded"
    assert passed["q1a-1"] and passed["q1a-2"] and passed["q3-1"] and passed["q3-2"]
    # the solution seeds numpy itself (# SEED line), so the hidden values match
    assert passed["q8-1"] and passed["q8-2"]
