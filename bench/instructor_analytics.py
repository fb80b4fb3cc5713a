"""Instructor analytics at scale: the exercise and course figures and the grades CSV for one course with
many learners, against a plain COUNT(*) of the same submissions in the same run.

    .venv/bin/python bench/instructor_analytics.py [--learners 10000] [--rounds 5]
    DATABASE_URL=postgres://... .venv/bin/python bench/instructor_analytics.py

Creates a throw-away test database (SQLite file in var/, or test_<name> on PostgreSQL), fills it
with synthetic learners (1-5 graded Submits each, lesson completions, last visits, quiz attempts),
prints the median time of each read and its ratio to the baseline, and drops the database.
Figures are recorded in docs/instructor-analytics.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def median_ms(work: Callable[[], object], rounds: int) -> float:
    work()  # warm-up
    times = []
    for _round in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def build(learners: int, seed: int) -> tuple[object, object]:
    import json

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from courses.exercises import exercise_create_or_update
    from courses.models import CoursePage, LessonPage
    from lms.progress.models import Enrollment, LessonCompletion, QuizAttempt, Submission
    from tests.builders import exercise_notebook, make_course, quiz_fence

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as content:
        make_course(
            Path(content),
            modules=2,
            lessons_per_module=5,
            lesson_languages=("en",),
            languages=("en",),
            extra_body=lambda slug, code: quiz_fence(
                id=f"q-{slug}", kind="numeric", question="2+2?", answer=4, points=2
            ),
        )
    course = CoursePage.objects.get(locale__language_code="en")
    lessons = list(LessonPage.objects.filter(locale__language_code="en").order_by("path"))
    exercise = exercise_create_or_update(slug="bench", title="Bench", raw_notebook=json.dumps(exercise_notebook()))
    lessons[0].body.append(("exercise", {"exercise": exercise}))
    lessons[0].save_revision().publish()
    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"bench{i}", email=f"bench{i}@example.org") for i in range(learners)], batch_size=2000
    )
    users = list(user_model.objects.filter(username__startswith="bench").values_list("pk", flat=True))
    now = timezone.now()
    tests = [("visible", 1), ("hidden-int", 2), ("hidden-float", 2), ("hidden-numpy", 2)]
    enrollments, completions, submissions, quizzes = [], [], [], []
    for user_id in users:
        furthest = rng.randint(0, len(lessons))
        enrollments.append(
            Enrollment(
                user_id=user_id,
                course_key=course.translation_key,
                enrolled_at=now,
                last_lesson_key=lessons[furthest - 1].translation_key if furthest else None,
                completed_at=now if furthest == len(lessons) else None,
            )
        )
        for lesson in lessons[: max(furthest - 1, 0)]:
            key = lesson.translation_key
            completions.append(
                LessonCompletion(user_id=user_id, course_key=course.translation_key, lesson_key=key, completed_at=now)
            )
        for _attempt in range(rng.randint(0, 5)):
            passed = [rng.random() < 0.6 for _test in tests]
            score = float(sum(points for (_name, points), ok in zip(tests, passed, strict=True) if ok))
            feedback = {
                "tests": [
                    {"id": name, "name": name, "points": points if ok else 0, "max_points": points, "passed": ok}
                    for (name, points), ok in zip(tests, passed, strict=True)
                ]
            }
            submissions.append(
                Submission(
                    user_id=user_id,
                    exercise=exercise,
                    notebook={},
                    status="graded",
                    score=score,
                    max_score=7.0,
                    feedback=feedback,
                    queued_at=now,
                )
            )
        if furthest:
            quizzes.append(
                QuizAttempt(
                    user_id=user_id,
                    course_key=course.translation_key,
                    lesson_key=lessons[0].translation_key,
                    quiz_id=f"q-{lessons[0].slug}",
                    answer=4,
                    correct=True,
                    score=2,
                    max_score=2,
                    language="en",
                    created_at=now,
                )
            )
    for model, rows in (
        (Enrollment, enrollments),
        (LessonCompletion, completions),
        (Submission, submissions),
        (QuizAttempt, quizzes),
    ):
        model.objects.bulk_create(rows, batch_size=2000)
    print(
        f"{len(users)} learners, {len(submissions)} graded Submits, {len(completions)} lesson completions, "
        f"{len(lessons)} lessons"
    )
    return course, exercise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from lms.progress import analytics
        from lms.progress.admin_views import grades_csv_lines
        from lms.progress.models import Submission

        course, exercise = build(options.learners, options.seed)
        print(f"database: {connection.vendor}")
        baseline = median_ms(lambda: Submission.objects.filter(exercise=exercise).count(), options.rounds)
        csv_rows = lambda: sum(1 for _line in grades_csv_lines(analytics.course_gradebook(course=course)))  # noqa: E731
        rows = {
            "baseline: COUNT(*) of the exercise's submissions": baseline,
            "exercise analytics (5 queries)": median_ms(
                lambda: analytics.exercise_analytics(exercise=exercise), options.rounds
            ),
            "course analytics (6 queries)": median_ms(
                lambda: analytics.course_analytics(course=course), options.rounds
            ),
            "grades CSV, every row": median_ms(csv_rows, options.rounds),
        }
        for label, value in rows.items():
            print(f"{label:52} {value:9.1f} ms  {value / baseline:7.1f}x")
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
