"""Reads for instructors: how learners do on an exercise and in a course, and the course's grades.

Selectors in the sense of STYLE.md, kept apart from lms/progress/selectors.py (the learner's own
pages). Every figure is an aggregate computed by the database: the queries return one row per
score, per attempt count, per test or per lesson, never one per learner, except the grades export,
which streams one row per learner because that is what it is. Each works on PostgreSQL and SQLite.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Coalesce

from courses.models import CoursePage, Exercise, LessonPage
from lms.progress.models import Enrollment, LessonCompletion, QuizAttempt, RegradeResult, Submission
from lms.progress.selectors import assessments_in

# Scores are sums of test points in floating point; "full marks" allows for rounding.
EPSILON = 1e-6


def pass_score(exercise: Exercise) -> float | None:
    """The score that passes an exercise: every automatic test's points. Manually graded cells are left
    out (the engine never scores them). None when the exercise has no automatic test."""
    from sandbox import ExerciseFormatError
    from sandbox.formats import parse_exercise

    try:
        parsed = parse_exercise(json.dumps(exercise.notebook), exercise.format)
    except ExerciseFormatError:
        return exercise.max_score or None
    points = round(sum(test.points for test in parsed.tests), 6)
    return points if points > 0 else None


def _graded_submits(exercise_ids: list[int]) -> Any:
    return Submission.objects.filter(
        exercise_id__in=exercise_ids, kind=Submission.Kind.SUBMIT, status=Submission.Status.GRADED
    )


def _sql(query: Any) -> tuple[str, tuple[Any, ...]]:
    """A queryset as SQL to nest in a hand-written aggregate (the ORM cannot group by an aggregate)."""
    sql, params = query.query.sql_with_params()
    return sql, tuple(params)


def _rows(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# -- one exercise -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestFailures:
    test_id: str
    name: str
    failures: int  # graded Submits in which the test failed


@dataclass(frozen=True)
class ScoreBin:
    label: str
    learners: int


@dataclass(frozen=True)
class ExerciseAnalytics:
    exercise: Exercise
    attempts: int  # graded Submits (Check and Run are not attempts)
    learners: int
    passed: int | None  # learners with a Submit at pass_score; None: the exercise has no automatic test
    pass_score: float | None
    median_attempts_to_pass: float | None
    failing_tests: list[TestFailures]
    # Learners by their best score.
    histogram: list[ScoreBin] = field(default_factory=list)

    @property
    def most_failed(self) -> TestFailures | None:
        return self.failing_tests[0] if self.failing_tests else None


def exercise_analytics(*, exercise: Exercise) -> ExerciseAnalytics:
    """Attempts, learners, passes, median attempts to pass, failing tests and the score histogram. Five
    queries, whatever the number of learners."""
    threshold = pass_score(exercise)
    graded = _graded_submits([exercise.pk])
    totals = graded.aggregate(
        attempts=Count("pk"),
        learners=Count("user", distinct=True),
        passed=Count("user", distinct=True, filter=Q(score__gte=(threshold or 0) - EPSILON)),
    )
    median = None
    if threshold is not None:
        median = _median(attempts_to_pass(exercise_id=exercise.pk, threshold=threshold))
    best_sql, best_params = _sql(graded.order_by().values("user").annotate(best=Coalesce(Max("score"), 0.0)))
    # The ORM's own SQL, nested: it cannot group by an aggregate itself.
    outer = f"SELECT best, COUNT(*) FROM ({best_sql}) AS per_learner GROUP BY best"  # noqa: S608
    best_scores = dict(_rows(outer, best_params))
    return ExerciseAnalytics(
        exercise=exercise,
        attempts=totals["attempts"],
        learners=totals["learners"],
        passed=totals["passed"] if threshold is not None else None,
        pass_score=threshold,
        median_attempts_to_pass=median,
        failing_tests=failing_tests(exercise_id=exercise.pk),
        histogram=score_histogram(best_scores, maximum=exercise.max_score),
    )


def attempts_to_pass(*, exercise_id: int, threshold: float) -> dict[int, int]:
    """How many learners needed n graded Submits to pass, by n: the Submits up to and including their
    first passing one (submission ids grow with time, so the first pass is the smallest id)."""
    table = connection.ops.quote_name(Submission._meta.db_table)
    where = "exercise_id = %s AND kind = %s AND status = %s"
    base = (exercise_id, Submission.Kind.SUBMIT.value, Submission.Status.GRADED.value)
    sql = f"""
        SELECT to_pass, COUNT(*) FROM (
            SELECT s.user_id, COUNT(*) AS to_pass
            FROM {table} s
            JOIN (SELECT user_id, MIN(id) AS first_pass FROM {table}
                  WHERE {where} AND score >= %s GROUP BY user_id) f ON f.user_id = s.user_id
            WHERE s.{where.replace(" AND ", " AND s.")} AND s.id <= f.first_pass
            GROUP BY s.user_id
        ) AS per_learner GROUP BY to_pass
    """  # noqa: S608 - only the quoted table name is interpolated; values are parameters
    return {int(n): int(count) for n, count in _rows(sql, (*base, threshold - EPSILON, *base))}


def _median(counts: dict[int, int]) -> float | None:
    """The median of a distribution given as {value: how many}."""
    total = sum(counts.values())
    if not total:
        return None
    ordered = sorted(counts.items())

    def nth(position: int) -> int:  # 0-based position in the sorted values
        seen = 0
        for value, count in ordered:
            seen += count
            if position < seen:
                return value
        return ordered[-1][0]

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


def failing_tests(*, exercise_id: int) -> list[TestFailures]:
    """Each test that failed at least once in a graded Submit, most failures first. The per-test
    outcomes live in the submission's feedback JSON, unnested by the database's own JSON functions."""
    table = connection.ops.quote_name(Submission._meta.db_table)
    if connection.vendor == "postgresql":
        sql = f"""
            SELECT t.value->>'id', MAX(t.value->>'name'), COUNT(*)
            FROM {table} s, jsonb_array_elements(
                CASE WHEN jsonb_typeof(s.feedback->'tests') = 'array' THEN s.feedback->'tests' ELSE '[]'::jsonb END
            ) AS t(value)
            WHERE s.exercise_id = %s AND s.kind = %s AND s.status = %s AND t.value->>'passed' = 'false'
            GROUP BY 1 ORDER BY 3 DESC, 1
        """  # noqa: S608 - only the quoted table name is interpolated
    elif connection.vendor == "sqlite":
        sql = f"""
            SELECT json_extract(t.value, '$.id'), MAX(json_extract(t.value, '$.name')), COUNT(*)
            FROM {table} s, json_each(s.feedback, '$.tests') AS t
            WHERE s.exercise_id = %s AND s.kind = %s AND s.status = %s
              AND json_type(s.feedback, '$.tests') = 'array' AND json_extract(t.value, '$.passed') = 0
            GROUP BY 1 ORDER BY 3 DESC, 1
        """  # noqa: S608 - only the quoted table name is interpolated
    else:
        raise NotImplementedError(f"failing_tests has no query for {connection.vendor}")
    params = (exercise_id, Submission.Kind.SUBMIT.value, Submission.Status.GRADED.value)
    return [TestFailures(str(test_id), str(name or test_id), int(count)) for test_id, name, count in _rows(sql, params)]


def score_histogram(best_scores: dict[float, int], *, maximum: float) -> list[ScoreBin]:
    """Learners by best score: one bar per point when the maximum is a whole number up to 20, else
    ten bars of a tenth of the maximum each (the last one includes full marks)."""
    if maximum <= 0:
        return [ScoreBin("0", sum(best_scores.values()))] if best_scores else []
    if float(maximum).is_integer() and maximum <= 20:
        bins = [0] * (int(maximum) + 1)
        for score, count in best_scores.items():
            # A score between two whole points (partial credit) counts with the lower one.
            bins[min(max(int((score or 0) + EPSILON), 0), int(maximum))] += count
        return [ScoreBin(str(points), count) for points, count in enumerate(bins)]
    bins = [0] * 10
    for score, count in best_scores.items():
        bins[min(max(int(10 * (score or 0) / maximum + EPSILON), 0), 9)] += count
    width = maximum / 10
    return [ScoreBin(f"{_number(i * width)}–{_number((i + 1) * width)}", count) for i, count in enumerate(bins)]


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


# -- one course ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LessonFunnel:
    lesson: LessonPage
    position: int  # 1-based, in course order
    reached: int  # learners who got at least this far (opened or completed this lesson or a later one)
    completed: int  # learners who marked this lesson complete
    stopped: int  # learners for whom this is the furthest lesson


@dataclass(frozen=True)
class ExerciseSummary:
    exercise: Exercise
    attempts: int
    learners: int
    passed: int | None


@dataclass(frozen=True)
class CourseAnalytics:
    course: CoursePage
    enrolled: int
    completed: int
    not_started: int  # enrolled, but no lesson opened or completed
    lessons: list[LessonFunnel]
    exercises: list[ExerciseSummary]


def course_lessons(course: CoursePage) -> list[LessonPage]:
    """The course's live lessons in course order, in the language of ``course``."""
    return list(LessonPage.objects.live().descendant_of(course).order_by("path"))


