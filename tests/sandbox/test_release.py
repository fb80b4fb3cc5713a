"""sandbox/release.py: the learner version carries no solution, hidden test or instructor data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.formats import load_notebook, parse_exercise
from sandbox.release import release_notebook

from .conftest import read

# (notebook, strings that must not appear anywhere in the released file)
SECRETS = {
    "nbgrader/test.ipynb": ["i ** 2 for i", "sum(squares(n))", "pyramidal_number", "sum_{i=1}^n"],
    "nbgrader/test-hidden-tests.ipynb": ["squares(11)", "sum_of_squares(11)", "506"],
    "nbgrader/autotest-hidden.ipynb": ["AUTOTEST a\\n", "a = 5", "HIDDEN"],
    "otter/example.ipynb": ["x = 2", "x * x", "4.99342831", "3.07316461", "equal side lengths", "q1a-4", "identity(x)"],
    "otter/exception-example.ipynb": ["x = 2", "test_hidden", "assert x == 2", "equal side lengths"],
    "otter/example-correct/autograder/example.ipynb": ["x = 2", "square(1)\\n1", "OK_FORMAT", "equal side lengths"],
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_release_hides_solutions_and_hidden_tests(fixture_notebooks: Path, name: str) -> None:
    raw = (fixture_notebooks / name).read_bytes()
    released = release_notebook(parse_exercise(raw), load_notebook(raw)["metadata"])
    text = json.dumps(released)
    for secret in SECRETS[name]:
        assert json.dumps(secret)[1:-1] not in text, secret
    assert all(cell.get("outputs", []) == [] for cell in released["cells"])
    assert set(released["metadata"]) <= {"kernelspec", "language_info", "opencapacity"}


def test_native_release_round_trips_as_a_submission() -> None:
    exercise = parse_exercise(read("mean-square-exercise.ipynb"))
    released = release_notebook(exercise)
    text = json.dumps(released)
    assert "sum(x * x" not in text and "12.5" not in text and "1.625" not in text
    assert "mean_square([1, 2, 3]) == 14 / 3" in text  # the visible test stays
    answer = [c for c in released["cells"] if c["metadata"].get("opencapacity", {}).get("answer")]
    assert [c["metadata"]["opencapacity"]["answer"] for c in answer] == ["answer"]
    assert "raise NotImplementedError()" in answer[0]["source"]
