"""The one typed exercise model that native, nbgrader and Otter notebooks are parsed into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CellRole = Literal["text", "context", "setup", "answer", "test", "manual"]
TestKind = Literal["assert", "output", "doctest"]


@dataclass(frozen=True)
class Test:
    """An autograded test, always taken from the instructor's notebook.

    ``kind`` says how it passes: ``assert`` (runs without raising), ``output`` (prints and shows
    the same as the instructor's solution does, Otter's doctest semantics) or ``doctest``
    (expected output written in the test, Otter's generated format).
    """

    id: str
    name: str
    points: float
    hidden: bool
    code: str
    kind: TestKind = "assert"
    #: Line ranges (1-based, inclusive) of ``code`` that learners must never see.
    hidden_lines: tuple[tuple[int, int], ...] = ()
    question: str = ""
    success_message: str = ""
    failure_message: str = ""

    @property
    def visible_code(self) -> str:
        if self.hidden:
            return ""
        lines = self.code.splitlines()
        keep = [
            line
            for number, line in enumerate(lines, start=1)
            if not any(start <= number <= end for start, end in self.hidden_lines)
        ]
        return "\n".join(keep)


@dataclass(frozen=True)
class ManualQuestion:
    id: str
    name: str
    max_points: float
    answer_key: str = ""


@dataclass(frozen=True)
class Question:
    """Otter-style grouping: ``all_or_nothing`` zeroes a question unless every test passes."""

    name: str
    all_or_nothing: bool = False


@dataclass(frozen=True)
class ExerciseCell:
    role: CellRole
    cell_type: str
    #: The instructor's full text (solutions and hidden tests included).
    source: str
    #: What learners get in the released notebook.
    released: str
    #: Matches answer cells of a submission to this cell.
    key: str = ""
    test_ids: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    format: str
    cells: tuple[ExerciseCell, ...]
    tests: tuple[Test, ...]
    manual: tuple[ManualQuestion, ...] = ()
    questions: tuple[Question, ...] = ()
    title: str = ""
    hints: tuple[str, ...] = ()
    limits: dict[str, float] = field(default_factory=dict)
    #: Imports and setup code the judge runs before tests (instructor code only).
    judge_setup: str = ""
    #: Names bound by the instructor's answer cells: tests always read them from the learner.
    answer_names: frozenset[str] = frozenset()
    #: Instructor code that yields the reference namespace for ``output`` tests.
    reference_code: tuple[str, ...] = ()

    @property
    def max_score(self) -> float:
        return round(sum(t.points for t in self.tests) + sum(m.max_points for m in self.manual), 6)

    def answer_cells(self) -> list[ExerciseCell]:
        return [c for c in self.cells if c.role in ("answer", "manual") and c.key]
