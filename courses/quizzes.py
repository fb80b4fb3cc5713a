"""Quizzes: the rules a quiz must follow, and grading a learner's answer. Free of the database.

The same rules serve the content loader (a ```quiz fence in a lesson file, documented in
content/README.md) and the Wagtail admin (QuizBlock.clean), so a quiz cannot be valid in one and
refused by the other. Grading happens only on the server: the block never renders the correct
flags, the expected number or the accepted texts before the learner has answered.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

KINDS = ("single", "multiple", "numeric", "text")
MIN_OPTIONS, MAX_OPTIONS = 2, 8
QUIZ_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
MAX_TEXT_ANSWER = 200
KNOWN_KEYS = {"id", "kind", "points", "question", "options", "answer", "tolerance", "accept", "explanation"}


class QuizSpecError(ValueError):
    """A quiz that breaks a rule. `key` names the offending field, so the loader can point at its line."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise QuizSpecError(f"{key} must be a number", key)
    return float(value)


def validate_quiz(spec: dict[str, Any]) -> None:
    """Raise QuizSpecError naming the first rule the quiz breaks (values as in the StreamField)."""
    quiz_id = spec.get("quiz_id")
    if not isinstance(quiz_id, str) or not QUIZ_ID.match(quiz_id):
        raise QuizSpecError("id must be lowercase letters, digits, '-' or '_' (at most 80)", "id")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise QuizSpecError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}", "kind")
    points = spec.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= 1000:
        raise QuizSpecError("points must be a whole number from 1 to 1000", "points")
    if not str(spec.get("question") or "").strip():
        raise QuizSpecError("question is missing", "question")
    options = spec.get("options") or []
    if kind in ("single", "multiple"):
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise QuizSpecError(
                f"{kind} choice needs {MIN_OPTIONS} to {MAX_OPTIONS} options, not {len(options)}", "options"
            )
        for number, option in enumerate(options, start=1):
            if not str(option.get("text") or "").strip():
                raise QuizSpecError(f"option {number} has no text", "options")
        correct = sum(1 for option in options if option.get("correct"))
        if kind == "single" and correct != 1:
            raise QuizSpecError(f"single choice needs exactly one correct option, not {correct}", "options")
        if kind == "multiple" and correct < 1:
            raise QuizSpecError("multiple choice needs at least one correct option", "options")
    elif options:
        raise QuizSpecError(f"a {kind} quiz has no options", "options")
    if kind == "numeric":
        if spec.get("answer") is None:
            raise QuizSpecError("a numeric quiz needs an answer", "answer")
        _number(spec["answer"], "answer")
        if _number(spec.get("tolerance") or 0, "tolerance") < 0:
            raise QuizSpecError("tolerance cannot be negative", "tolerance")
    if kind == "text":
        accepted = [str(item) for item in spec.get("accept") or [] if str(item).strip()]
        if not accepted:
            raise QuizSpecError("a text quiz needs a non-empty accept list", "accept")


def shared_signature(spec: dict[str, Any]) -> dict[str, Any]:
    """What every language's version of a quiz must agree on: only the texts may differ."""
    return {
        "kind": spec.get("kind"),
        "points": spec.get("points", 1),
        "options": len(spec.get("options") or []),
        "correct": [bool(option.get("correct")) for option in spec.get("options") or []],
        "answer": spec.get("answer"),
        "tolerance": spec.get("tolerance") or 0,
    }


# -- grading ----------------------------------------------------------------------------------


class QuizAnswerError(ValueError):
    """The learner's input cannot be graded; the message says what to do, and nothing is recorded."""


@dataclass(frozen=True)
class QuizGrade:
    correct: bool
    score: float
    max_score: float
    # The answer as stored: chosen option numbers (0-based), the number read, or the text typed.
    answer: Any


def normalise_text(text: str) -> str:
    """Compare texts the way people mean them: NFKC, case-folded, runs of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# Decimal separators learners type: the Arabic decimal separator, and a lone comma (0,25 in French).
ARABIC_DECIMAL, ARABIC_THOUSANDS = "\u066b", "\u066c"


def parse_number(raw: str) -> float:
    text = unicodedata.normalize("NFKC", raw).strip().replace(ARABIC_DECIMAL, ".").replace(ARABIC_THOUSANDS, "")
    text = text.replace("\u2212", "-").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    try:
        # float() reads any Unicode decimal digits, so Arabic-Indic digits (٠٫٢٥) work too.
        value = float(text)
    except ValueError:
        raise QuizAnswerError(_("Enter a number, for example 0.25.")) from None
    if not math.isfinite(value) or len(text) > 40:
        raise QuizAnswerError(_("Enter a number, for example 0.25."))
    return value


def grade_quiz(spec: dict[str, Any], raw: list[str]) -> QuizGrade:
    """Grade the values a form posted for one quiz. Raises QuizAnswerError for input that is not an answer."""
    kind = spec["kind"]
    points = float(spec.get("points") or 1)
    if kind in ("single", "multiple"):
        options = spec.get("options") or []
        chosen: set[int] = set()
        for value in raw:
            if not value.isascii() or not value.isdigit() or int(value) >= len(options):
                raise QuizAnswerError(_("That choice is not one of this question's options."))
            chosen.add(int(value))
        if not chosen:
            raise QuizAnswerError(_("Choose an answer first."))
        if kind == "single" and len(chosen) > 1:
            raise QuizAnswerError(_("Choose only one answer."))
        expected = {index for index, option in enumerate(options) if option.get("correct")}
        correct = chosen == expected
        return QuizGrade(correct, points if correct else 0.0, points, sorted(chosen))
    text = raw[0] if len(raw) == 1 else ""
    if len(raw) > 1:
        raise QuizAnswerError(_("Send one answer only."))
    if not text.strip():
        raise QuizAnswerError(_("Type an answer first."))
    if len(text) > MAX_TEXT_ANSWER:
        raise QuizAnswerError(_("The answer is too long: at most 200 characters."))
    if kind == "numeric":
        value = parse_number(text)
        expected = float(spec["answer"])
        tolerance = float(spec.get("tolerance") or 0)
        # A relative epsilon so that 0.1 + 0.2 is 0.3 and binary rounding never fails a right answer.
        correct = abs(value - expected) <= tolerance + 1e-9 * max(1.0, abs(expected))
        return QuizGrade(correct, points if correct else 0.0, points, value)
    accepted = {normalise_text(str(item)) for item in spec.get("accept") or []}
    correct = normalise_text(text) in accepted
    return QuizGrade(correct, points if correct else 0.0, points, text.strip())
