"""A hand-built data set for the instructor analytics: six learners on a three-lesson course with one
exercise (max 7) and one quiz (2 points). Every figure it yields is worked out in
tests/lms/test_instructor_analytics.py; the browser test screenshots it."""

import json
import uuid
from datetime import timedelta

from django.utils import timezone

from courses.exercises import exercise_create_or_update
from courses.models import CoursePage, LessonPage
from lms.accounts import services as accounts
from lms.progress.models import Enrollment, LessonCompletion, QuizAttempt, Submission
from tests.builders import exercise_notebook, make_course, quiz_fence

# The mean-square notebook's tests and points (7 in all); which fail at each score.
TESTS = [("visible", 1), ("hidden-int", 2), ("hidden-float", 2), ("hidden-numpy", 2)]
FAILING_AT = {0: 4, 1: 3, 3: 2, 5: 1, 7: 0}  # score -> how many tests, from the last, failed


def feedback(score: int) -> dict:
    failing = {name for name, _points in TESTS[len(TESTS) - FAILING_AT[score] :]}
    return {
        "status": "graded",
        "score": score,
        "max_score": 7.0,
        "tests": [
            {"id": name, "name": f"Test {name}", "points": 0 if name in failing else points, "max_points": points}
            | {"passed": name not in failing, "hidden": name != "visible", "message": ""}
            for name, points in TESTS
        ],
        "manual": [],
    }


def quiz(slug: str, code: str) -> str:
    if slug != "lesson-1-1":
        return ""
    return quiz_fence(
        id="q1", kind="single", points=2, question="Yes?", options=[{"text": "yes", "correct": True}, {"text": "no"}]
    )


def build_data_set(tmp_path, django_user_model) -> dict:
    """Six learners on a three-lesson course with one exercise (max 7) and one quiz (2 points)."""
    make_course(tmp_path, modules=1, lessons_per_module=3, lesson_languages=("en",), extra_body=quiz)
    course = CoursePage.objects.get(locale__language_code="en")
    lessons = list(LessonPage.objects.filter(locale__language_code="en").order_by("path"))
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    lessons[0].body.append(("exercise", {"exercise": exercise}))
    lessons[0].save_revision().publish()
    key = course.translation_key
    l1, l2, l3 = (lesson.translation_key for lesson in lessons)
    now = timezone.now()
    users = {}
    names = {"a": "ليلى حسن", "b": '=HYPERLINK("http://x")', "c": "Chen", "d": "Dora", "e": "Emil", "f": "Fay"}
    for handle, name in names.items():
        user = django_user_model.objects.create_user(handle, f"{handle}@example.org", "x" * 12)
        profile = accounts.profile_create(user=user, country="JO")
        profile.display_name = name
        profile.save(update_fields=["display_name"])
        users[handle] = user
        Enrollment.objects.create(user=user, course_key=key, enrolled_at=now - timedelta(days=3))
    # Graded Submits, in order: A passes at its 2nd, B at its 4th, C never, D at its 1st.
    submits = {"a": [3, 7, 7], "b": [0, 1, 5, 7], "c": [5], "d": [7]}
    for handle, scores in submits.items():
        for score in scores:
            Submission.objects.create(
                user=users[handle],
                exercise=exercise,
                notebook={},
                status=Submission.Status.GRADED,
                verdict="graded",
                score=score,
                max_score=7.0,
                feedback=feedback(score),
                queued_at=now,
            )
    # None of these counts: a Check, a Submit still queued, a failed one (E), and a Run (A).
    Submission.objects.create(
        user=users["e"], exercise=exercise, notebook={}, kind="check", status="graded", score=1, max_score=1,
        feedback=feedback(0), queued_at=now,
    )  # fmt: skip
    Submission.objects.create(user=users["e"], exercise=exercise, notebook={}, queued_at=now)
    Submission.objects.create(user=users["e"], exercise=exercise, notebook={}, status="failed", queued_at=now)
    Submission.objects.create(
        user=users["a"], exercise=exercise, notebook={}, kind="run", status="graded", queued_at=now
    )
    # Lessons: A completed all three (and the course); B the first; C the first and opened the second;
    # D only opened the first; E skipped ahead and opened the third; F never came back.
    for handle, done in {"a": [l1, l2, l3], "b": [l1], "c": [l1]}.items():
        for lesson_key in done:
            LessonCompletion.objects.create(user=users[handle], course_key=key, lesson_key=lesson_key, completed_at=now)
    Enrollment.objects.filter(user=users["a"]).update(completed_at=now, last_lesson_key=l3)
    Enrollment.objects.filter(user=users["c"]).update(last_lesson_key=l2)
    Enrollment.objects.filter(user=users["d"]).update(last_lesson_key=l1)
    Enrollment.objects.filter(user=users["e"]).update(last_lesson_key=l3)
    # Another course's progress never counts here.
    LessonCompletion.objects.create(user=users["f"], course_key=uuid.uuid4(), lesson_key=uuid.uuid4(), completed_at=now)
    # Quiz: A's best is 2 of 2, B's 1; an attempt at a quiz no longer in the course is ignored.
    for handle, score, quiz_id in (("a", 0, "q1"), ("a", 2, "q1"), ("b", 1, "q1"), ("b", 5, "gone")):
        QuizAttempt.objects.create(
            user=users[handle], course_key=key, lesson_key=l1, quiz_id=quiz_id, answer=[0], correct=score > 0,
            score=score, max_score=2, language="en", created_at=now,
        )  # fmt: skip
    return {"course": course, "exercise": exercise, "users": users, "lessons": lessons}
