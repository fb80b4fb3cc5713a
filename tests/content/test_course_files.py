"""Checks on every course in content/courses, run on the files themselves (no database, no loader).

They catch what an author or translator most easily gets wrong before the content is loaded:
a missing language file, a page left in English, an exercise fence that points to a notebook
that is not there (or to different notebooks in different languages), and an instructor notebook
whose solution does not score full marks or whose released starter already does. The notebook
checks grade through the real sandbox, exactly as a learner's submission would be graded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from sandbox.formats import load_notebook, parse_exercise
from sandbox.grader import Grader
from sandbox.pool import KernelPool
from sandbox.release import release_notebook
from sandbox.settings import PoolSettings, SandboxSettings

COURSES_DIR = Path(__file__).resolve().parent.parent.parent / "content" / "courses"
LANGUAGES = [code for code, _name in settings.LANGUAGES]
SOURCE = "en"

#: Letters of the script a translation must be written in; Latin letters are the competition.
SCRIPTS = {
    "ar": re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]"),
    "zh-hans": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
}
LATIN = re.compile(r"[A-Za-z]")
#: Translated prose is allowed some Latin (code identifiers, names such as Python, scikit-learn),
#: but most of its letters must be in the language's own script.
MIN_SCRIPT_SHARE = 0.6

FENCE = re.compile(r"^```(?P<kind>[\w+-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK_TARGET = re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
URL = re.compile(r"https?://\S+")
MATH = re.compile(r"^\$\$\n.*?^\$\$$", re.MULTILINE | re.DOTALL)
#: Exercise and quiz texts checked one by one (options may legitimately be the same, e.g. numbers).
FENCE_PROSE_KEYS = ("title", "instructions", "question", "explanation")
#: The keys of exercise and quiz fences whose values are translated text.
TRANSLATED_KEYS = {"title", "instructions", "hints", "question", "text", "feedback", "explanation", "accept"}


def _courses() -> list[Path]:
    return sorted(path.parent for path in COURSES_DIR.glob("*/course.yaml"))


def _course(course_dir: Path) -> dict[str, Any]:
    data = yaml.safe_load((course_dir / "course.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{course_dir}/course.yaml: expected a mapping"
    return data


def _lesson_dirs(course_dir: Path) -> list[Path]:
    course = _course(course_dir)
    return [
        course_dir / module["slug"] / lesson for module in course.get("modules") or [] for lesson in module["lessons"]
    ]


def _split(path: Path) -> tuple[dict[str, Any], str]:
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    assert match, f"{path}: missing front matter"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict), f"{path}: front matter is not a mapping"
    return meta, text[match.end() :]


def _fences(path: Path, body: str) -> list[tuple[str, Any]]:
    """Every ```exercise and ```quiz fence of a lesson body, with its YAML parsed."""
    found = []
    for match in FENCE.finditer(body):
        if match.group("kind") in ("exercise", "quiz"):
            line = body[: match.start()].count("\n") + 1
            try:
                data = yaml.safe_load(match.group("body"))
            except yaml.YAMLError as error:
                pytest.fail(f"{path}: {match.group('kind')} fence at body line {line} is not valid YAML: {error}")
            assert isinstance(data, dict), f"{path}: {match.group('kind')} fence at body line {line} is not a mapping"
            found.append((match.group("kind"), data))
    return found


def _translated_strings(value: Any, key: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _translated_strings(child, str(child_key))
    elif isinstance(value, list):
        for item in value:
            yield from _translated_strings(item, key)
    elif isinstance(value, str) and key in TRANSLATED_KEYS:
        yield value


def _prose(path: Path) -> str:
    """The text a reader sees in a lesson file: front matter text, body without code, fence texts."""
    meta, body = _split(path)
    parts = [str(meta.get("title", "")), str(meta.get("summary", ""))]
    for kind, data in _fences(path, body):
        parts.extend(_translated_strings(data))
        del kind
    without_fences = FENCE.sub("", body)
    without_fences = MATH.sub("", without_fences)
    parts.append(without_fences)
    text = "\n".join(parts)
    for pattern in (INLINE_CODE, LINK_TARGET, URL):
        text = pattern.sub(" ", text)
    return text


def _paragraphs(text: str) -> set[str]:
    return {" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if len(" ".join(p.split())) > 40}


COURSES = _courses()
LESSONS = [lesson for course in COURSES for lesson in _lesson_dirs(course)]
NOTEBOOKS = sorted(path for course in COURSES for path in (course / "exercises").glob("*.ipynb"))


def _id(path: Path) -> str:
    return str(path.relative_to(COURSES_DIR))


def test_there_are_courses():
    assert COURSES, f"no course.yaml under {COURSES_DIR}"
    assert len(LANGUAGES) == 6


@pytest.mark.parametrize("course_dir", COURSES, ids=_id)
def test_course_yaml_is_complete(course_dir):
    course = _course(course_dir)
    assert course["slug"] == course_dir.name
    assert sorted(course["translations"]) == sorted(LANGUAGES)
    for code, text in course["translations"].items():
        assert str(text.get("title", "")).strip(), f"course title missing in {code}"
        assert str(text.get("summary", "")).strip(), f"course summary missing in {code}"
        assert text.get("objectives"), f"course objectives missing in {code}"
    completion = course.get("completion") or {}
    assert "lessons_viewed_percent" in completion
    assert course["modules"], "a course needs modules"
    for module in course["modules"]:
        assert sorted(module["translations"]) == sorted(LANGUAGES), f"module {module['slug']}: languages"
        for code, text in module["translations"].items():
            assert str(text.get("title", "")).strip(), f"module {module['slug']}: title missing in {code}"
        assert module["lessons"], f"module {module['slug']} has no lessons"
        for lesson in module["lessons"]:
            assert (course_dir / module["slug"] / lesson).is_dir(), f"{module['slug']}/{lesson}: folder missing"
    kinds = {kind for lesson in _lesson_dirs(course_dir) for kind, _data in _fences(*_en(lesson))}
    if "exercise_points_percent" in completion:
        assert "exercise" in kinds, "exercise_points_percent is set but no lesson has an exercise"
    if "quiz_points_percent" in completion:
        assert "quiz" in kinds, "quiz_points_percent is set but no lesson has a quiz"


def _en(lesson_dir: Path) -> tuple[Path, str]:
    path = lesson_dir / f"{SOURCE}.md"
    return path, _split(path)[1]


@pytest.mark.parametrize("lesson_dir", LESSONS, ids=_id)
def test_every_language_is_present_with_complete_front_matter(lesson_dir):
    minutes = set()
    for code in LANGUAGES:
        path = lesson_dir / f"{code}.md"
        assert path.is_file(), f"{path} is missing"
        meta, body = _split(path)
        assert str(meta.get("title", "")).strip(), f"{path}: no title"
        assert str(meta.get("summary", "")).strip(), f"{path}: no summary"
        assert isinstance(meta.get("minutes"), int) and meta["minutes"] > 0, f"{path}: minutes"
        assert body.strip(), f"{path}: empty body"
        minutes.add(meta["minutes"])
    assert len(minutes) == 1, f"{lesson_dir}: minutes differ between languages: {sorted(minutes)}"


@pytest.mark.parametrize("lesson_dir", LESSONS, ids=_id)
def test_translations_are_not_left_in_english(lesson_dir):
    english_path = lesson_dir / f"{SOURCE}.md"
    english_meta, _body = _split(english_path)
    english_paragraphs = _paragraphs(_prose(english_path))
    english_fences = _fences(english_path, _split(english_path)[1])
    problems = []
    for path in _translations(lesson_dir):
        code = path.stem
        prose = _prose(path)
        if code in SCRIPTS:
            native = len(SCRIPTS[code].findall(prose))
            latin = len(LATIN.findall(prose))
            share = native / max(native + latin, 1)
            if share < MIN_SCRIPT_SHARE:
                problems.append(f"{path}: only {share:.0%} of its letters are in the {code} script")
        else:
            if _split(path)[0]["title"] == english_meta["title"]:
                problems.append(f"{path}: the title is the English one")
            copied = _paragraphs(prose) & english_paragraphs
            if copied:
                problems.append(f"{path}: {len(copied)} paragraph(s) left in English, e.g. {sorted(copied)[0][:80]!r}")
        # Exercise and quiz texts one by one: a short title left in English hides in a long file.
        fences = _fences(path, _split(path)[1])
        for (kind, data), (_kind, english) in zip(fences, english_fences, strict=False):
            for key in FENCE_PROSE_KEYS:
                value, original = str(data.get(key) or ""), str(english.get(key) or "")
                if code in SCRIPTS:
                    latin = len(LATIN.findall(INLINE_CODE.sub(" ", value)))
                    untranslated = latin >= 12 and not SCRIPTS[code].search(value)
                else:
                    untranslated = len(value) > 20 and value == original
                if untranslated:
                    problems.append(
                        f"{path}: the {key} of {kind} {data.get('id') or data.get('notebook')} is in English"
                    )
    assert not problems, "\n".join(problems)


def _translations(lesson_dir: Path) -> list[Path]:
    """The lesson's files other than the source, those that exist (a missing one fails its own test)."""
    return [lesson_dir / f"{code}.md" for code in LANGUAGES if code != SOURCE and (lesson_dir / f"{code}.md").is_file()]


