"""Builders for course content: write content/ files for a course of any shape and load them.

Going through the real loader keeps tests honest about the file format and the page tree.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from courses.content_loader import LoadReport, load_content

ALL_LANGUAGES = ("en", "ar", "es", "fr", "ru", "zh-hans")


def write_course(
    content_dir: Path,
    *,
    slug: str = "test-course",
    modules: int = 2,
    lessons_per_module: int = 2,
    languages: tuple[str, ...] = ALL_LANGUAGES,
    lesson_languages: tuple[str, ...] | None = None,
    topic: str = "ai-foundations",
    completion_percent: int = 100,
    completion: dict[str, int] | None = None,
    extra_body: Callable[[str, str], str] | None = None,
) -> Path:
    """Write one course's files; lessons exist in `lesson_languages` (default: the course's languages).

    `completion` replaces the course.yaml completion rule; `extra_body(lesson_slug, language)` is
    appended to each lesson file (quizzes, for instance: see quiz_fence).
    """
    lesson_languages = languages if lesson_languages is None else lesson_languages
    course_dir = content_dir / "courses" / slug
    course_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "slug": slug,
        "source_language": "en",
        "topic": topic,
        "level": "beginner",
        "duration_hours": 1,
        "completion": completion if completion is not None else {"lessons_viewed_percent": completion_percent},
        "translations": {
            code: {"title": f"{slug} title [{code}]", "summary": f"Summary [{code}]", "objectives": [f"Goal [{code}]"]}
            for code in languages
        },
        "modules": [],
    }
    for m in range(1, modules + 1):
        module_slug = f"module-{m}"
        lesson_slugs = [f"lesson-{m}-{n}" for n in range(1, lessons_per_module + 1)]
        spec["modules"].append(
            {
                "slug": module_slug,
                "translations": {code: {"title": f"Module {m} [{code}]"} for code in languages},
                "lessons": lesson_slugs,
            }
        )
        for lesson_slug in lesson_slugs:
            lesson_dir = course_dir / module_slug / lesson_slug
            lesson_dir.mkdir(parents=True, exist_ok=True)
            for code in lesson_languages:
                (lesson_dir / f"{code}.md").write_text(
                    f'---\ntitle: "{lesson_slug} [{code}]"\nminutes: 5\n---\n'
                    f"Text of {lesson_slug} in {code}.\n\n```python\nprint('hello')\n```\n\n$$\nx^2\n$$\n"
                    + (extra_body(lesson_slug, code) if extra_body else ""),
                    encoding="utf-8",
                )
    (course_dir / "course.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return course_dir


def make_course(content_dir: Path, **overrides) -> LoadReport:
    write_course(content_dir, **overrides)
    return load_content(content_dir)


EXERCISE_NOTEBOOKS = Path(__file__).resolve().parent / "sandbox" / "notebooks"


def exercise_notebook(answer: str | None = None, name: str = "mean-square-exercise.ipynb") -> dict:
    """An instructor notebook from tests/sandbox/notebooks; with `answer`, a learner's copy answering it."""
    import json

    notebook = json.loads((EXERCISE_NOTEBOOKS / name).read_text())
    if answer is not None:
        for cell in notebook["cells"]:
            if "answer" in cell["metadata"].get("tags", []):
                cell["source"] = answer
    return notebook


def quiz_fence(**fields: Any) -> str:
    """A ```quiz block for a lesson file, e.g. quiz_fence(id="q1", kind="numeric", question="2+2?", answer=4)."""
    return "\n```quiz\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "```\n"
