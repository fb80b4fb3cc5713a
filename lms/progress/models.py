from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Enrollment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    # CoursePage.translation_key: the same for every language version of the course.
    course_key = models.UUIDField(_("course"))
    enrolled_at = models.DateTimeField(_("enrolled at"))
    last_lesson_key = models.UUIDField(null=True, blank=True)
    last_visited_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course_key"], name="one_enrollment_per_course")]
        indexes = [models.Index(fields=["course_key", "enrolled_at"])]
        verbose_name = _("enrollment")

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course_key}"


class LessonCompletion(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_completions")
    course_key = models.UUIDField()
    lesson_key = models.UUIDField()
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lesson_key"], name="one_completion_per_lesson")]
        indexes = [models.Index(fields=["user", "course_key"]), models.Index(fields=["course_key", "completed_at"])]
        verbose_name = _("lesson completion")

    def __str__(self) -> str:
        return f"{self.user_id} completed {self.lesson_key}"


class Submission(models.Model):
    """One attempt at an exercise. The row exists before its grading task is queued, so a lost
    message is found again by the sweep (lms.progress.tasks.requeue_stale_submissions)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        GRADED = "graded", _("Graded")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("Submit: visible and hidden tests")
        CHECK = "check", _("Check: visible tests only")
        RUN = "run", _("Run: outputs without grading")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    exercise = models.ForeignKey("courses.Exercise", on_delete=models.PROTECT, related_name="submissions")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SUBMIT)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The learner's notebook as submitted; the engine reads only the answer cells from it.
    notebook = models.JSONField()
    # The engine's verdict: "graded", "time limit", "memory limit", "crashed", ...
    verdict = models.CharField(max_length=40, blank=True)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    # Learner-safe feedback (per-test outcome and messages); hidden tests' source never appears.
    feedback = models.JSONField(default=dict, blank=True)
    # Why grading could not run at all (an infrastructure failure), for operators.
    error = models.TextField(blank=True)
    deliveries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its task was last put on the queue; the sweep re-queues only what has waited too long.
    queued_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "queued_at"]),
            models.Index(fields=["user", "exercise", "-created_at"]),
        ]
        verbose_name = _("submission")

    def __str__(self) -> str:
        return f"submission {self.pk} ({self.status})"


class HintReveal(models.Model):
    """A learner asked for the next hint of an exercise. Hints are revealed one at a time, in
    order, so the rows of a learner and exercise are indexes 0..n-1; they count in every language."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hint_reveals")
    exercise = models.ForeignKey("courses.Exercise", on_delete=models.CASCADE, related_name="hint_reveals")
    hint_index = models.PositiveSmallIntegerField(_("hint number"))
    revealed_at = models.DateTimeField(_("revealed at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "exercise", "hint_index"], name="one_reveal_per_hint")]
        verbose_name = _("hint reveal")

    def __str__(self) -> str:
        return f"{self.user_id} revealed hint {self.hint_index} of exercise {self.exercise_id}"


class Certificate(models.Model):
    """Proof that a learner completed a course. Anyone holding ``code`` can verify it on a public
    page, which shows the name on the certificate but never the learner's e-mail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates")
    course_key = models.UUIDField(_("course"))
    # Unguessable, short enough to type from a printed page; unique across the deployment.
    code = models.CharField(_("verification code"), max_length=20, unique=True)
    # What the certificate says, frozen at issue time: later renames do not rewrite it.
    learner_name = models.CharField(_("name on the certificate"), max_length=200)
    course_title = models.CharField(_("course title"), max_length=255)
    language = models.CharField(_("language"), max_length=10)
    issued_at = models.DateTimeField(_("issued at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course_key"], name="one_certificate_per_course")]
        indexes = [models.Index(fields=["course_key", "issued_at"])]
        verbose_name = _("certificate")

    def __str__(self) -> str:
        return f"{self.code} ({self.user_id} in {self.course_key})"


class QuizAttempt(models.Model):
    """One graded answer to a quiz. A quiz is identified by its course and its id in the lesson file, which
    all languages share; the best attempt counts towards the course's completion rule."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts")
    course_key = models.UUIDField(_("course"))
    lesson_key = models.UUIDField(_("lesson"))
    quiz_id = models.CharField(_("quiz"), max_length=80)
    # Chosen option numbers (0-based), the number read or the text typed, as graded.
    answer = models.JSONField()
    correct = models.BooleanField()
    score = models.FloatField()
    max_score = models.FloatField()
    # The language the learner answered in: a text answer is compared with that language's accepted list.
    language = models.CharField(max_length=10)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "course_key", "quiz_id", "-created_at"])]
        verbose_name = _("quiz attempt")

    def __str__(self) -> str:
        return f"{self.user_id} on {self.quiz_id}: {self.score}/{self.max_score}"


class Regrade(models.Model):
    """An instructor regrades every graded Submit of an exercise with its current notebook, typically
    after fixing a test. Each submission's old and new score is a RegradeResult; the counters feed the
    admin's progress bar (lms.progress.services, "regrades")."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")

    exercise = models.ForeignKey("courses.Exercise", on_delete=models.CASCADE, related_name="regrades")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The notebook graded against, as a SHA-256 of its JSON: which version of the tests gave the new scores.
    notebook_sha256 = models.CharField(max_length=64)
    total = models.PositiveIntegerField(_("submissions"))
    done = models.PositiveIntegerField(_("regraded"), default=0)
    failed = models.PositiveIntegerField(_("could not be regraded"), default=0)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        constraints = [
            # Two regrades of one exercise at once would race for the same submissions.
            models.UniqueConstraint(
                fields=["exercise"], condition=models.Q(status__in=["queued", "running"]), name="one_active_regrade"
            )
        ]
        verbose_name = _("regrade")

    def __str__(self) -> str:
        return f"regrade {self.pk} of exercise {self.exercise_id} ({self.status})"


class RegradeResult(models.Model):
    """One submission in a regrade: its score before and after. The status moves pending -> queued ->
    regraded (or failed) exactly once, by a conditional UPDATE, so a re-delivered task counts nothing twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        QUEUED = "queued", _("Queued")
        REGRADED = "regraded", _("Regraded")
        FAILED = "failed", _("Failed")

    regrade = models.ForeignKey(Regrade, on_delete=models.CASCADE, related_name="results")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="regrade_results")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    old_score = models.FloatField(null=True, blank=True)
    old_max_score = models.FloatField(null=True, blank=True)
    old_verdict = models.CharField(max_length=40, blank=True)
    new_score = models.FloatField(null=True, blank=True)
    new_max_score = models.FloatField(null=True, blank=True)
    new_verdict = models.CharField(max_length=40, blank=True)
    # Why this submission could not be regraded (an infrastructure failure), for operators.
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["regrade", "submission"], name="one_result_per_submission")]
        indexes = [models.Index(fields=["regrade", "status"])]
        verbose_name = _("regrade result")

    def __str__(self) -> str:
        return f"{self.submission_id}: {self.old_score} -> {self.new_score}"
