"""Grade a learner's notebook against an instructor's exercise, run cells, or check visible tests.

A submission runs in two sandboxes: the learner's cells in a fresh kernel, then the instructor's
tests in a pristine judge process that reaches learner objects only as data (see _judge_main.py).
Hidden tests never enter the learner's kernel; a breached limit ends the submission with a verdict.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExerciseFormatError, InvalidSubmission, SandboxError, SubmissionEnded
from .exercise import Exercise, ExerciseCell, Test
from .formats import load_notebook, submission_answers
from .judge import SandboxedJudge
from .kernel import SandboxedKernel
from .results import CellOutput, GradeResult, ManualItem, RunResult, TestResult
from .settings import Limits, SandboxSettings

if TYPE_CHECKING:
    from .forkserver import ForkServer
    from .pool import KernelPool

MAX_SUBMISSION_BYTES = 16 * 1024**2
HIDDEN_FAILURE = "a hidden test failed"


@dataclass
class Session:
    """One learner kernel and one judge, for exactly one submission."""

    kernel: SandboxedKernel
    judge: SandboxedJudge
    #: Set once every process, cgroup and directory of the session is gone.
    destroyed: threading.Event = field(default_factory=threading.Event)

    def prioritise(self) -> None:
        """Undo the boot priority of a pool session before it grades."""
        self.kernel.prioritise()
        self.judge.prioritise()

    def destroy(self) -> None:
        try:
            self.kernel.destroy()
        finally:
            self.judge.destroy()
            self.destroyed.set()


def start_session(settings: SandboxSettings, nice: int = 0, forkserver: ForkServer | None = None) -> Session:
    """Start a kernel and a judge side by side (they boot in parallel), at priority ``nice``:
    forked warm from ``forkserver``, or each booted cold in its own bubblewrap.

    Both are spawned from the calling thread: bwrap's --die-with-parent follows the spawning
    thread, so the caller's thread must outlive the session.
    """
    judge = SandboxedJudge(settings, forkserver)
    judge.launch(nice)
    try:
        kernel = SandboxedKernel(settings, forkserver)
        kernel.start(nice)
    except BaseException:
        judge.destroy()
        raise
    try:
        judge.wait_ready()
    except BaseException:
        kernel.destroy()
        raise
    return Session(kernel=kernel, judge=judge)


class Grader:
    """The engine's entry point. ``pool`` gives warm sessions; without it each call boots one."""

    def __init__(self, settings: SandboxSettings | None = None, pool: KernelPool | None = None) -> None:
        self.settings = pool.settings.sandbox if pool is not None else (settings or SandboxSettings())
        self.pool = pool
        #: The last session used, kept (destroyed) so operators and tests can verify cleanup.
        self.last_session: Session | None = None

    @contextmanager
    def session(self, datasets: Path | None = None) -> Iterator[Session]:
        """One session for one submission, with ``datasets`` read-only at /data."""
        if datasets is not None and not datasets.is_dir():
            raise SandboxError(f"datasets directory {datasets} does not exist")
        if self.pool is not None:
            session = self.pool.acquire() if datasets is None else self.pool.acquire(datasets=datasets)
        else:
            settings = self.settings if datasets is None else replace(self.settings, datasets_dir=datasets)
            session = start_session(settings)
        self.last_session = session
        try:
            yield session
        finally:
            if self.pool is not None:
                self.pool.retire(session)  # killed now, reaped in the background
            else:
                session.destroy()

    # -- public API ------------------------------------------------------------------------
    # ``datasets``: the exercise's datasets directory, mounted read-only at /data for the
    # learner's kernel and the judge alike (tests may compute their expectations from the data).
    def grade(
        self, exercise: Exercise, submission: str | bytes | dict[str, Any], *, datasets: Path | None = None
    ) -> GradeResult:
        return self._grade(exercise, submission, visible_only=False, datasets=datasets)

    def check(
        self, exercise: Exercise, submission: str | bytes | dict[str, Any], *, datasets: Path | None = None
    ) -> GradeResult:
        """Visible tests only, as the learner sees them (the "Check" button)."""
        return self._grade(exercise, submission, visible_only=True, datasets=datasets)

    def run(self, cells: Sequence[str], *, setup: Sequence[str] = (), datasets: Path | None = None) -> RunResult:
        """Execute cells without grading; outputs are capped and images come back as PNG."""
        started = time.monotonic()
        limits = self.settings.limits
        result = RunResult(status="ok")
        with self.session(datasets) as session:
            deadline = time.monotonic() + limits.submission_seconds
            try:
                for code in setup:
                    _execute_learner(session.kernel, code, limits, deadline)
                for code in cells:
                    result.cells.append(_execute_learner(session.kernel, code, limits, deadline).outputs)
            except SubmissionEnded as ended:
                result.status, result.detail = ended.verdict, ended.detail
        result.duration_ms = int((time.monotonic() - started) * 1000)
        return result

    # -- grading ---------------------------------------------------------------------------
    def _grade(
        self,
        exercise: Exercise,
        submission: str | bytes | dict[str, Any],
        *,
        visible_only: bool,
        datasets: Path | None = None,
    ) -> GradeResult:
        started = time.monotonic()
        tests = [_visible(t) for t in exercise.tests if not t.hidden] if visible_only else list(exercise.tests)
        max_score = round(sum(t.points for t in tests) + sum(m.max_points for m in exercise.manual), 6)
        try:
            answers = _read_answers(exercise, submission)
        except InvalidSubmission as exc:
            return GradeResult(
                "invalid submission",
                0.0,
                max_score,
                detail=str(exc),
                tests=[_not_run(t, "invalid submission") for t in tests],
                manual=_manual(exercise, {}),
            )
        limits = _limits_for(exercise, self.settings.limits)
        results: list[TestResult] = []
        outputs: list[list[CellOutput]] = []
        status, detail = "graded", ""
        running_cell: int | None = None
        running_test = ""
        with self.session(datasets) as session:
            # The learner's time starts with their session, not while waiting for a warm one.
            deadline = time.monotonic() + limits.submission_seconds
            try:
                # The judge sets up while the learner's cells run (it needs nothing from them).
                setup_deadline = _send_to_judge(session, exercise, tests, limits, deadline)
                program = _learner_program(exercise, answers)
                for number, (position, code) in enumerate(program, start=1):
                    running_cell, last = position, number == len(program)
                    outputs.append(_execute_learner(session.kernel, code, limits, deadline, last).outputs)
                running_cell = None
                if not program:
                    session.kernel.start_agent()
                _converse(session, setup_deadline)
                for test in tests:
                    running_test = test.id
                    reply = _converse(session, min(deadline, time.monotonic() + limits.cell_seconds))
                    results.append(_test_result(test, reply))
                running_test = ""
            except SubmissionEnded as ended:
                status, detail = ended.verdict, ended.detail
        done = {r.id for r in results}
        results += [_not_run(t, status) for t in tests if t.id not in done]
        _apply_all_or_nothing(exercise, results)
        score = round(sum(r.points for r in results), 6)
        return GradeResult(
            status=status,
            score=score,
            max_score=max_score,
            tests=results,
            manual=_manual(exercise, answers),
            detail=detail,
            duration_ms=int((time.monotonic() - started) * 1000),
            outputs=outputs,
            ended_in_cell=running_cell,
            ended_in_test=running_test,
        )


