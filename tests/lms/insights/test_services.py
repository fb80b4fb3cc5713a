"""lms/insights/services.py: the rollups agree with the raw activity they summarise."""

import io
import uuid
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.db.models import Count

from lms.accounts.models import Profile, Role
from lms.accounts.services import training_centre_create
from lms.insights import services
from lms.insights.models import LearnerSnapshot, MonthlyUptake, RollupRun
from lms.progress.models import Enrollment
from tests.lms.insights.conftest import complete_lesson, enroll, make_exercise, make_learner, make_staff, submit

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
K1, K2 = uuid.uuid4(), uuid.uuid4()


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


@pytest.fixture
def activity():
    centre = training_centre_create(name="Kigali AI Centre", country="RW", city="Kigali")
    a = make_learner(country="RW", centre=centre, gender="female", age_band="25-34", joined=at(1, 10))
    enroll(a, K1, at=at(1, 12), completed_at=at(2, 20))
    enroll(a, K2, at=at(3, 1), visited=at(6, 10))
    ex1, ex2 = make_exercise("ex-1"), make_exercise("ex-2")
    submit(a, ex1, score=6, at=at(1, 20))
    submit(a, ex1, score=8, at=at(1, 21))
    submit(a, ex2, score=5, at=at(2, 1))
    submit(a, ex2, score=None, at=at(2, 2), status="failed")  # never counted
    b = make_learner(country="RW", language="fr", joined=at(2, 5))
    enroll(b, K1, at=at(2, 6))
    complete_lesson(b, K1, at=at(6, 1))
    c = make_learner(country="KE", joined=at(1, 1))
    enroll(c, K1, at=at(1, 2), completed_at=at(1, 30))
    make_learner(country="", joined=at(3, 3))
    analyst = make_staff(Role.MINISTRY_ANALYST, countries=("RW",))
    enroll(analyst, K1, at=at(1, 5))  # staff are not learners: never counted
    return centre


def monthly(country: str, dimension: str, member: str = "") -> dict[date, tuple[int, int, int]]:
    rows = MonthlyUptake.objects.filter(country=country, dimension=dimension, member=member)
    return {r.month: (r.registered, r.enrolled, r.completed) for r in rows}


def test_rollups_match_hand_computed_figures(activity):
    run = services.rollups_refresh(now=NOW)
    jan, feb, mar = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    # (registered, enrolled, completed) per month
    assert monthly("RW", "total") == {jan: (1, 1, 0), feb: (1, 1, 1), mar: (0, 1, 0)}
    assert monthly("RW", "course", str(K1)) == {jan: (0, 1, 0), feb: (0, 1, 1)}
    assert monthly("RW", "course", str(K2)) == {mar: (0, 1, 0)}
    assert monthly("RW", "language", "fr") == {feb: (1, 1, 0)}
    assert monthly("RW", "centre", str(activity.pk)) == {jan: (1, 1, 0), feb: (0, 0, 1), mar: (0, 1, 0)}
    assert monthly("RW", "centre", "") == {feb: (1, 1, 0)}
    assert monthly("RW", "sex", "female") == {jan: (1, 1, 0), feb: (0, 0, 1), mar: (0, 1, 0)}
    assert monthly("RW", "age", "25-34") == monthly("RW", "sex", "female")
    assert monthly("KE", "total") == {jan: (1, 1, 1)}
    assert monthly("", "total") == {mar: (1, 0, 0)}
    rw = LearnerSnapshot.objects.get(country="RW", dimension="total")
    # a visited on 10 June and b completed a lesson on 1 June; best scores 8/10 and 5/10.
    assert (rw.active_30d, rw.scored, round(rw.score_sum, 6)) == (2, 2, 1.3)
    assert not LearnerSnapshot.objects.filter(country="KE", active_30d__gt=0).exists()
    assert run.source_rows == 4 + 4 + 2  # registrations, enrolments, completions of learners
    assert RollupRun.objects.count() == 1


def test_refreshing_twice_gives_the_same_rollups(activity):
    services.rollups_refresh(now=NOW)
    first = sorted(MonthlyUptake.objects.values_list("country", "month", "dimension", "member", "enrolled"))
    services.rollups_refresh(now=NOW)
    assert sorted(MonthlyUptake.objects.values_list("country", "month", "dimension", "member", "enrolled")) == first


def test_simulated_activity_rolls_up_to_the_raw_counts():
    call_command("simulate_activity", learners=300, seed=7, stdout=io.StringIO())
    call_command("refresh_insights", stdout=io.StringIO())
    raw = dict(
        Enrollment.objects.filter(user__profile__role=Role.LEARNER)
        .values_list("user__profile__country")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rolled: dict[str, int] = {}
    for country, enrolled in MonthlyUptake.objects.filter(dimension="total").values_list("country", "enrolled"):
        rolled[country] = rolled.get(country, 0) + enrolled
    assert {k: v for k, v in rolled.items() if v} == raw
    assert sum(raw.values()) == Enrollment.objects.count() >= 300
    registered = sum(MonthlyUptake.objects.filter(dimension="total").values_list("registered", flat=True))
    assert registered == 300
    assert Profile.objects.filter(consents_to_statistics=True).count() in range(90, 150)  # about 40%
    assert Profile.objects.values("country").distinct().count() > 30


def test_a_refresh_since_the_last_one_equals_a_full_rebuild(activity):
    services.rollups_refresh(now=NOW)
    # New activity in June, after the refresh: a new learner and an enrolment of an existing one.
    late = make_learner(country="RW", joined=at(6, 14))
    enroll(late, K2, at=at(6, 14), completed_at=at(6, 15))
    run = services.rollups_refresh(now=NOW, full=False)
    incremental = sorted(
        MonthlyUptake.objects.values_list(
            "country", "month", "dimension", "member", "registered", "enrolled", "completed"
        )
    )
    assert not run.full and run.source_rows == 2 + 1  # only June's activity was read
    services.rollups_refresh(now=NOW)
    full = sorted(
        MonthlyUptake.objects.values_list(
            "country", "month", "dimension", "member", "registered", "enrolled", "completed"
        )
    )
    assert incremental == full
    assert monthly("RW", "total")[date(2026, 6, 1)] == (1, 1, 1)


def test_beat_runs_both_refreshes_and_the_tasks_exist():
    from django.conf import settings

    from lms.celery import app
    from lms.insights import tasks

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"lms.insights.tasks.refresh_insights", "lms.insights.tasks.rebuild_insights"} <= scheduled
    assert {tasks.refresh_insights.name, tasks.rebuild_insights.name} <= set(app.tasks)
    tasks.refresh_insights()  # runs in-process: an empty database gives empty rollups
    assert RollupRun.objects.get().full  # the first refresh has nothing to build on, so it is full
