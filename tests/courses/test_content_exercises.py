"""The ```exercise fence of lesson files: parsed with its texts, the notebook imported as an Exercise
snippet once per course (idempotent by content hash), bad input refused with file and line."""

import json
import shutil
from pathlib import Path

import pytest

from courses.content_format import ContentError, ExerciseRef, parse_lesson
from courses.content_loader import load_content
from courses.models import Exercise, LessonPage
from tests.builders import EXERCISE_NOTEBOOKS, write_course

FENCE = """```exercise
notebook: exercises/mean-square.ipynb
title: "{title}"
instructions: |
  Write `mean_square(xs)`.

  Use **plain Python**.
hints:
  - "First, gentle hint"
  - "Second, more *specific* hint"
```
"""


def write(path: Path, body: str) -> Path:
    path.write_text(f'---\ntitle: "T"\nminutes: 5\n---\nIntro.\n\n{body}', encoding="utf-8")
    return path


def course_with_notebook(tmp_path: Path, name: str = "mean-square-exercise.ipynb") -> Path:
    (tmp_path / "exercises").mkdir(exist_ok=True)
    shutil.copy(EXERCISE_NOTEBOOKS / name, tmp_path / "exercises" / "mean-square.ipynb")
    return tmp_path


def test_the_fence_becomes_an_exercise_block_with_its_texts(tmp_path):
    course = course_with_notebook(tmp_path)
    lesson = parse_lesson(write(tmp_path / "en.md", FENCE.format(title="Mean square") + "\nAfter.\n"), course)
    assert [block["type"] for block in lesson.blocks] == ["text", "exercise", "text"]
    ref = lesson.blocks[1]["value"]
    assert isinstance(ref, ExerciseRef) and lesson.exercises == [ref]
    assert ref.notebook == (course / "exercises" / "mean-square.ipynb").resolve()
    assert ref.title == "Mean square"
    assert "<code>mean_square(xs)</code>" in ref.instructions and "<strong>plain Python</strong>" in ref.instructions
    assert ref.hints == ["<p>First, gentle hint</p>", "<p>Second, more <em>specific</em> hint</p>"]
    assert ref.line == 7  # the line of the opening fence in the file


@pytest.mark.parametrize(
    ("fence", "message"),
    [
        ('```exercise\nnotebook: exercises/mean-square.ipynb\ntitle: "T"\n', "exercise block is not closed"),
        ("```exercise\nnotebook: [unclosed\n```\n", "en.md:8: exercise block: not valid YAML"),
        ("```exercise\n- a list\n```\n", "en.md:7: exercise block: expected keys"),
        ('```exercise\nnotebook: exercises/mean-square.ipynb\ntitle: "T"\npoints: 3\n```\n', "unknown key 'points'"),
        ('```exercise\ntitle: "T"\n```\n', "'notebook' must be the path of an .ipynb file"),
        (
            '```exercise\nnotebook: exercises/missing.ipynb\ntitle: "T"\n```\n',
            "notebook not found in the course folder",
        ),
        ('```exercise\nnotebook: ../../outside.ipynb\ntitle: "T"\n```\n', "notebook not found in the course folder"),
        ("```exercise\nnotebook: exercises/mean-square.ipynb\n```\n", "'title' is missing"),
        (
            '```exercise\nnotebook: exercises/mean-square.ipynb\ntitle: "T"\nhints: "one"\n```\n',
            "'hints' must be a list",
        ),
        (
            '```exercise\nnotebook: exercises/mean-square.ipynb\ntitle: "T"\ninstructions: [1]\n```\n',
            "'instructions' must be Markdown",
        ),
    ],
)
def test_bad_fences_are_refused_with_file_and_line(tmp_path, fence, message):
    course = course_with_notebook(tmp_path)
    (tmp_path.parent / "outside.ipynb").write_text("{}")
    with pytest.raises(ContentError, match=message.replace("(", r"\(").replace("[", r"\[")) as error:
        parse_lesson(write(tmp_path / "en.md", fence), course)
    assert "en.md" in str(error.value)