@pytest.mark.parametrize("lesson_dir", LESSONS, ids=_id)
def test_exercise_fences_name_existing_notebooks_in_every_language(lesson_dir):
    course_dir = lesson_dir.parent.parent
    expected = None
    for path in [lesson_dir / f"{SOURCE}.md", *_translations(lesson_dir)]:
        fences = _fences(path, _split(path)[1])
        notebooks = []
        for kind, data in fences:
            if kind != "exercise":
                continue
            for key in ("notebook", "title", "instructions"):
                assert str(data.get(key, "")).strip(), f"{path}: exercise fence without {key}"
            assert isinstance(data.get("hints", []), list), f"{path}: hints must be a list"
            notebook = (course_dir / data["notebook"]).resolve()
            assert notebook.is_relative_to((course_dir / "exercises").resolve()), f"{path}: {data['notebook']}"
            assert notebook.is_file(), f"{path}: notebook not found: {data['notebook']}"
            notebooks.append(data["notebook"])
        quizzes = [(data.get("id"), data.get("kind")) for kind, data in fences if kind == "quiz"]
        if expected is None:
            expected = (notebooks, quizzes)
        assert (notebooks, quizzes) == expected, f"{path}: exercises or quizzes differ from {SOURCE}.md"


@pytest.mark.parametrize("course_dir", COURSES, ids=_id)
def test_each_notebook_is_used_by_exactly_one_exercise(course_dir):
    used = [
        data["notebook"]
        for lesson in _lesson_dirs(course_dir)
        for kind, data in _fences(*_en(lesson))
        if kind == "exercise"
    ]
    assert len(used) == len(set(used)), f"a notebook is used twice: {used}"
    stored = sorted(f"exercises/{path.name}" for path in (course_dir / "exercises").glob("*.ipynb"))
    assert sorted(used) == stored, "every notebook in exercises/ is placed in exactly one lesson"


@pytest.fixture(scope="module")
def grader() -> Iterator[Grader]:
    # The platform's own limits and warm-start imports: the notebooks must pass as learners meet them.
    with KernelPool(PoolSettings(size=2, sandbox=SandboxSettings(), boot_nice=0)) as pool:
        yield Grader(pool=pool)


@pytest.mark.kernel
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_id)
def test_notebook_solution_scores_full_marks_and_starter_less(notebook, grader):
    raw = notebook.read_bytes()
    exercise = parse_exercise(raw)
    assert exercise.max_score > 0

    solved = grader.grade(exercise, raw)
    failed = [test.name for test in solved.tests if not test.passed]
    assert (solved.status, failed) == ("graded", []), solved.detail
    assert solved.score == solved.max_score == exercise.max_score

    metadata = load_notebook(raw).get("metadata", {})
    starter = release_notebook(exercise, metadata)
    released = grader.grade(exercise, starter)
    assert released.status == "graded", released.detail
    assert released.score < released.max_score
