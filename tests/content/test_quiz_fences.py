"""Every ```quiz block in content/ follows the rules agreed for quizzes, in every language.

The quiz loader lives on another branch; these checks read the files directly so that authors
learn about a broken quiz before the loader refuses it. The rules are those of the content spec:
a known kind; 2–8 options for single/multiple; exactly one correct option for single and at
least one for multiple; numeric needs an answer, text a non-empty accept list; ids unique in the
course; and in every language the same ids, kinds, points, option count, correct flags, answer and
tolerance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from django.conf import settings

CONTENT_COURSES = Path(settings.BASE_DIR) / "content" / "courses"
LANGUAGES = [code for code, _name in settings.LANGUAGES]
KINDS = {"single", "multiple", "numeric", "text"}
QUIZ_OPEN = re.compile(r"^```quiz\s*$")
ANY_FENCE_OPEN = re.compile(r"^```[\w+-]*\s*$")


@dataclass
class Quiz:
    where: str  # "path:line" of the opening fence, for error messages
    data: dict


def quizzes_in(path: Path) -> list[Quiz]:
    """The quiz blocks of a lesson file, parsed; other fenced blocks are skipped whole."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        if ANY_FENCE_OPEN.match(lines[index]):
            is_quiz = bool(QUIZ_OPEN.match(lines[index]))
            start = index
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                index += 1
            assert index < len(lines), f"{path}:{start + 1}: fenced block is not closed with ```"
            if is_quiz:
                where = f"{path}:{start + 1}"
                try:
                    data = yaml.safe_load("\n".join(lines[start + 1 : index]))
                except yaml.YAMLError as error:
                    pytest.fail(f"{where}: quiz body is not valid YAML: {error}")
                assert isinstance(data, dict), f"{where}: quiz body must be a YAML mapping"
                found.append(Quiz(where, data))
        index += 1
    return found


def check_one(quiz: Quiz) -> None:
    data, where = quiz.data, quiz.where
    assert isinstance(data.get("id"), str) and data["id"].strip(), f"{where}: quiz needs an id"
    kind = data.get("kind")
    assert kind in KINDS, f"{where}: unknown kind {kind!r}; use one of {sorted(KINDS)}"
    points = data.get("points", 1)
    assert isinstance(points, int) and not isinstance(points, bool) and points > 0, f"{where}: points must be > 0"
    assert isinstance(data.get("question"), str) and data["question"].strip(), f"{where}: quiz needs a question"
    if kind in ("single", "multiple"):
        options = data.get("options")
        assert isinstance(options, list) and 2 <= len(options) <= 8, f"{where}: {kind} needs 2–8 options"
        for option in options:
            assert isinstance(option, dict) and str(option.get("text", "")).strip(), f"{where}: option without text"
            assert option.get("correct", False) in (True, False), f"{where}: correct must be true or false"
        correct = sum(1 for option in options if option.get("correct"))
        if kind == "single":
            assert correct == 1, f"{where}: a single-choice quiz needs exactly one correct option, has {correct}"
        else:
            assert correct >= 1, f"{where}: a multiple-choice quiz needs at least one correct option"
    elif kind == "numeric":
        answer = data.get("answer")
        assert isinstance(answer, int | float) and not isinstance(answer, bool), f"{where}: numeric needs an answer"
        tolerance = data.get("tolerance", 0)
        assert isinstance(tolerance, int | float) and tolerance >= 0, f"{where}: tolerance must be a number ≥ 0"
    else:
        accept = data.get("accept")
        assert isinstance(accept, list) and accept, f"{where}: text needs a non-empty accept list"
        assert all(isinstance(item, str) and item.strip() for item in accept), f"{where}: empty accepted answer"


def signature(data: dict) -> tuple:
    """What must be identical in every language of a quiz."""
    options = data.get("options") or []
    return (
        data.get("kind"),
        data.get("points", 1),
        len(options),
        tuple(bool(option.get("correct")) for option in options),
        data.get("answer"),
        data.get("tolerance", 0),
    )


def lesson_dirs(course_dir: Path) -> list[Path]:
    return sorted({path.parent for path in course_dir.rglob("*.md") if path.stem in LANGUAGES})


