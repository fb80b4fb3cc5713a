"""Reads for the learner's own progress pages."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Max, Q
from django.utils.translation import gettext_lazy as _
from wagtail.models import Locale

from courses.models import CoursePage, Exercise, LessonPage
from lms.progress.models import Certificate, Enrollment, HintReveal, LessonCompletion, QuizAttempt, Submission

# -- the completion rule ------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One condition of a course's completion rule and how far the learner is towards it."""

    kind: str  # "lessons", "exercises" or "quizzes"
    required_percent: int
    earned: float
    total: float

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.kind != "lessons" else 0
        return min(100, int(100 * self.earned / self.total + 1e-9))

    @property
    def met(self) -> bool:
        if not self.total:
            # A course without lessons cannot be completed; one without quizzes has nothing to earn there.
            return self.kind != "lessons"
        return self.earned * 100 >= self.total * self.required_percent - 1e-9

    @property
    def label(self) -> str:
        return str(CONDITION_LABELS[self.kind])


CONDITION_LABELS = {"lessons": _("Lessons completed"), "exercises": _("Exercise points"), "quizzes": _("Quiz points")}


@dataclass(frozen=True)
class CourseCompletion:
    conditions: list[Condition]

    @property
    def is_met(self) -> bool:
        return all(condition.met for condition in self.conditions)


@dataclass
class CourseAssessments:
    """What a course asks learners to earn, read from its lesson bodies without loading any snippet."""

    quiz_points: dict[str, float]
    exercise_ids: set[int]


def assessments_in(lessons: list[LessonPage]) -> CourseAssessments:
    found = CourseAssessments(quiz_points={}, exercise_ids=set())
    for lesson in lessons:
        for block in lesson.body.raw_data:
            value = block.get("value") or {}
            if block.get("type") == "quiz" and value.get("quiz_id"):
                found.quiz_points.setdefault(value["quiz_id"], float(value.get("points") or 1))
            elif block.get("type") == "exercise" and isinstance(value.get("exercise"), int):
                found.exercise_ids.add(value["exercise"])
    return found


def best_quiz_scores(*, user: Any, course_keys: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, float]]:
    best: dict[uuid.UUID, dict[str, float]] = defaultdict(dict)
    rows = (
        QuizAttempt.objects.filter(user=user, course_key__in=course_keys)
        .values("course_key", "quiz_id")
        .annotate(best=Max("score"))
    )
    for row in rows:
        best[row["course_key"]][row["quiz_id"]] = row["best"]
    return best


def best_exercise_scores(*, user: Any, exercise_ids: set[int]) -> tuple[dict[int, float], dict[int, float]]:
    """The maximum score of each exercise, and the learner's best graded Submit score on it."""
    if not exercise_ids:
        return {}, {}
    maximum = dict(Exercise.objects.filter(pk__in=exercise_ids).values_list("pk", "max_score"))
    rows = (
        Submission.objects.filter(
            user=user, exercise_id__in=exercise_ids, kind=Submission.Kind.SUBMIT, status=Submission.Status.GRADED
        )
        .values("exercise_id")
        .annotate(best=Max("score"))
    )
    return maximum, {row["exercise_id"]: row["best"] or 0.0 for row in rows}


def evaluate_completion(
    *,
    course: CoursePage,
    lesson_keys: set[uuid.UUID],
    done: set[uuid.UUID],
    assessments: CourseAssessments,
    quiz_best: dict[str, float],
    exercise_max: dict[int, float],
    exercise_best: dict[int, float],
) -> CourseCompletion:
    conditions = [Condition("lessons", course.completion_lessons_percent, len(done & lesson_keys), len(lesson_keys))]
    if course.completion_exercise_points_percent is not None:
        ids = assessments.exercise_ids & exercise_max.keys()
        earned = sum(min(exercise_best.get(pk, 0.0), exercise_max[pk]) for pk in ids)
        total = sum(exercise_max[pk] for pk in ids)
        conditions.append(Condition("exercises", course.completion_exercise_points_percent, earned, total))
    if course.completion_quiz_points_percent is not None:
        points = assessments.quiz_points
        earned = sum(min(quiz_best.get(quiz_id, 0.0), points[quiz_id]) for quiz_id in points)
        conditions.append(Condition("quizzes", course.completion_quiz_points_percent, earned, sum(points.values())))
    return CourseCompletion(conditions)


