"""Shared set-up for the exercise API and notebook tests: a published lesson with the mean-square exercise."""

import json

import pytest

from courses.exercises import exercise_create_or_update
from courses.models import LessonPage
from tests.builders import exercise_notebook, make_course

RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"
WRONG = "def mean_square(xs):\n    return sum(xs) / len(xs)\n"


@pytest.fixture
def lesson_with_exercise(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en", "ar"))
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    for lesson in LessonPage.objects.filter(alias_of__isnull=True):
        lesson.body.append(("exercise", {"exercise": exercise}))
        lesson.save_revision().publish()
    return LessonPage.objects.get(locale__language_code="en"), exercise


@pytest.fixture
def exercise(lesson_with_exercise):
    return lesson_with_exercise[1]


def released_with(answer: str, exercise) -> dict:
    """The learner's notebook as downloaded from the page, with `answer` typed into its answer cell."""
    from lms.progress.selectors import exercise_download

    _name, body = exercise_download(exercise=exercise)
    notebook = json.loads(body)
    for cell in notebook["cells"]:
        if cell["metadata"].get("opencapacity", {}).get("answer"):
            cell["source"] = answer
    return notebook