COURSES = sorted(path for path in CONTENT_COURSES.iterdir() if (path / "course.yaml").is_file())


def check_course(course_dir: Path) -> None:
    """Every quiz of a course follows the rules, and each language agrees with the source language."""
    spec = yaml.safe_load((course_dir / "course.yaml").read_text(encoding="utf-8")) or {}
    source_code = spec.get("source_language", "en")
    ids_in_course: dict[str, Path] = {}
    for lesson in lesson_dirs(course_dir):
        per_language = {
            code: quizzes_in(lesson / f"{code}.md") for code in LANGUAGES if (lesson / f"{code}.md").exists()
        }
        for quizzes in per_language.values():
            for quiz in quizzes:
                check_one(quiz)
        source = per_language.get(source_code) or next(iter(per_language.values()))
        source_ids = [quiz.data["id"] for quiz in source]
        assert len(set(source_ids)) == len(source_ids), f"{lesson}: a quiz id is repeated in one lesson"
        for quiz_id in source_ids:
            assert quiz_id not in ids_in_course, (
                f"{lesson}: quiz id {quiz_id!r} is also used in {ids_in_course[quiz_id]}"
            )
            ids_in_course[quiz_id] = lesson
        for code, quizzes in per_language.items():
            assert [quiz.data["id"] for quiz in quizzes] == source_ids, (
                f"{lesson}/{code}.md: quiz ids differ from {source_code}"
            )
            for quiz, original in zip(quizzes, source, strict=True):
                assert signature(quiz.data) == signature(original.data), (
                    f"{quiz.where}: kind, points, options, correct flags, answer or tolerance differ from {source_code}"
                )


@pytest.mark.parametrize("course_dir", COURSES, ids=lambda path: path.name)
def test_quizzes_follow_the_rules_and_agree_across_languages(course_dir):
    check_course(course_dir)


SINGLE = (
    '```quiz\nid: {id}\nkind: single\nquestion: "Q"\noptions:\n'
    '  - text: "A"\n    correct: {a}\n  - text: "B"\n    correct: {b}\n```\n'
)


def test_the_checks_catch_a_broken_quiz(tmp_path):
    lesson = tmp_path / "en.md"
    lesson.write_text('---\ntitle: "T"\n---\n```python\nx = 1\n```\n' + SINGLE.format(id="q1", a="true", b="true"))
    [quiz] = quizzes_in(lesson)
    assert quiz.where.endswith(":7")
    with pytest.raises(AssertionError, match="exactly one correct"):
        check_one(quiz)
    quiz.data.update(kind="text", accept=[])
    with pytest.raises(AssertionError, match="non-empty accept"):
        check_one(quiz)
    quiz.data.update(kind="numeric")
    with pytest.raises(AssertionError, match="numeric needs an answer"):
        check_one(quiz)


def write_course(tmp_path: Path, lessons: dict[str, dict[str, str]]) -> Path:
    course = tmp_path / "course"
    course.mkdir(parents=True)
    (course / "course.yaml").write_text("slug: course\nsource_language: en\n")
    for lesson, files in lessons.items():
        (course / "module" / lesson).mkdir(parents=True)
        for code, quiz in files.items():
            (course / "module" / lesson / f"{code}.md").write_text('---\ntitle: "T"\n---\n' + quiz)
    return course


def test_the_checks_catch_languages_that_disagree_and_repeated_ids(tmp_path):
    good, flipped = SINGLE.format(id="q1", a="true", b="false"), SINGLE.format(id="q1", a="false", b="true")
    check_course(write_course(tmp_path / "ok", {"l1": {"en": good, "fr": good}}))
    with pytest.raises(AssertionError, match="correct flags"):
        check_course(write_course(tmp_path / "flags", {"l1": {"en": good, "fr": flipped}}))
    with pytest.raises(AssertionError, match="quiz ids differ"):
        check_course(write_course(tmp_path / "ids", {"l1": {"en": good, "fr": good.replace("q1", "q2")}}))
    with pytest.raises(AssertionError, match="also used in"):
        check_course(write_course(tmp_path / "repeat", {"l1": {"en": good}, "l2": {"en": good}}))
