"""Writes to enrollments and completions. Views and pages call these, never save() themselves."""

import json

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from courses.models import CoursePage, Exercise, LessonPage
from courses.selectors import course_for_lesson, lesson_count
from lms.progress.models import Enrollment, HintReveal, LessonCompletion, Submission
from sandbox import ExerciseFormatError, InvalidSubmission
from sandbox.formats import load_notebook, parse_exercise, submission_answers


def enrollment_start(*, user: AbstractBaseUser, course: CoursePage) -> Enrollment:
    enrollment, _created = Enrollment.objects.get_or_create(
        user=user, course_key=course.translation_key, defaults={"enrolled_at": timezone.now()}
    )
    return enrollment


def lesson_visit_record(*, user: AbstractBaseUser, lesson: LessonPage) -> None:
    """Remember the last lesson opened in each enrolled course; a no-op for courses not enrolled in."""
    course = course_for_lesson(lesson=lesson)
    if course is None:
        return
    Enrollment.objects.filter(user=user, course_key=course.translation_key).update(
        last_lesson_key=lesson.translation_key, last_visited_at=timezone.now()
    )


@transaction.atomic
def lesson_complete(*, user: AbstractBaseUser, lesson: LessonPage) -> LessonCompletion:
    """Mark a lesson done (enrolling the learner if needed) and complete the course when its rule is met."""
    course = course_for_lesson(lesson=lesson)
    if course is None:
        raise ValueError("This lesson does not belong to a course.")
    enrollment = enrollment_start(user=user, course=course)
    now = timezone.now()
    try:
        with transaction.atomic():
            completion, _created = LessonCompletion.objects.get_or_create(
                user=user,
                lesson_key=lesson.translation_key,
                defaults={"course_key": course.translation_key, "completed_at": now},
            )
    except IntegrityError:  # a double click raced us; the other request stored it
        completion = LessonCompletion.objects.get(user=user, lesson_key=lesson.translation_key)

    enrollment.last_lesson_key = lesson.translation_key
    enrollment.last_visited_at = now
    update_fields = ["last_lesson_key", "last_visited_at"]
    if enrollment.completed_at is None:
        done = LessonCompletion.objects.filter(user=user, course_key=course.translation_key).count()
        total = lesson_count(course=course)
        if total and done * 100 >= total * course.completion_lessons_percent:
            enrollment.completed_at = now
            update_fields.append("completed_at")
    enrollment.save(update_fields=update_fields)
    return completion


# -- submissions ------------------------------------------------------------------------------

MAX_SUBMISSION_BYTES = 1024 * 1024


def submission_create(
    *, user: AbstractBaseUser, exercise: Exercise, notebook: bytes | str | dict, kind: str = "submit"
) -> Submission:
    """Validate a learner's notebook, store it as queued, and queue its grading once committed.

    Refused input raises ValidationError with a message for the learner, and stores nothing.
    """
    from lms.progress.tasks import grade_submission

    if kind not in Submission.Kind.values:
        raise ValidationError(f"Unknown kind of submission: {kind!r}.")
    submission_rate_limit_check(user=user, exercise=exercise, kind=kind)
    raw = json.dumps(notebook) if isinstance(notebook, dict) else notebook
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_SUBMISSION_BYTES:
        raise ValidationError(f"The notebook is {size // 1024} KiB; the limit is {MAX_SUBMISSION_BYTES // 1024} KiB.")
    try:
        parsed = load_notebook(raw, "submitted notebook")
    except (InvalidSubmission, ExerciseFormatError) as error:
        raise ValidationError(str(error)) from error
    with transaction.atomic():
        submission = Submission.objects.create(
            user=user, exercise=exercise, kind=kind, notebook=parsed, queued_at=timezone.now()
        )
        transaction.on_commit(lambda: grade_submission.delay(submission.pk))
    return submission


def submission_rate_limit_check(*, user: AbstractBaseUser, exercise: Exercise, kind: str) -> None:
    """RATE LIMIT CALL SITE for Run, Check and Submit (``kind``): every request to execute learner
    code passes here before anything is stored or queued. It limits nothing yet: the per-learner
    rate limiter (another branch) plugs in here and raises ValidationError, saying when to retry."""


def submission_start(*, submission: Submission) -> None:
    submission.status = Submission.Status.RUNNING
    submission.started_at = timezone.now()
    submission.deliveries += 1
    submission.save(update_fields=["status", "started_at", "deliveries"])


def submission_grade(*, submission: Submission) -> Submission:
    """Grade in the sandbox and store the result, once: a second delivery finds it graded and stops."""
    from lms.progress.grading import grader

    exercise = parse_exercise(json.dumps(submission.exercise.notebook), submission.exercise.format)
    engine = grader()
    if submission.kind == Submission.Kind.RUN:
        # Run: the learner's cells and their outputs, no test and no score.
        from lms.progress.outputs import run_feedback
        from sandbox.run import run_answers

        outcome = run_answers(engine, exercise, submission_answers(exercise, submission.notebook))
        verdict, score, max_score, feedback = outcome.status, None, None, run_feedback(outcome)
    else:
        if submission.kind == Submission.Kind.CHECK:
            result = engine.check(exercise, submission.notebook)
        else:
            result = engine.grade(exercise, submission.notebook)
        verdict, score, max_score, feedback = result.status, result.score, result.max_score, result.to_dict()
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.status == Submission.Status.GRADED:
            return locked
        locked.status = Submission.Status.GRADED
        locked.verdict = verdict
        locked.score = score
        locked.max_score = max_score
        locked.feedback = feedback
        locked.finished_at = timezone.now()
        locked.error = ""
        locked.save(update_fields=["status", "verdict", "score", "max_score", "feedback", "finished_at", "error"])
    return locked


def submission_fail(*, submission_id: int, error: str) -> None:
    """Grading could not run (not the learner's fault): say so, keep the submission for a regrade."""
    Submission.objects.filter(pk=submission_id).exclude(status=Submission.Status.GRADED).update(
        status=Submission.Status.FAILED, error=error[:4000], finished_at=timezone.now()
    )


def submission_requeue(*, submission_id: int) -> None:
    Submission.objects.filter(pk=submission_id).exclude(status=Submission.Status.GRADED).update(
        status=Submission.Status.QUEUED, queued_at=timezone.now()
    )


# -- hints ------------------------------------------------------------------------------------


def hint_reveal(*, user: AbstractBaseUser, exercise: Exercise, hint_total: int) -> int:
    """Reveal the learner's next hint of ``exercise`` (which has ``hint_total``) and record it.

    Returns how many hints are now revealed. Hints come one at a time and in order, so the next
    one is always number ``revealed``; asking again once all are shown records nothing.
    """
    revealed = HintReveal.objects.filter(user=user, exercise=exercise).count()
    if revealed >= hint_total:
        return revealed
    try:
        with transaction.atomic():
            HintReveal.objects.create(user=user, exercise=exercise, hint_index=revealed, revealed_at=timezone.now())
    except IntegrityError:  # a double click raced us; the other request recorded this hint
        pass
    return HintReveal.objects.filter(user=user, exercise=exercise).count()
