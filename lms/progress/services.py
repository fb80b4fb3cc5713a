"""Writes to enrollments and completions. Views and pages call these, never save() themselves."""

import json

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import CoursePage, Exercise, LessonPage
from courses.selectors import course_for_lesson, lesson_count
from lms.progress.models import Enrollment, LessonCompletion, Submission
from sandbox import ExerciseFormatError, InvalidSubmission
from sandbox.formats import load_notebook, parse_exercise


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
        raise ValidationError(_("Unknown kind of submission: %(kind)s.") % {"kind": str(kind)[:40]}, code="invalid")
    raw = json.dumps(notebook) if isinstance(notebook, dict) else notebook
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_SUBMISSION_BYTES:
        raise ValidationError(
            _("The notebook is %(size)d KiB; the limit is %(limit)d KiB.")
            % {"size": -(-size // 1024), "limit": MAX_SUBMISSION_BYTES // 1024},
            code="too_large",
        )
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


def learner_submit(
    *,
    user: AbstractBaseUser,
    exercise: Exercise,
    kind: str,
    answers: dict[str, str] | None = None,
    upload: bytes | None = None,
) -> Submission:
    """What the web pages and the API call when a learner presses Check or Submit, or uploads a notebook.

    In order: the kind, the learner's rate limit (raises ratelimit.RateLimited), then the input
    (raises ValidationError with the learner's message). Only then is a Submission stored. An
    upload is reduced to its answer cells inside the released notebook: outputs, extra cells and
    metadata the learner's Jupyter wrote are not kept (the engine would ignore them anyway).
    """
    from courses.exercises import answer_keys, exercise_release, learner_notebook
    from lms.progress import notebooks
    from lms.progress.ratelimit import rate_limit_hit

    if kind not in Submission.Kind.values:
        raise ValidationError(_("Unknown kind of submission: %(kind)s.") % {"kind": str(kind)[:40]}, code="invalid")
    rate_limit_hit(user=user, action=kind)
    release = exercise_release(exercise)
    if upload is not None:
        answers = notebooks.notebook_answers(exercise, notebooks.notebook_read(upload))
    wanted = answer_keys(release)
    if not isinstance(answers, dict) or not all(isinstance(text, str) for text in answers.values()):
        raise ValidationError(_("The answers must map each answer cell to its code, as text."), code="invalid")
    if unknown := sorted(str(key)[:40] for key in answers if key not in wanted):
        raise ValidationError(
            _("This exercise has no answer cell %(unknown)s; its answer cells are: %(known)s.")
            % {"unknown": ", ".join(unknown[:5]), "known": ", ".join(wanted)},
            code="invalid",
        )
    notebooks.code_check(answers)
    return submission_create(user=user, exercise=exercise, notebook=learner_notebook(release, answers), kind=kind)


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
    if submission.kind == Submission.Kind.CHECK:
        result = engine.check(exercise, submission.notebook)
    else:
        result = engine.grade(exercise, submission.notebook)
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.status == Submission.Status.GRADED:
            return locked
        locked.status = Submission.Status.GRADED
        locked.verdict = result.status
        locked.score = result.score
        locked.max_score = result.max_score
        locked.feedback = result.to_dict()
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
