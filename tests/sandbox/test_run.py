"""sandbox/run.py with real kernels: the learner's cells run, their outputs come back per answer
cell, tests never run, and nothing but text, errors and PNG images is kept."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from sandbox.formats import parse_exercise
from sandbox.grader import Grader
from sandbox.run import RAN, STOPPED, run_answers
from sandbox.settings import SandboxSettings

from .conftest import TEST_LIMITS, assert_nothing_left

pytestmark = pytest.mark.kernel


def code(source: str, tags: list[str], cell_id: str = "") -> dict[str, Any]:
    metadata: dict[str, Any] = {"tags": tags}
    if cell_id:
        metadata["opencapacity"] = {"id": cell_id}
    return {"cell_type": "code", "metadata": metadata, "source": source, "outputs": [], "execution_count": None}


def notebook(*cells: dict[str, Any], limits: dict[str, float] | None = None) -> bytes:
    meta: dict[str, Any] = {"version": 1, "title": "Run"}
    if limits:
        meta["limits"] = limits
    return json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {"opencapacity": meta}, "cells": list(cells)}
    ).encode()


EXERCISE = parse_exercise(
    notebook(
        code("import math\nprint('setup ran')", ["setup"]),
        code("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", ["answer"], "first"),
        code("print('context sees', double(21))", []),
        code("result = double(5)\nresult", ["answer"], "second"),
        code("print('A TEST RAN')\nassert result == 10", ["test"], "visible"),
        code("print('A HIDDEN TEST RAN')", ["hidden-test"], "hidden"),
    )
)


@pytest.fixture(scope="module")
def plotting_grader() -> Grader:
    """No pool: each run boots its own session, with matplotlib preloaded as in production."""
    limits = replace(TEST_LIMITS, cell_seconds=20.0, submission_seconds=60.0)
    return Grader(SandboxSettings(limits=limits, preload=("numpy", "matplotlib")))


def texts(outcome: Any, key: str) -> list[str]:
    cell = next(cell for cell in outcome.cells if cell.key == key)
    return [output.text for output in cell.outputs]


def test_answers_run_in_notebook_order_with_outputs_per_cell_and_no_test(grader: Grader) -> None:
    answers = {
        "first": "def double(x):\n    print('doubling', x)\n    return x + x",
        "second": "result = double(5)\nresult",
    }
    outcome = run_answers(grader, EXERCISE, answers)
    assert outcome.status == RAN, outcome.detail
    assert [cell.key for cell in outcome.cells] == ["first", "second"]
    assert texts(outcome, "first") == []  # defining a function prints nothing
    assert texts(outcome, "second") == ["doubling 5\n", "10"]
    dumped = json.dumps(outcome.to_dict())
    # The instructor's setup and context cells ran (context used the learner's function) but
    # their outputs are not the learner's cells'; no test, visible or hidden, ever ran.
    assert "setup ran" not in dumped and "context sees" not in dumped
    assert "TEST RAN" not in dumped
    assert_nothing_left(grader.last_session)


def test_an_error_stops_the_run_with_a_readable_traceback(grader: Grader) -> None:
    outcome = run_answers(grader, EXERCISE, {"first": "def double(x):\n    return x / 0\n\ndouble(1)"})
    assert outcome.status == STOPPED
    first, second = outcome.cells
    assert first.ran and not second.ran and second.outputs == []
    error = first.outputs[-1]
    assert (error.kind, error.ename) == ("error", "ZeroDivisionError")
    assert "\x1b[" not in error.traceback and "return x / 0" in error.traceback


def test_missing_answers_run_the_starter_code_and_unknown_keys_are_ignored(grader: Grader) -> None:
    outcome = run_answers(grader, EXERCISE, {"not-a-cell": "print('injected')"})
    # The released starter of `first` is a stub that raises NotImplementedError when called: the
    # instructor's context cell calls it, and its error is reported without an answer key.
    assert outcome.status == STOPPED
    assert outcome.cells[0].ran and not outcome.cells[1].ran
    assert [error.ename for error in outcome.instructor_errors] == ["NotImplementedError"]
    assert "injected" not in json.dumps(outcome.to_dict())


def test_html_svg_and_script_outputs_are_kept_only_as_plain_text_and_plots_as_png(plotting_grader: Grader) -> None:
    hostile = (
        "from IPython.display import HTML, SVG, Javascript, Markdown, display\n"
        "display(HTML('<script>alert(1)</script><img src=x onerror=alert(2)>'))\n"
        "display(Javascript('alert(3)'))\n"
        "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(4)</script></svg>'))\n"
        "display(Markdown('<img src=x onerror=alert(5)>'))\n"
        "print('<b>bold?</b>')\n"
        "print('\\x1b[31mred\\x1b[0m')\n"
        "def double(x):\n"
        "    return 2 * x\n"
    )
    plot = (
        "import pandas as pd\n"
        "display(pd.DataFrame({'rain': [300, 400], 'harvest': [1.1, 1.6]}))\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()"
    )
    outcome = run_answers(plotting_grader, EXERCISE, {"first": hostile, "second": plot})
    assert outcome.status == RAN, outcome.detail
    first, second = outcome.cells
    kept = json.dumps([output.to_dict() for output in first.outputs])
    for marker in ("<script>", "onerror", "alert(3)", "<svg"):
        assert marker not in kept, marker
    assert "<IPython.core.display.HTML object>" in kept
    assert "<b>bold?</b>" in kept  # printed text stays text; the page never parses it
    # A table is its text/plain form (pandas' aligned columns), never its HTML.
    assert second.outputs[0].text == "   rain  harvest\n0   300      1.1\n1   400      1.6"
    images = [output.png for output in second.outputs if output.png]
    assert len(images) == 1
    assert base64.b64decode(images[0])[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_exercise_time_limit_ends_an_endless_run() -> None:
    exercise = parse_exercise(
        notebook(code("x = 1", ["answer"], "loop"), code("assert x", ["test"], "t"), limits={"cell_seconds": 1})
    )
    grader = Grader(SandboxSettings(limits=TEST_LIMITS, preload=("numpy",)))
    outcome = run_answers(grader, exercise, {"loop": "while True:\n    pass"})
    assert outcome.status == "time limit"
    assert_nothing_left(grader.last_session)
