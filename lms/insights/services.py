"""Writes for insights: rebuilding the rollups from raw activity, and issuing API tokens."""

import secrets
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from lms.accounts.models import Profile, Role
from lms.insights.models import Dimension, InsightsToken, LearnerSnapshot, MonthlyUptake, RollupRun, token_hash
from lms.insights.selectors import exercise_courses
from lms.progress.models import Certificate, Enrollment, LessonCompletion, Submission

ACTIVE_DAYS = 30
_LEARNER_CELL = ("country", "preferred_language", "centre_id", "gender", "age_band")


def _slices(*, course_key: object, language: str, centre_id: int | None, gender: str, age_band: str) -> Iterator:
    """The (dimension, member) slices one group of learners counts in."""
    yield Dimension.TOTAL, ""
    if course_key is not None:
        yield Dimension.COURSE, str(course_key)
    yield Dimension.LANGUAGE, language or ""
    yield Dimension.CENTRE, str(centre_id) if centre_id else ""
    # Demographics are only ever stored for consenting learners (Profile's check constraint).
    if gender:
        yield Dimension.SEX, gender
    if age_band:
        yield Dimension.AGE, age_band


def _month(value: datetime | date) -> date:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def _activity_by_month(queryset, *, when: str, prefix: str, with_course: bool) -> Iterator[tuple]:
    fields = [f"{prefix}{name}" for name in _LEARNER_CELL]
    if with_course:
        fields.append("course_key")
    rows = queryset.annotate(month=TruncMonth(when)).values_list("month", *fields).annotate(n=Count("pk")).order_by()
    for row in rows:
        month, country, language, centre_id, gender, age_band = row[:6]
        course_key = row[6] if with_course else None
        yield country or "", _month(month), course_key, language, centre_id, gender, age_band, row[-1]


def _monthly_rows(since: date | None) -> tuple[list[MonthlyUptake], int]:
    """Monthly slices from `since` (the first day of a month) on, or for all time."""
    cells: dict[tuple, dict[str, int]] = defaultdict(
        lambda: {"registered": 0, "enrolled": 0, "completed": 0, "certified": 0}
    )
    learner = Q(user__profile__role=Role.LEARNER)
    start = datetime(since.year, since.month, 1, tzinfo=UTC) if since else None

    def after(field: str) -> Q:
        return Q(**{f"{field}__gte": start}) if start else Q()

    sources = (
        (
            "registered",
            _activity_by_month(
                Profile.objects.filter(after("user__date_joined"), role=Role.LEARNER),
                when="user__date_joined",
                prefix="",
                with_course=False,
            ),
        ),
        (
            "enrolled",
            _activity_by_month(
                Enrollment.objects.filter(learner, after("enrolled_at")),
                when="enrolled_at",
                prefix="user__profile__",
                with_course=True,
            ),
        ),
        (
            "completed",
            _activity_by_month(
                Enrollment.objects.filter(learner, after("completed_at"), completed_at__isnull=False),
                when="completed_at",
                prefix="user__profile__",
                with_course=True,
            ),
        ),
        (
            "certified",
            # A revoked certificate is not counted at all, in its issue month or later.
            _activity_by_month(
                Certificate.objects.filter(learner, after("issued_at"), revoked_at__isnull=True),
                when="issued_at",
                prefix="user__profile__",
                with_course=True,
            ),
        ),
    )
    source_rows = 0
    for measure, rows in sources:
        for country, month, course_key, language, centre_id, gender, age_band, n in rows:
            source_rows += n
            for dimension, member in _slices(
                course_key=course_key, language=language, centre_id=centre_id, gender=gender, age_band=age_band
            ):
                cells[(country, month, dimension, member)][measure] += n
    return [
        MonthlyUptake(country=country, month=month, dimension=dimension, member=member, **measures)
        for (country, month, dimension, member), measures in cells.items()
    ], source_rows


def _best_scores(courses: dict[int, set[str]]) -> Iterator[tuple]:
    """Per learner cell, and per learner cell and course: the sum and number of best scores (the best
    score / max score of each learner's graded submits of each exercise) and the number of learners.

    Only "submit" attempts count: a "check" runs the visible tests alone, so its score is not a grade.
    The number of learners, not of scores, is the base the privacy rules apply to: ten scores from
    two learners would otherwise publish an average of two people.
    """
    submission, profile = Submission._meta.db_table, Profile._meta.db_table
    cell = "p.country, p.preferred_language, p.centre_id, p.gender, p.age_band"
    pairs = [(exercise, course) for exercise, keys in sorted(courses.items()) for course in sorted(keys)]
    params: list[object] = [Submission.Status.GRADED, Submission.Kind.SUBMIT, Role.LEARNER]
    sql = f"""
        WITH best AS (
            SELECT s.user_id, s.exercise_id, MAX(s.score / s.max_score) AS best
            FROM {submission} s
            WHERE s.status = %s AND s.kind = %s AND s.score IS NOT NULL AND s.max_score > 0
            GROUP BY s.user_id, s.exercise_id
        )
        SELECT {cell}, NULL, SUM(l.total), SUM(l.n), COUNT(*)
        FROM (SELECT user_id, SUM(best) AS total, COUNT(*) AS n FROM best GROUP BY user_id) l
        JOIN {profile} p ON p.user_id = l.user_id
        WHERE p.role = %s
        GROUP BY {cell}
    """  # noqa: S608 - table names come from the models, values are parameters
    if pairs:
        # The exercise -> course links come from the lesson bodies, not a table: sent as a row list.
        links = " UNION ALL ".join(["SELECT %s AS exercise_id, %s AS course_key"] * len(pairs))
        sql += f"""
        UNION ALL
        SELECT {cell}, l.course_key, SUM(l.total), SUM(l.n), COUNT(*)
        FROM (
            SELECT b.user_id, m.course_key, SUM(b.best) AS total, COUNT(*) AS n
            FROM best b JOIN ({links}) m ON m.exercise_id = b.exercise_id
            GROUP BY b.user_id, m.course_key
        ) l
        JOIN {profile} p ON p.user_id = l.user_id
        WHERE p.role = %s
        GROUP BY {cell}, l.course_key
        """  # noqa: S608
        for exercise, course in pairs:
            params += [exercise, course]
        params.append(Role.LEARNER)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        yield from cursor.fetchall()