def course_exercises(lessons: list[LessonPage]) -> list[Exercise]:
    """The exercises of a course's lessons, in the order they first appear."""
    ordered: list[int] = []
    for lesson in lessons:
        for block in lesson.body.raw_data:
            value = block.get("value") or {}
            is_exercise = block.get("type") == "exercise" and isinstance(value.get("exercise"), int)
            if is_exercise and value["exercise"] not in ordered:
                ordered.append(value["exercise"])
    found = Exercise.objects.in_bulk(ordered)
    return [found[pk] for pk in ordered if pk in found]


def _passed_filter(thresholds: dict[int, float | None]) -> Q:
    """Submits at or above their own exercise's pass score."""
    conditions = [
        Q(exercise_id=exercise_id, score__gte=threshold - EPSILON)
        for exercise_id, threshold in thresholds.items()
        if threshold is not None
    ]
    if not conditions:
        return Q(pk__isnull=True)  # no exercise can be passed: matches nothing
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def course_analytics(*, course: CoursePage) -> CourseAnalytics:
    """Enrolment, completion and drop-off by lesson for one course (all its languages: progress is kept by
    translation key), plus a line per exercise. Six queries, whatever the number of learners."""
    key = course.translation_key
    lessons = course_lessons(course)
    totals = Enrollment.objects.filter(course_key=key).aggregate(
        enrolled=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False))
    )
    completions = dict(
        LessonCompletion.objects.filter(course_key=key)
        .values("lesson_key")
        .annotate(learners=Count("pk"))
        .values_list("lesson_key", "learners")
    )
    furthest = furthest_lessons(course_key=key, lesson_keys=[lesson.translation_key for lesson in lessons])
    funnel = []
    for position, lesson in enumerate(lessons, start=1):
        funnel.append(
            LessonFunnel(
                lesson=lesson,
                position=position,
                reached=sum(count for at, count in furthest.items() if at >= position),
                completed=completions.get(lesson.translation_key, 0),
                stopped=furthest.get(position, 0),
            )
        )
    exercises = course_exercises(lessons)
    thresholds = {exercise.pk: pass_score(exercise) for exercise in exercises}
    per_exercise = {
        row["exercise_id"]: row
        for row in _graded_submits(list(thresholds))
        .values("exercise_id")
        .annotate(
            attempts=Count("pk"),
            learners=Count("user", distinct=True),
            passed=Count("user", distinct=True, filter=_passed_filter(thresholds)),
        )
    }
    summaries = [
        ExerciseSummary(
            exercise=exercise,
            attempts=per_exercise.get(exercise.pk, {}).get("attempts", 0),
            learners=per_exercise.get(exercise.pk, {}).get("learners", 0),
            passed=per_exercise.get(exercise.pk, {}).get("passed", 0) if thresholds[exercise.pk] is not None else None,
        )
        for exercise in exercises
    ]
    started = sum(count for at, count in furthest.items() if at >= 1)
    return CourseAnalytics(
        course=course,
        enrolled=totals["enrolled"],
        completed=totals["completed"],
        not_started=max(totals["enrolled"] - started, 0),
        lessons=funnel,
        exercises=summaries,
    )