def _read_answers(exercise: Exercise, submission: str | bytes | dict[str, Any]) -> dict[str, str]:
    if isinstance(submission, dict):
        text: str | bytes = json.dumps(submission)
    else:
        text = submission
    if len(text) > MAX_SUBMISSION_BYTES:
        raise InvalidSubmission(f"the notebook is larger than {MAX_SUBMISSION_BYTES} bytes")
    try:
        nb = load_notebook(text, "submission")
    except ExerciseFormatError as exc:
        raise InvalidSubmission(str(exc)) from None
    return submission_answers(exercise, nb)


def _learner_program(exercise: Exercise, answers: dict[str, str]) -> list[tuple[int, str]]:
    """The code the kernel runs: instructor context cells plus the learner's answers, in order,
    each with its position in ``exercise.cells``."""
    program: list[tuple[int, str]] = []
    for position, cell in enumerate(exercise.cells):
        if cell.cell_type != "code" or cell.role in ("text", "test"):
            continue
        program.append((position, _learner_text(cell, answers)))
    return [(position, code) for position, code in program if code.strip()]


def _learner_text(cell: ExerciseCell, answers: dict[str, str]) -> str:
    if cell.role in ("answer", "manual"):
        return answers.get(cell.key, cell.released)
    return cell.source


def _limits_for(exercise: Exercise, limits: Limits) -> Limits:
    """Exercises may tighten the time limits, never loosen them."""
    cell = min(limits.cell_seconds, exercise.limits.get("cell_seconds", limits.cell_seconds))
    total = min(limits.submission_seconds, exercise.limits.get("submission_seconds", limits.submission_seconds))
    return replace(limits, cell_seconds=cell, submission_seconds=total)


