"""Rollups the dashboards, exports and API read, and the tokens the API accepts.

Dashboards never read raw activity: `refresh_insights` (a Celery beat task and a command) rebuilds
these tables from Profile, Enrollment, LessonCompletion, Submission and Certificate.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Dimension(models.TextChoices):
    TOTAL = "total", _("Total")
    COURSE = "course", _("Course")
    LANGUAGE = "language", _("Language")
    CENTRE = "centre", _("Training centre")
    SEX = "sex", _("Gender")
    AGE = "age", _("Age band")


class MonthlyUptake(models.Model):
    """One month of one slice of a country: the total, or one course, language, centre, gender or age band.

    Slices rather than a full cube: a dashboard reads a few hundred rows per country, whatever the
    number of learners. Gender and age slices count only learners who consent to statistics.
    """

    country = models.CharField(max_length=2, blank=True)  # "" is the unknown-country bucket
    month = models.DateField()  # first day of the month
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    member = models.CharField(max_length=40, blank=True)  # course key, language, centre id, gender, age band
    registered = models.PositiveIntegerField(default=0)
    enrolled = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    # Certificates issued that month and not revoked since.
    certified = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["country", "dimension"]), models.Index(fields=["dimension", "country"])]
        verbose_name = _("monthly uptake")


class LearnerSnapshot(models.Model):
    """Figures as of the last refresh that are not monthly sums: distinct learners active in the last
    30 days, and the average of each learner's best score per exercise (sum and count of best scores,
    and the number of learners they come from, which is the base the privacy rules look at).

    Course slices carry only the score figures (an exercise belongs to the courses whose lessons embed it).
    """

    country = models.CharField(max_length=2, blank=True)
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    member = models.CharField(max_length=40, blank=True)
    active_30d = models.PositiveIntegerField(default=0)
    score_sum = models.FloatField(default=0)
    scored = models.PositiveIntegerField(default=0)
    scored_learners = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["country", "dimension"])]
        verbose_name = _("learner snapshot")


class RollupRun(models.Model):
    """One refresh of the rollups: when the figures are from, and how long it took."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    seconds = models.FloatField()
    source_rows = models.PositiveBigIntegerField(default=0)
    full = models.BooleanField(default=True)  # False: only the months since the previous refresh

    class Meta:
        get_latest_by = "finished_at"
        verbose_name = _("rollup run")


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class InsightsToken(models.Model):
    """An API token. Only its SHA-256 is stored; the raw token is shown once, when issued."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="insights_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("insights API token")

    def __str__(self) -> str:
        return f"token {self.pk} for {self.user_id}"
