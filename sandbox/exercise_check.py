"""The authoring self-check of an instructor notebook, run through the real sandbox.

An exercise is fit for learners only when three things hold:

1. the instructor's solution passes every autograded test (full marks);
2. the released starter code does not (learners must have something to do);
3. the released notebook carries no solution text and no hidden test.

The result names the notebook cell (0-based, as the format errors do) and the test that failed, so
the author knows what to fix. Infrastructure failures (a kernel that will not start, a sandbox that
cannot be trusted) are raised, never reported as a verdict on the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import ExerciseFormatError
from .formats import load_notebook, parse_exercise, source_of
from .release import release_notebook

if TYPE_CHECKING:
    from .exercise import Exercise, ExerciseCell
    from .grader import Grader

Problem = Literal["", "invalid", "no-tests", "solution-fails", "solution-stops", "starter-passes", "leak"]


@dataclass(frozen=True)
class CheckOutcome:
    """``problem`` is empty when the notebook passed; otherwise ``cell``/``test`` say where."""

    problem: Problem = ""
    #: 0-based index of the notebook cell at fault, or None when it has no cell (Otter metadata tests).
    cell: int | None = None
    test: str = ""
    detail: str = ""

    @property
    def passed(self) -> bool:
        return not self.problem


def check_exercise(
    grader: Grader, notebook: dict[str, Any], fmt: str = "auto", *, datasets: Path | None = None
) -> CheckOutcome:
    """Grade the solution and the starter, and look for leaks; the first problem found is returned.

    ``datasets`` is mounted read-only at /data for both gradings, as for learners' submissions.
    """
    try:
        exercise = parse_exercise(_dumps(notebook), fmt)
    except ExerciseFormatError as error:
        return CheckOutcome("invalid", detail=str(error))
    if not exercise.tests:
        return CheckOutcome("no-tests", detail="no autograded test: the platform could never score an answer")
    cells = load_notebook(_dumps(notebook))["cells"]
    release = release_notebook(exercise, notebook.get("metadata"))

    leak = find_leak(exercise, release, cells)
    if leak is not None:
        return leak

    solved = grader.grade(exercise, notebook, datasets=datasets)
    if solved.status == "invalid submission":  # too large to grade, say
        return CheckOutcome("invalid", detail=solved.detail)
    if solved.status != "graded":
        # A limit ended the grading (time, memory, output) or the kernel died: name what was running
        # (with the submission's whole time spent, the cell or test that was about to start).
        if solved.ended_in_test:
            cell = _test_cell(exercise, solved.ended_in_test, cells)
        elif solved.ended_in_cell is not None:
            cell = _cell_index(exercise.cells[solved.ended_in_cell], cells)
        else:
            cell = None
        detail = f"{solved.status}: {solved.detail}".strip(": ")
        return CheckOutcome("solution-stops", cell=cell, test=solved.ended_in_test, detail=detail)
    for result in solved.tests:
        if not result.passed:
            return CheckOutcome(
                "solution-fails", cell=_test_cell(exercise, result.id, cells), test=result.id, detail=result.message
            )

    starter = grader.grade(exercise, release, datasets=datasets)
    autograded = round(sum(t.points for t in exercise.tests), 6)
    earned = round(sum(r.points for r in starter.tests), 6)
    if starter.status == "graded" and earned >= autograded:
        answer = next((c for c in exercise.cells if c.role == "answer"), None)
        return CheckOutcome(
            "starter-passes",
            cell=_cell_index(answer, cells) if answer is not None else None,
            detail=f"the starter code scores {earned:g} of {autograded:g}",
        )
    return CheckOutcome()


#: A solution line at least this long (spaces collapsed) is taken to be the author's own, not
#: boilerplate such as ``return 0.0`` that a visible cell may repeat by chance. Measured on the
#: fixture, test and course notebooks: no solution line of 11 characters or more appears elsewhere.
DISTINCTIVE_LINE_CHARS = 20


def _distinctive(line: str) -> bool:
    text = " ".join(line.split())
    if len(text) < DISTINCTIVE_LINE_CHARS or text.startswith(("#", "import ", "from ")):
        return False
    return text.strip("\"'") != ""  # a docstring's quotes alone


def find_leak(exercise: Exercise, release: dict[str, Any], cells: list[dict[str, Any]]) -> CheckOutcome | None:
    """A solution or hidden test that the released notebook shows is a leak.

    The release is rebuilt from the parsed exercise, so a leak means the author's own visible cells
    repeat what learners must not see, or a dialect's markers were misread. A solution leaks when
    every line of it is shown, or any one distinctive line (see ``DISTINCTIVE_LINE_CHARS``); a
    hidden test only when every line is shown, since hidden tests routinely repeat a visible setup
    line (``report = group_report(y_true, y_pred, groups)`` in the course notebooks).
    """
    released_lines = {line.strip() for cell in release["cells"] for line in source_of(cell).splitlines()}
    released_lines.discard("")

    def leaked(lines: list[str]) -> bool:
        meaningful = [line.strip() for line in lines if len(line.strip()) > 3]
        return bool(meaningful) and all(line in released_lines for line in meaningful)

    for cell in exercise.cells:
        if cell.role not in ("answer", "manual") or not cell.key:
            continue
        own = {line.strip() for line in cell.released.splitlines()}
        solution = [line for line in cell.source.splitlines() if line.strip() not in own]
        shown = next((line.strip() for line in solution if _distinctive(line) and line.strip() in released_lines), "")
        if leaked(solution) or shown:
            where = _showing_cell(exercise, shown, cells) if shown else None
            detail = "the released notebook shows the solution"
            if shown:
                detail += f": {shown!r}" + (f" is also in cell {where}" if where is not None else "")
            return CheckOutcome("leak", cell=_cell_index(cell, cells), detail=detail)
    for test in exercise.tests:
        lines = test.code.splitlines()
        hidden = (
            lines
            if test.hidden
            else [line for start, end in test.hidden_lines for line in lines[start - 1 : end][1:-1]]
        )
        if leaked(hidden):
            return CheckOutcome(
                "leak",
                cell=_test_cell(exercise, test.id, cells),
                test=test.id,
                detail="the released notebook shows a hidden test",
            )
    return None


def _showing_cell(exercise: Exercise, line: str, cells: list[dict[str, Any]]) -> int | None:
    """The instructor's cell whose released text shows ``line``."""
    shown = next((c for c in exercise.cells if line in {x.strip() for x in c.released.splitlines()}), None)
    return _cell_index(shown, cells)


def _dumps(notebook: dict[str, Any]) -> str:
    import json

    return json.dumps(notebook)


def _test_cell(exercise: Exercise, test_id: str, cells: list[dict[str, Any]]) -> int | None:
    cell = next((c for c in exercise.cells if test_id in c.test_ids), None)
    return _cell_index(cell, cells) if cell is not None else None


def _cell_index(cell: ExerciseCell | None, cells: list[dict[str, Any]]) -> int | None:
    """Where a parsed cell sits in the instructor's notebook (parsers keep text, not positions)."""
    if cell is None:
        return None
    for index, raw in enumerate(cells):
        if source_of(raw) == cell.source:
            return index
    first = next((line for line in cell.source.splitlines() if line.strip()), None)
    for index, raw in enumerate(cells):
        if first is not None and first in source_of(raw).splitlines():
            return index
    return None