def _execute_learner(
    kernel: SandboxedKernel, code: str, limits: Limits, deadline: float, then_start_agent: bool = False
) -> Any:
    timeout = min(limits.cell_seconds, deadline - time.monotonic())
    if timeout <= 0:
        raise SubmissionEnded("time limit", "the submission ran longer than its limit")
    run = kernel.execute(code, timeout=timeout, then_start_agent=then_start_agent)
    breach = run.breach()
    if breach is not None:
        raise SubmissionEnded(breach, f"{run.error.ename}: {run.error.evalue}" if run.error else "")
    return run


def _send_to_judge(session: Session, exercise: Exercise, tests: list[Test], limits: Limits, deadline: float) -> float:
    """Send the setup and every test in one message; return the deadline for the setup."""
    session.judge.send(
        {
            "op": "grade",
            "setup": exercise.judge_setup,
            "answer_names": sorted(exercise.answer_names),
            "reference": list(exercise.reference_code),
            "tests": [
                {"kind": test.kind, "code": test.code, "hidden_lines": [list(r) for r in test.hidden_lines]}
                for test in tests
            ],
        }
    )
    return min(deadline, time.monotonic() + max(limits.cell_seconds, 30.0))


def _test_result(test: Test, reply: dict[str, Any]) -> TestResult:
    passed = reply.get("passed") is True
    message = str(reply.get("message", ""))
    if test.hidden or reply.get("hidden_failure"):
        message = "" if passed else HIDDEN_FAILURE
    elif passed:
        message = test.success_message
    elif test.failure_message:
        message = f"{test.failure_message}\n{message}".strip()
    return TestResult(
        id=test.id,
        name=test.name,
        points=test.points if passed else 0.0,
        max_points=test.points,
        passed=passed,
        hidden=test.hidden,
        message=message[:4000],
    )


def _converse(session: Session, deadline: float) -> dict[str, Any]:
    """Relay the judge's requests to the kernel's agent until the judge sends something else."""
    while True:
        message = session.judge.receive(deadline)
        if message.get("op") != "rpc":
            return message
        session.judge.send(session.kernel.ask_agent(message.get("req"), deadline))


def _visible(test: Test) -> Test:
    return replace(test, code=test.visible_code, hidden_lines=())


def _not_run(test: Test, status: str) -> TestResult:
    return TestResult(test.id, test.name, 0.0, test.points, False, test.hidden, f"not run: {status}")


def _apply_all_or_nothing(exercise: Exercise, results: list[TestResult]) -> None:
    for question in exercise.questions:
        if not question.all_or_nothing:
            continue
        ids = {t.id for t in exercise.tests if t.question == question.name}
        members = [r for r in results if r.id in ids]
        if any(not r.passed for r in members):
            for result in members:
                result.points = 0.0


def _manual(exercise: Exercise, answers: dict[str, str]) -> list[ManualItem]:
    return [ManualItem(m.id, m.name, m.max_points, answers.get(m.answer_key, "")[:20000]) for m in exercise.manual]