def _active_learners(since: datetime) -> list[tuple]:
    """Per learner cell: distinct learners with any activity since `since`.

    One IN over a UNION, which PostgreSQL runs as a semi-join; ORed EXISTS or IN subqueries would be
    probed once per learner, or rescanned when their hash does not fit in work_mem.
    """
    profile, enrollment = Profile._meta.db_table, Enrollment._meta.db_table
    completion, submission = LessonCompletion._meta.db_table, Submission._meta.db_table
    sql = f"""
        SELECT p.country, p.preferred_language, p.centre_id, p.gender, p.age_band, COUNT(*)
        FROM {profile} p
        WHERE p.role = %s AND p.user_id IN (
            SELECT user_id FROM {enrollment} WHERE last_visited_at >= %s OR enrolled_at >= %s
            UNION SELECT user_id FROM {completion} WHERE completed_at >= %s
            UNION SELECT user_id FROM {submission} WHERE created_at >= %s
        )
        GROUP BY p.country, p.preferred_language, p.centre_id, p.gender, p.age_band
    """  # noqa: S608 - table names come from the models, values are parameters
    when = connection.ops.adapt_datetimefield_value(since)
    with connection.cursor() as cursor:
        cursor.execute(sql, [Role.LEARNER, when, when, when, when])
        return cursor.fetchall()


def _snapshot_rows(now: datetime) -> list[LearnerSnapshot]:
    cells: dict[tuple, dict[str, float]] = defaultdict(
        lambda: {"active_30d": 0, "score_sum": 0.0, "scored": 0, "scored_learners": 0}
    )
    since = now - timedelta(days=ACTIVE_DAYS)
    active = _active_learners(since)
    for country, language, centre_id, gender, age_band, n in active:
        for slice_ in _slices(
            course_key=None, language=language, centre_id=centre_id, gender=gender, age_band=age_band
        ):
            cells[(country or "", *slice_)]["active_30d"] += n
    for country, language, centre_id, gender, age_band, course_key, total, n, learners in _best_scores(
        exercise_courses()
    ):
        if course_key is None:
            slices = _slices(course_key=None, language=language, centre_id=centre_id, gender=gender, age_band=age_band)
        else:
            # The per-course rows only feed the course slices; the learner cell's slices come from the totals.
            slices = iter([(Dimension.COURSE, str(course_key))])
        for slice_ in slices:
            cell = cells[(country or "", *slice_)]
            cell["score_sum"] += float(total)
            cell["scored"] += int(n)  # SUM of integers is a numeric on PostgreSQL
            cell["scored_learners"] += learners
    return [
        LearnerSnapshot(country=country, dimension=dimension, member=member, **measures)
        for (country, dimension, member), measures in cells.items()
    ]


def rollups_refresh(*, now: datetime | None = None, full: bool = True) -> RollupRun:
    """Rebuild the rollups from raw activity in one transaction: readers see the old or the new set.

    `full=False` recomputes only the months since the last refresh started (earlier months cannot
    gain activity), the issue months of certificates revoked since then, and the snapshot; a full
    rebuild also picks up learners who changed country, centre, language or consent, so it runs nightly.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    last = RollupRun.objects.order_by("-started_at").first()
    since = None if full or last is None else _month(min(last.started_at, now))
    if since is not None:
        # A certificate revoked since the last refresh leaves its issue month, however old.
        revoked = Certificate.objects.filter(revoked_at__gte=last.started_at).aggregate(first=Min("issued_at"))
        if revoked["first"] is not None:
            since = min(since, _month(revoked["first"]))
    monthly, source_rows = _monthly_rows(since)
    snapshot = _snapshot_rows(now)
    with transaction.atomic():
        stale = MonthlyUptake.objects.all() if since is None else MonthlyUptake.objects.filter(month__gte=since)
        stale.delete()
        LearnerSnapshot.objects.all().delete()
        MonthlyUptake.objects.bulk_create(monthly, batch_size=5000)
        LearnerSnapshot.objects.bulk_create(snapshot, batch_size=5000)
        return RollupRun.objects.create(
            started_at=now,
            finished_at=timezone.now(),
            seconds=time.perf_counter() - started,
            source_rows=source_rows,
            full=since is None,
        )


def insights_token_issue(*, user: AbstractBaseUser, label: str = "") -> tuple[InsightsToken, str]:
    """Create an API token; the raw value is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    token = InsightsToken.objects.create(user=user, key_hash=token_hash(raw), label=label)
    return token, raw
