"""Run a learner's answer cells in a sandboxed kernel without grading (the "Run" button).

The kernel runs what a graded submission would run in its learner phase: the instructor's setup
and context cells and the learner's answers, in notebook order. No test, hidden or visible, and no
judge is involved; the outputs of each answer cell come back keyed by the cell's answer key.
Like Jupyter's "run all", the run stops at the first uncaught error.

Outputs are what the kernel layer keeps (``CellOutput``): text/plain, streams, errors with
ANSI-free tracebacks and PNG images. HTML, SVG, JavaScript and Markdown representations are
never kept, so a display object that carries them shows as its plain-text form.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import SubmissionEnded
from .exercise import Exercise
from .grader import Grader
from .kernel import SandboxedKernel
from .results import CellOutput
from .settings import Limits

#: ``RunOutcome.status`` when every cell ran (errors included: they are the learner's output).
RAN = "ran"
#: ``RunOutcome.status`` when a cell raised and the cells after it were not run.
STOPPED = "stopped at an error"


@dataclass
class RunCell:
    """One learner answer cell: its key in the exercise and what it printed or showed."""

    key: str
    outputs: list[CellOutput] = field(default_factory=list)
    ran: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "ran": self.ran, "outputs": [output.to_dict() for output in self.outputs]}


@dataclass
class RunOutcome:
    """``status`` is ``ran``, ``stopped at an error``, or the verdict that ended the run
    (``time limit``, ``memory limit``, ``output limit``, ``crashed``, ...)."""

    status: str
    cells: list[RunCell] = field(default_factory=list)
    #: Errors raised by the instructor's own cells (setup or context), which have no answer key.
    instructor_errors: list[CellOutput] = field(default_factory=list)
    detail: str = ""
    duration_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "cells": [cell.to_dict() for cell in self.cells],
            "instructor_errors": [error.to_dict() for error in self.instructor_errors],
            "detail": self.detail,
            "duration_ms": self.duration_ms,
        }


@dataclass(frozen=True)
class _Step:
    code: str
    key: str  # "" for the instructor's cells


def run_answers(
    grader: Grader, exercise: Exercise, answers: Mapping[str, str], *, datasets: Path | None = None
) -> RunOutcome:
    """Execute ``answers`` (answer key -> code) in a fresh session of ``grader``'s pool, with
    ``datasets`` (the exercise's datasets directory) read-only at /data.

    Keys the exercise does not have are ignored; answer cells without an answer run their
    released starter code, as in a graded submission.
    """
    started = time.monotonic()
    steps = _program(exercise, answers)
    outcome = RunOutcome(status=RAN, cells=[RunCell(key=step.key) for step in steps if step.key])
    by_key = {cell.key: cell for cell in outcome.cells}
    limits = _limits_for(exercise, grader.settings.limits)
    with grader.session(datasets) as session:
        # The learner's time starts with their session, not while waiting for a warm one.
        deadline = time.monotonic() + limits.submission_seconds
        try:
            for step in steps:
                if not step.code.strip():
                    if step.key:
                        by_key[step.key].ran = True
                    continue
                run = _execute(session.kernel, step.code, limits, deadline)
                if step.key:
                    cell = by_key[step.key]
                    cell.ran = True
                    cell.outputs = run.outputs
                elif run.error is not None:
                    outcome.instructor_errors.append(run.error)
                if run.error is not None:
                    outcome.status = STOPPED
                    break
        except SubmissionEnded as ended:
            outcome.status, outcome.detail = ended.verdict, ended.detail
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


def _program(exercise: Exercise, answers: Mapping[str, str]) -> list[_Step]:
    """What the learner phase of a graded submission runs, with each answer cell's key."""
    steps: list[_Step] = []
    for cell in exercise.cells:
        if cell.cell_type != "code" or cell.role in ("text", "test"):
            continue
        if cell.role in ("answer", "manual") and cell.key:
            steps.append(_Step(code=str(answers.get(cell.key, cell.released)), key=cell.key))
        elif cell.role not in ("answer", "manual"):
            steps.append(_Step(code=cell.source, key=""))
    return steps


def _limits_for(exercise: Exercise, limits: Limits) -> Limits:
    """Exercises may tighten the time limits, never loosen them (as for grading)."""
    cell = min(limits.cell_seconds, exercise.limits.get("cell_seconds", limits.cell_seconds))
    total = min(limits.submission_seconds, exercise.limits.get("submission_seconds", limits.submission_seconds))
    return replace(limits, cell_seconds=cell, submission_seconds=total)


def _execute(kernel: SandboxedKernel, code: str, limits: Limits, deadline: float) -> Any:
    timeout = min(limits.cell_seconds, deadline - time.monotonic())
    if timeout <= 0:
        raise SubmissionEnded("time limit", "the run took longer than its limit")
    run = kernel.execute(code, timeout=timeout)
    breach = run.breach()
    if breach is not None:
        raise SubmissionEnded(breach, f"{run.error.ename}: {run.error.evalue}" if run.error else "")
    return run