def test_a_notebook_name_that_cannot_be_an_identity_is_refused(tmp_path):
    course = course_with_notebook(tmp_path)
    shutil.copy(course / "exercises" / "mean-square.ipynb", course / "exercises" / "Mean--Square.ipynb")
    fence = '```exercise\nnotebook: exercises/Mean--Square.ipynb\ntitle: "T"\n```\n'
    with pytest.raises(ContentError, match="lowercase words joined by single hyphens"):
        parse_lesson(write(tmp_path / "en.md", fence), course)


# -- the loader -------------------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


def exercise_course(tmp_path: Path, languages=("en", "ar")) -> Path:
    course_dir = write_course(tmp_path, slug="fit", modules=1, lessons_per_module=1, lesson_languages=languages)
    course_with_notebook(course_dir)
    lesson_dir = course_dir / "module-1" / "lesson-1-1"
    for code in languages:
        title = "Mean square" if code == "en" else "متوسط المربعات"
        write(lesson_dir / f"{code}.md", FENCE.format(title=title))
    return course_dir


@pytestmark_db
def test_loading_imports_the_notebook_once_and_reloading_changes_nothing(tmp_path):
    course_dir = exercise_course(tmp_path)
    report = load_content(tmp_path)
    assert "exercise fit/mean-square" in report.created
    exercise = Exercise.objects.get()
    assert (exercise.slug, exercise.format, exercise.max_score) == ("fit--mean-square", "native", 7.0)
    assert exercise.title == "Mean square"  # the notebook's own title
    ar = LessonPage.objects.get(locale__language_code="ar")
    block = next(block for block in ar.body if block.block_type == "exercise")
    assert block.value["exercise"] == exercise
    assert block.value["title"] == "متوسط المربعات"
    assert [str(hint) for hint in block.value["hints"]][1] == "<p>Second, more <em>specific</em> hint</p>"
    assert "<code>mean_square(xs)</code>" in str(block.value["instructions"])

    again = load_content(tmp_path)
    assert not again.changed
    assert Exercise.objects.get().updated_at == exercise.updated_at

    # A changed notebook updates the same snippet; the lessons keep pointing at it.
    notebook = json.loads((course_dir / "exercises" / "mean-square.ipynb").read_text())
    notebook["cells"][3]["metadata"]["opencapacity"]["points"] = 3
    (course_dir / "exercises" / "mean-square.ipynb").write_text(json.dumps(notebook))
    third = load_content(tmp_path)
    assert third.updated == ["exercise fit/mean-square"]
    assert Exercise.objects.get().max_score == 9.0


@pytestmark_db
def test_a_broken_notebook_names_the_lesson_file_line_and_notebook_cell_and_loads_nothing(tmp_path):
    course_dir = exercise_course(tmp_path)
    notebook = json.loads((course_dir / "exercises" / "mean-square.ipynb").read_text())
    notebook["cells"][3]["metadata"]["opencapacity"]["points"] = "many"
    (course_dir / "exercises" / "mean-square.ipynb").write_text(json.dumps(notebook))
    with pytest.raises(ContentError) as error:
        load_content(tmp_path)
    message = str(error.value)
    assert "en.md:7: exercise notebook mean-square.ipynb" in message and "cell 3" in message
    assert not Exercise.objects.exists() and not LessonPage.objects.exists()


@pytestmark_db
def test_a_translation_must_import_the_same_notebooks(tmp_path):
    course_dir = exercise_course(tmp_path)
    write(course_dir / "module-1" / "lesson-1-1" / "ar.md", "لا تمرين هنا.\n")
    with pytest.raises(ContentError, match=r"ar\.md: its exercise blocks must import the same notebooks"):
        load_content(tmp_path)
