"""Writes to enrollments and completions. Views and pages call these, never save() themselves."""

import json
import logging
import secrets
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import CoursePage, Exercise, LessonPage
from courses.quizzes import grade_quiz
from courses.selectors import course_for_lesson
from lms.progress.models import (
    Certificate,
    Enrollment,
    HintReveal,
    LessonCompletion,
    QuizAttempt,
    Regrade,
    RegradeResult,
    Submission,
)
from sandbox import ExerciseFormatError, InvalidSubmission
from sandbox.formats import load_notebook, parse_exercise, submission_answers

logger = logging.getLogger(__name__)


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
    enrollment.save(update_fields=["last_lesson_key", "last_visited_at"])
    course_completion_evaluate(user=user, course=course)
    return completion


# -- quizzes ----------------------------------------------------------------------------------


@transaction.atomic
def quiz_answer(*, user: AbstractBaseUser, lesson: LessonPage, spec: dict[str, Any], raw: list[str]) -> QuizAttempt:
    """Grade a learner's answer to one quiz of a lesson, record the attempt and re-check the course's rule.

    Input that is not an answer raises QuizAnswerError (a message for the learner) and records nothing.
    """
    course = course_for_lesson(lesson=lesson)
    if course is None:
        raise ValueError("This lesson does not belong to a course.")
    grade = grade_quiz(spec, raw)
    enrollment_start(user=user, course=course)
    attempt = QuizAttempt.objects.create(
        user=user,
        course_key=course.translation_key,
        lesson_key=lesson.translation_key,
        quiz_id=spec["quiz_id"],
        answer=grade.answer,
        correct=grade.correct,
        score=grade.score,
        max_score=grade.max_score,
        language=lesson.locale.language_code,
        created_at=timezone.now(),
    )
    course_completion_evaluate(user=user, course=course)
    return attempt


# -- course completion and certificates ----------------------------------------------------------


@transaction.atomic
def course_completion_evaluate(*, user: AbstractBaseUser, course: CoursePage) -> Certificate | None:
    """Complete the learner's enrollment once every condition of the course's rule holds, and issue the
    certificate. Called whenever something the rule counts changes; running it again changes nothing.

    Returns the learner's certificate for the course when they have completed it.
    """
    from lms.progress.selectors import course_completion

    enrollment = Enrollment.objects.select_for_update().filter(user=user, course_key=course.translation_key).first()
    if enrollment is None:
        return None
    if enrollment.completed_at is None:
        if not course_completion(course=course, user=user).is_met:
            return None
        enrollment.completed_at = timezone.now()
        enrollment.save(update_fields=["completed_at"])
    return certificate_issue(user=user, course=course, issued_at=enrollment.completed_at)


def course_completion_evaluate_all(*, user: AbstractBaseUser) -> None:
    """Re-check every course the learner has not completed yet (after a graded exercise, which may sit
    in any of them)."""
    keys = list(Enrollment.objects.filter(user=user, completed_at__isnull=True).values_list("course_key", flat=True))
    # One language version of each course is enough: the rule and the progress are shared by all.
    courses = {}
    for course in CoursePage.objects.live().filter(translation_key__in=keys, alias_of__isnull=True):
        courses.setdefault(course.translation_key, course)
    for course in courses.values():
        course_completion_evaluate(user=user, course=course)


# Crockford's base 32: no I, L, O or U, so a code read aloud or typed from paper is not misread.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 random bits: guessing a valid code is hopeless


def certificate_code_normalise(raw: str) -> str:
    """A typed code in its stored form (XXXX-XXXX-XXXX), or "" when it cannot be one."""
    text = "".join(raw.split()).replace("-", "").upper()
    text = text.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(text) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in text):
        return ""
    return "-".join(text[start : start + 4] for start in range(0, CODE_LENGTH, 4))


