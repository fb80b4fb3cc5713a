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
from lms.progress.models import Enrollment, HintReveal, LessonCompletion, Submission


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


def hints_revealed(*, user: Any, exercise: Any) -> int:
    """How many of an exercise's hints the learner has revealed (in any language)."""
    return HintReveal.objects.filter(user=user, exercise=exercise).count()


def latest_answers(*, user: Any, exercise: Any) -> dict[str, str]:
    """The code of each answer cell in the learner's latest Run, Check or Submit, by answer key."""
    notebook = (
        Submission.objects.filter(user=user, exercise=exercise)
        .order_by("-created_at", "-pk")
        .values_list("notebook", flat=True)
        .first()
    )
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return {}
    answers = {}
    for cell in notebook["cells"]:
        # Uploaded notebooks are the learner's own JSON: read them without trusting their shape.
        metadata = cell.get("metadata") if isinstance(cell, dict) else None
        native = metadata.get("opencapacity") if isinstance(metadata, dict) else None
        key = str(native.get("answer") or "") if isinstance(native, dict) else ""
        source = cell.get("source", "") if key else ""
        if key and key not in answers:
            parts = source if isinstance(source, list) else [source] if isinstance(source, str) else []
            answers[key] = "".join(str(part) for part in parts)
    return answers