def furthest_lessons(*, course_key: uuid.UUID, lesson_keys: list[uuid.UUID]) -> dict[int, int]:
    """How many learners got furthest to each lesson position (1-based, course order): the latest lesson
    they completed or last opened. Learners who touched no current lesson are not counted."""
    if not lesson_keys:
        return {}
    key_field = LessonCompletion._meta.get_field("lesson_key")
    prepared = [key_field.get_db_prep_value(key, connection) for key in lesson_keys]
    course = LessonCompletion._meta.get_field("course_key").get_db_prep_value(course_key, connection)
    cases = " ".join("WHEN %s THEN %s" for _key in prepared)
    case_params: list[Any] = []
    for position, prepared_key in enumerate(prepared, start=1):
        case_params += [prepared_key, position]
    completions = connection.ops.quote_name(LessonCompletion._meta.db_table)
    enrollments = connection.ops.quote_name(Enrollment._meta.db_table)
    sql = f"""
        SELECT furthest, COUNT(*) FROM (
            SELECT user_id, MAX(CASE lesson_key {cases} END) AS furthest FROM (
                SELECT user_id, lesson_key FROM {completions} WHERE course_key = %s
                UNION ALL
                SELECT user_id, last_lesson_key FROM {enrollments}
                WHERE course_key = %s AND last_lesson_key IS NOT NULL
            ) AS touched GROUP BY user_id
        ) AS per_learner WHERE furthest IS NOT NULL GROUP BY furthest
    """  # noqa: S608 - only quoted table names and placeholders are interpolated
    rows = _rows(sql, (*case_params, course, course))
    return {int(position): int(count) for position, count in rows}


# -- grades export ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeCell:
    best_score: float | None
    attempts: int
    passed: bool | None
    last_submitted_at: datetime | None