def course_completion(*, course: CoursePage, user: Any) -> CourseCompletion:
    """How far a learner is towards each condition of one course's rule. Five queries."""
    lessons = list(LessonPage.objects.live().descendant_of(course))
    assessments = assessments_in(lessons)
    done = set(
        LessonCompletion.objects.filter(user=user, course_key=course.translation_key).values_list(
            "lesson_key", flat=True
        )
    )
    quiz_best = best_quiz_scores(user=user, course_keys=[course.translation_key])[course.translation_key]
    exercise_max, exercise_best = best_exercise_scores(user=user, exercise_ids=assessments.exercise_ids)
    return evaluate_completion(
        course=course,
        lesson_keys={lesson.translation_key for lesson in lessons},
        done=done,
        assessments=assessments,
        quiz_best=quiz_best,
        exercise_max=exercise_max,
        exercise_best=exercise_best,
    )


def certificate_for(*, user: Any, course_key: uuid.UUID) -> Certificate | None:
    return Certificate.objects.filter(user=user, course_key=course_key).first()


def certificate_for_lesson(*, user: Any, lesson: LessonPage) -> Certificate | None:
    from courses.selectors import course_for_lesson

    course = course_for_lesson(lesson=lesson)
    return certificate_for(user=user, course_key=course.translation_key) if course else None


def has_certificate_for_lesson(*, user: Any, lesson: LessonPage) -> bool:
    return certificate_for_lesson(user=user, lesson=lesson) is not None


@dataclass(frozen=True)
class LearningRow:
    course: CoursePage
    percent: int
    lesson_done: int
    lesson_total: int
    completed_at: datetime | None
    continue_lesson: LessonPage | None
    last_visited_at: datetime | None
    completion: CourseCompletion | None = None
    certificate: Certificate | None = None


def my_learning(*, user: Any) -> list[LearningRow]:
    """The learner's courses in the active language, most recently visited first. Nine queries."""
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
        # Bodies are read (not deferred) for the quizzes and exercises the completion rules count.
        lessons = LessonPage.objects.live().filter(under_any_course).order_by("path")
        for lesson in lessons.select_related("locale"):
            # Courses are all children of a catalog, so their paths have one length.
            course_key = by_path.get(lesson.path[: len(next(iter(by_path)))])
            if course_key is not None:
                lessons_by_course[course_key].append(lesson)
    done: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for course_key, lesson_key in LessonCompletion.objects.filter(user=user).values_list("course_key", "lesson_key"):
        done[course_key].add(lesson_key)
    assessments = {key: assessments_in(lessons_by_course[key]) for key in courses}
    quiz_best = best_quiz_scores(user=user, course_keys=list(courses))
    all_exercises = set().union(*(found.exercise_ids for found in assessments.values()))
    exercise_max, exercise_best = best_exercise_scores(user=user, exercise_ids=all_exercises)
    certificates = {certificate.course_key: certificate for certificate in Certificate.objects.filter(user=user)}

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
                completion=evaluate_completion(
                    course=course,
                    lesson_keys={lesson.translation_key for lesson in lessons},
                    done=done[enrollment.course_key],
                    assessments=assessments[enrollment.course_key],
                    quiz_best=quiz_best[enrollment.course_key],
                    exercise_max=exercise_max,
                    exercise_best=exercise_best,
                ),
                certificate=certificates.get(enrollment.course_key),
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
