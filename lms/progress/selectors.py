"""Reads for the learner's own progress pages."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q
from wagtail.models import Locale

from courses.models import CoursePage, LessonPage
from lms.progress.models import Enrollment, LessonCompletion


@dataclass(frozen=True)
class LearningRow:
    course: CoursePage
    percent: int
    lesson_done: int
    lesson_total: int
    completed_at: datetime | None
    continue_lesson: LessonPage | None
    last_visited_at: datetime | None


def my_learning(*, user: Any) -> list[LearningRow]:
    """The learner's courses in the active language, most recently visited first. Five queries."""
    enrollments = list(Enrollment.objects.filter(user=user).order_by("-last_visited_at", "-enrolled_at"))
    if not enrollments:
        return []
    keys = [enrollment.course_key for enrollment in enrollments]
    locale = Locale.get_active()
    courses: dict[uuid.UUID, CoursePage] = {}
    # Prefer the active language; fall back to any live version (a course removed from one tree).
    for course in CoursePage.objects.live().filter(translation_key__in=keys).select_related("locale"):
        if course.translation_key not in courses or course.locale_id == locale.id:
            courses[course.translation_key] = course
    lessons_by_course: dict[uuid.UUID, list[LessonPage]] = defaultdict(list)
    if courses:
        under_any_course = reduce(or_, (Q(path__startswith=course.path) for course in courses.values()))
        by_path = {course.path: course.translation_key for course in courses.values()}
        lessons = LessonPage.objects.live().filter(under_any_course).order_by("path").defer_streamfields()
        for lesson in lessons.select_related("locale"):
            # Courses are all children of a catalog, so their paths have one length.
            course_key = by_path.get(lesson.path[: len(next(iter(by_path)))])
            if course_key is not None:
                lessons_by_course[course_key].append(lesson)
    done: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for course_key, lesson_key in LessonCompletion.objects.filter(user=user).values_list("course_key", "lesson_key"):
        done[course_key].add(lesson_key)

    rows = []
    for enrollment in enrollments:
        course = courses.get(enrollment.course_key)
        if course is None:
            continue
        lessons = lessons_by_course[enrollment.course_key]
        finished = done[enrollment.course_key] & {lesson.translation_key for lesson in lessons}
        continue_lesson = next(
            (lesson for lesson in lessons if lesson.translation_key == enrollment.last_lesson_key),
            next((lesson for lesson in lessons if lesson.translation_key not in finished), None),
        )
        rows.append(
            LearningRow(
                course=course,
                percent=round(100 * len(finished) / len(lessons)) if lessons else 0,
                lesson_done=len(finished),
                lesson_total=len(lessons),
                completed_at=enrollment.completed_at,
                continue_lesson=continue_lesson,
                last_visited_at=enrollment.last_visited_at,
            )
        )
    return rows


# -- submissions and notebooks ----------------------------------------------------------------


def submission_public(submission: Any) -> dict[str, Any]:
    """What the learner may see of a submission: never hidden test source, solutions or operator errors.

    The same fields on the page's script and in the API.
    """
    from django.utils.translation import gettext

    feedback = submission.feedback or {}
    return {
        "id": submission.pk,
        "exercise": submission.exercise_id,
        "kind": submission.kind,
        "status": submission.status,
        "status_label": str(submission.get_status_display()),
        "verdict": submission.verdict,
        "score": submission.score,
        "max_score": submission.max_score,
        "tests": [
            {key: test.get(key) for key in ("id", "name", "points", "max_points", "passed", "hidden", "message")}
            for test in feedback.get("tests", [])
        ],
        "manual": [item.get("id") for item in feedback.get("manual", [])],
        "failed_reason": (
            gettext("Grading could not run. Please try again later.") if submission.status == "failed" else ""
        ),
        "created_at": submission.created_at.isoformat() if submission.created_at else None,
        "finished_at": submission.finished_at.isoformat() if submission.finished_at else None,
    }


def latest_answers(*, user: Any, exercise: Any) -> dict[str, str]:
    """The learner's code in each answer cell of their latest Check or Submit ({} if none)."""
    from courses.exercises import answer_key
    from lms.progress.models import Submission

    latest = Submission.objects.filter(user=user, exercise=exercise).order_by("-created_at", "-pk").first()
    if latest is None:
        return {}
    answers = {}
    for cell in latest.notebook.get("cells", []):
        if isinstance(cell, dict) and (key := answer_key(cell)):
            source = cell.get("source", "")
            answers[key] = "".join(source) if isinstance(source, list) else str(source)
    return answers


PYTHON_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def exercise_download(*, exercise: Any, user: Any = None, with_answers: bool = False) -> tuple[str, bytes]:
    """The learner's notebook for offline work: (file name, .ipynb bytes).

    The released version (no solutions, no hidden tests); with_answers puts the learner's latest
    code into the answer cells. The answer cells keep their metadata.opencapacity.answer key, which
    is how an uploaded copy is matched back to the exercise.
    """
    import json

    from courses.exercises import exercise_release, learner_notebook

    release = exercise_release(exercise)
    if with_answers and user is not None and user.is_authenticated:
        release = learner_notebook(release, latest_answers(user=user, exercise=exercise))
    metadata = release.setdefault("metadata", {})
    # Jupyter opens a notebook with the kernel it names; an exercise is always graded in Python.
    metadata.setdefault("kernelspec", PYTHON_KERNELSPEC)
    metadata.setdefault("language_info", {"name": "python"})
    return f"{exercise.slug}.ipynb", json.dumps(release, ensure_ascii=False, indent=1).encode()