@dataclass(frozen=True)
class GradeRow:
    name: str
    email: str
    enrolled_at: datetime
    completed_at: datetime | None
    lessons_completed: int
    quiz_points: float
    exercises: list[GradeCell]


@dataclass(frozen=True)
class Gradebook:
    course: CoursePage
    exercises: list[Exercise]
    lesson_total: int
    quiz_total: float
    rows: Iterator[GradeRow]


def course_gradebook(*, course: CoursePage) -> Gradebook:
    """One row per enrolled learner, streamed: four queries ordered by learner, merged as they are read,
    so memory does not grow with the number of learners."""
    from lms.progress.services import learner_display_name

    key = course.translation_key
    lessons = course_lessons(course)
    exercises = course_exercises(lessons)
    thresholds = {exercise.pk: pass_score(exercise) for exercise in exercises}
    quiz_points = assessments_in(lessons).quiz_points
    lesson_keys = [lesson.translation_key for lesson in lessons]

    def rows() -> Iterator[GradeRow]:
        enrollments = (
            Enrollment.objects.filter(course_key=key)
            .select_related("user__profile")
            .order_by("user_id")
            .iterator(chunk_size=500)
        )
        scores = _RowsByUser(
            _graded_submits(list(thresholds))
            .values("user_id", "exercise_id")
            .annotate(
                best=Max("score"),
                attempts=Count("pk"),
                last=Max("created_at"),
                passed=Count("pk", filter=_passed_filter(thresholds)),
            )
            .order_by("user_id")
        )
        quizzes = _RowsByUser(
            QuizAttempt.objects.filter(course_key=key, quiz_id__in=list(quiz_points))
            .values("user_id", "quiz_id")
            .annotate(best=Max("score"))
            .order_by("user_id")
        )
        done = _RowsByUser(
            LessonCompletion.objects.filter(course_key=key, lesson_key__in=lesson_keys)
            .values("user_id")
            .annotate(lessons=Count("pk"))
            .order_by("user_id")
        )
        for enrollment in enrollments:
            user = enrollment.user
            mine = {row["exercise_id"]: row for row in scores.take(user.pk)}
            quiz = sum(min(row["best"] or 0.0, quiz_points[row["quiz_id"]]) for row in quizzes.take(user.pk))
            lessons_done = next((row["lessons"] for row in done.take(user.pk)), 0)
            yield GradeRow(
                name=learner_display_name(user),
                email=user.email,
                enrolled_at=enrollment.enrolled_at,
                completed_at=enrollment.completed_at,
                lessons_completed=lessons_done,
                quiz_points=quiz,
                exercises=[
                    GradeCell(
                        best_score=mine[exercise.pk]["best"] if exercise.pk in mine else None,
                        attempts=mine[exercise.pk]["attempts"] if exercise.pk in mine else 0,
                        passed=(
                            None
                            if thresholds[exercise.pk] is None
                            else bool(mine.get(exercise.pk, {}).get("passed", 0))
                        ),
                        last_submitted_at=mine[exercise.pk]["last"] if exercise.pk in mine else None,
                    )
                    for exercise in exercises
                ],
            )

    return Gradebook(
        course=course,
        exercises=exercises,
        lesson_total=len(lessons),
        quiz_total=float(sum(quiz_points.values())),
        rows=rows(),
    )


class _RowsByUser:
    """Walk rows ordered by user_id alongside the enrollments: take(user_id) returns that user's rows."""

    def __init__(self, queryset: Any) -> None:
        self.rows = queryset.iterator(chunk_size=2000)
        self.head: dict[str, Any] | None = next(self.rows, None)

    def take(self, user_id: int) -> list[dict[str, Any]]:
        found = []
        while self.head is not None and self.head["user_id"] <= user_id:
            if self.head["user_id"] == user_id:
                found.append(self.head)
            self.head = next(self.rows, None)
        return found


def regrade_changes(*, regrade: Any, limit: int = 500) -> dict[str, Any]:
    """How many scores a regrade raised, lowered or left alone, and the rows that changed (or failed)."""
    results = RegradeResult.objects.filter(regrade=regrade)
    regraded = Q(status=RegradeResult.Status.REGRADED)
    summary = results.aggregate(
        raised=Count("pk", filter=regraded & Q(new_score__gt=F("old_score"))),
        lowered=Count("pk", filter=regraded & Q(new_score__lt=F("old_score"))),
        unchanged=Count("pk", filter=regraded & Q(new_score=F("old_score"))),
    )
    changed = (
        results.filter(Q(status=RegradeResult.Status.FAILED) | (regraded & ~Q(new_score=F("old_score"))))
        .select_related("submission__user__profile")
        .order_by("-status", "submission__user_id", "pk")[:limit]
    )
    return {"summary": summary, "changed": list(changed)}