def _new_code() -> str:
    return certificate_code_normalise("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))


def learner_display_name(user: AbstractBaseUser) -> str:
    """The name a person chose to be shown by, never derived from their e-mail address."""
    profile = getattr(user, "profile", None)
    name = (profile.display_name if profile else "") or user.get_full_name()  # type: ignore[attr-defined]
    return name.strip()[:200]


def certificate_issue(*, user: AbstractBaseUser, course: CoursePage, issued_at: datetime) -> Certificate:
    """The learner's one certificate for a course: created the first time, returned as it is after that.

    Its texts are frozen in the learner's preferred language, so a later rename of the course or of the
    learner does not rewrite a certificate someone already printed.
    """
    existing = Certificate.objects.filter(user=user, course_key=course.translation_key).first()
    if existing is not None:
        return existing
    profile = getattr(user, "profile", None)
    language = profile.preferred_language if profile else course.locale.language_code
    translated = CoursePage.objects.filter(translation_key=course.translation_key, locale__language_code=language)
    title = translated.values_list("title", flat=True).first() or course.title
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Certificate.objects.create(
                    user=user,
                    course_key=course.translation_key,
                    code=_new_code(),
                    learner_name=learner_display_name(user),
                    course_title=title,
                    language=language,
                    issued_at=issued_at,
                )
        except IntegrityError:
            # Either a concurrent request issued it (return that one) or the code collided (draw again).
            existing = Certificate.objects.filter(user=user, course_key=course.translation_key).first()
            if existing is not None:
                return existing
    raise RuntimeError("could not draw an unused certificate code")


def certificate_name_set(*, certificate: Certificate, name: str) -> Certificate:
    """Give a certificate issued without a name (the learner had none in their profile) its name, once."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("Enter the name to print on your certificate."))
    if len(name) > 200:
        raise ValidationError(_("The name is too long: at most 200 characters."))
    updated = Certificate.objects.filter(pk=certificate.pk, learner_name="").update(learner_name=name)
    if not updated:
        raise ValidationError(_("This certificate already has a name; it cannot be changed."))
    certificate.refresh_from_db()
    return certificate


def certificate_revoke(*, certificate: Certificate) -> None:
    Certificate.objects.filter(pk=certificate.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


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


def submission_start(*, submission: Submission) -> bool:
    """Mark the submission running and count the delivery, in one statement; False when it is
    already graded or failed (a re-delivered message for work already done)."""
    started_at = timezone.now()
    started = (
        Submission.objects.filter(pk=submission.pk)
        .exclude(status__in=(Submission.Status.GRADED, Submission.Status.FAILED))
        .update(status=Submission.Status.RUNNING, started_at=started_at, deliveries=F("deliveries") + 1)
    )
    if started:
        submission.status, submission.started_at = Submission.Status.RUNNING, started_at
    return bool(started)


def submission_grade(*, submission: Submission) -> Submission:
    """Grade in the sandbox and store the result, once: a second delivery finds it graded and stops.

    Run, Check and Submit all see the exercise's datasets read-only at /data. A dataset whose
    file is missing on this machine raises courses.datasets.DatasetUnavailable.
    """
    from courses.datasets import exercise_datasets_dir
    from lms.progress.grading import grader

    exercise = parse_exercise(json.dumps(submission.exercise.notebook), submission.exercise.format)
    datasets = exercise_datasets_dir(submission.exercise)
    engine = grader()
    if submission.kind == Submission.Kind.RUN:
        # Run: the learner's cells and their outputs, no test and no score.
        from lms.progress.outputs import run_feedback
        from sandbox.run import run_answers

        answers = submission_answers(exercise, submission.notebook)
        outcome = run_answers(engine, exercise, answers, datasets=datasets)
        verdict, score, max_score, feedback = outcome.status, None, None, run_feedback(outcome)
    else:
        if submission.kind == Submission.Kind.CHECK:
            result = engine.check(exercise, submission.notebook, datasets=datasets)
        else:
            result = engine.grade(exercise, submission.notebook, datasets=datasets)
        verdict, score, max_score, feedback = result.status, result.score, result.max_score, result.to_dict()
    # One conditional statement: whichever delivery stores first wins, a later one changes nothing.
    result = {
        "status": Submission.Status.GRADED,
        "verdict": verdict,
        "score": score,
        "max_score": max_score,
        "feedback": feedback,
        "finished_at": timezone.now(),
        "error": "",
    }
    stored = Submission.objects.filter(pk=submission.pk).exclude(status=Submission.Status.GRADED).update(**result)
    if not stored:
        return Submission.objects.get(pk=submission.pk)
    for name, value in result.items():
        setattr(submission, name, value)
    if submission.kind == Submission.Kind.SUBMIT:
        try:
            course_completion_evaluate_all(user=submission.user)
        except Exception:
            # The grade is stored; a failure here must not turn it into a failed task. The next lesson
            # completed or quiz answered evaluates the rule again.
            logger.exception("could not evaluate course completion after submission %s", submission.pk)
    return submission


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


# -- regrades ---------------------------------------------------------------------------------

# Regrade messages on queue `grading` at any one time per regrade: learners' own submissions
# interleave with them instead of waiting behind thousands of regrades.
REGRADE_IN_FLIGHT = 4


def regrade_start(*, exercise: Exercise, started_by: AbstractBaseUser | None) -> Regrade:
    """Regrade every graded Submit of ``exercise`` with its current notebook, through the grading workers.

    Records each submission's old score now; the tasks fill in the new ones. Refused (ValidationError)
    when a regrade of the exercise is already under way or there is nothing to regrade.
    """
    import hashlib

    from lms.progress.tasks import regrade_dispatch

    graded = Submission.objects.filter(
        exercise=exercise, kind=Submission.Kind.SUBMIT, status=Submission.Status.GRADED
    ).order_by("pk")
    with transaction.atomic():
        if Regrade.objects.filter(
            exercise=exercise, status__in=[Regrade.Status.QUEUED, Regrade.Status.RUNNING]
        ).exists():
            raise ValidationError(_("A regrade of this exercise is already running."), code="busy")
        rows = list(graded.values_list("pk", "score", "max_score", "verdict"))
        if not rows:
            raise ValidationError(_("This exercise has no graded submissions to regrade."), code="empty")
        digest = hashlib.sha256(json.dumps(exercise.notebook, sort_keys=True).encode()).hexdigest()
        try:
            with transaction.atomic():
                regrade = Regrade.objects.create(
                    exercise=exercise,
                    started_by=started_by,
                    notebook_sha256=digest,
                    total=len(rows),
                    started_at=timezone.now(),
                )
        except IntegrityError as error:  # another instructor pressed the button at the same moment
            raise ValidationError(_("A regrade of this exercise is already running."), code="busy") from error
        RegradeResult.objects.bulk_create(
            [
                RegradeResult(
                    regrade=regrade, submission_id=pk, old_score=score, old_max_score=max_score, old_verdict=verdict
                )
                for pk, score, max_score, verdict in rows
            ],
            batch_size=1000,
        )
        transaction.on_commit(lambda: regrade_dispatch.delay(regrade.pk))
    return regrade


def regrade_claim_next(*, regrade_id: int) -> int | None:
    """Mark the next waiting submission of a regrade as queued and return its result id (None: none left).

    A conditional UPDATE claims it, so two workers finishing at once never send the same one twice.
    """

    for _attempt in range(5):
        candidate = (
            RegradeResult.objects.filter(regrade_id=regrade_id, status=RegradeResult.Status.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if candidate is None:
            return None
        claimed = RegradeResult.objects.filter(pk=candidate, status=RegradeResult.Status.PENDING).update(
            status=RegradeResult.Status.QUEUED, queued_at=timezone.now()
        )
        if claimed:
            return candidate
    return None


def regrade_mark_running(*, regrade_id: int) -> None:

    Regrade.objects.filter(pk=regrade_id, status=Regrade.Status.QUEUED).update(status=Regrade.Status.RUNNING)


def regrade_result_grade(*, result_id: int) -> bool:
    """Grade one submission of a regrade in the sandbox and store the new score once.

    Returns False when there was nothing to do (a re-delivered message for a result already stored).
    The sandbox's own failures (SandboxUnavailable, KernelStartError) propagate to the task, as does
    courses.datasets.DatasetUnavailable when a dataset's file is missing here.
    """
    from courses.datasets import exercise_datasets_dir
    from lms.progress.grading import grader

    result = RegradeResult.objects.select_related("submission__exercise").filter(pk=result_id).first()
    if result is None or result.status in (RegradeResult.Status.REGRADED, RegradeResult.Status.FAILED):
        return False
    submission = result.submission
    exercise = parse_exercise(json.dumps(submission.exercise.notebook), submission.exercise.format)
    # The exercise's datasets as they are now, like its tests: a regrade follows fixes to both.
    graded = grader().grade(exercise, submission.notebook, datasets=exercise_datasets_dir(submission.exercise))
    now = timezone.now()
    with transaction.atomic():
        # Whoever flips the row first stores the grade and counts it; a duplicate finds it flipped.
        stored = (
            RegradeResult.objects.filter(pk=result_id)
            .exclude(status__in=[RegradeResult.Status.REGRADED, RegradeResult.Status.FAILED])
            .update(
                status=RegradeResult.Status.REGRADED,
                new_score=graded.score,
                new_max_score=graded.max_score,
                new_verdict=graded.status,
                finished_at=now,
            )
        )
        if not stored:
            return False
        Submission.objects.filter(pk=submission.pk).update(
            verdict=graded.status, score=graded.score, max_score=graded.max_score, feedback=graded.to_dict()
        )
        _regrade_count(regrade_id=result.regrade_id, field="done")
    try:
        # Best scores are read from the submissions, so progress follows at once; the completion rule
        # may now hold (a completed course is never taken back: see docs/instructor-analytics.md).
        course_completion_evaluate_all(user=submission.user)
    except Exception:
        logger.exception("could not evaluate course completion after regrading submission %s", submission.pk)
    return True


def regrade_result_fail(*, result_id: int, error: str) -> None:
    """The sandbox could not regrade this submission: it keeps its old score, and the regrade says so."""

    with transaction.atomic():
        result = RegradeResult.objects.filter(pk=result_id).values_list("regrade_id", flat=True).first()
        failed = (
            RegradeResult.objects.filter(pk=result_id)
            .exclude(status__in=[RegradeResult.Status.REGRADED, RegradeResult.Status.FAILED])
            .update(status=RegradeResult.Status.FAILED, error=error[:4000], finished_at=timezone.now())
        )
        if failed and result is not None:
            _regrade_count(regrade_id=result, field="failed")


def _regrade_count(*, regrade_id: int, field: str) -> None:
    """Count one more result (inside the caller's transaction) and finish the regrade with its last one."""

    Regrade.objects.filter(pk=regrade_id).update(**{field: F(field) + 1})
    Regrade.objects.filter(pk=regrade_id, total__lte=F("done") + F("failed")).exclude(
        status=Regrade.Status.FINISHED
    ).update(status=Regrade.Status.FINISHED, finished_at=timezone.now())
