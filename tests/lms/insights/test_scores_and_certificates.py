"""Average score by course and certificates issued: rollups, suppression, dashboard, CSV and API,
against figures computed by hand."""

import csv
import io
import uuid
from datetime import UTC, date, datetime

import pytest

from courses.content_loader import load_content
from courses.models import CoursePage, LessonPage
from lms.accounts.models import Role
from lms.insights import selectors, services
from lms.insights.models import Dimension, LearnerSnapshot, MonthlyUptake
from lms.insights.suppression import PRIMARY, SECONDARY, SHOWN, WITHHELD, Figure
from lms.progress.models import Submission
from tests.builders import write_course
from tests.lms.insights.conftest import certify, enroll, make_exercise, make_learner, make_staff, submit

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=UTC)


def _embed(lesson: LessonPage, exercise) -> None:
    lesson.body.append(("exercise", {"exercise": exercise}))
    lesson.save_revision().publish()


@pytest.fixture
def courses(tmp_path):
    """alpha (2 lessons, in English and French) and beta (1 lesson). Exercise a is in alpha's first
    lesson (both languages), shared is in alpha's second and in beta, loose is in no lesson."""
    write_course(tmp_path, slug="alpha", modules=1, lessons_per_module=2, languages=("en", "fr"))
    write_course(tmp_path, slug="beta", modules=1, lessons_per_module=1, languages=("en",))
    load_content(tmp_path)
    alpha = CoursePage.objects.get(slug="alpha", locale__language_code="en")
    beta = CoursePage.objects.get(slug="beta", locale__language_code="en")
    a, shared, loose = make_exercise("ex-a"), make_exercise("ex-shared"), make_exercise("ex-loose")
    alpha_lessons = {
        lesson.slug: lesson for lesson in LessonPage.objects.descendant_of(alpha).filter(locale__language_code="en")
    }
    _embed(alpha_lessons["lesson-1-1"], a)
    _embed(
        LessonPage.objects.get(locale__language_code="fr", translation_key=alpha_lessons["lesson-1-1"].translation_key),
        a,
    )
    _embed(alpha_lessons["lesson-1-2"], shared)
    _embed(LessonPage.objects.descendant_of(beta).get(locale__language_code="en"), shared)
    return {"alpha": alpha.translation_key, "beta": beta.translation_key, "a": a, "shared": shared, "loose": loose}


def test_an_exercise_belongs_to_the_courses_whose_lessons_embed_it(courses):
    assert selectors.exercise_courses() == {
        courses["a"].pk: {str(courses["alpha"])},
        courses["shared"].pk: {str(courses["alpha"]), str(courses["beta"])},
    }


@pytest.fixture
def scores(courses):
    """Ten learners in Rwanda. Learner i submits exercise a for i/10 (after a check at 10/10, which is
    not a grade); learners 0-4 submit shared for 4 then 10; learner 0 submits loose for 2.

    By hand: alpha has 10 scores on a (sum 4.5) + 5 on shared (sum 5.0) = 15 scores, sum 9.5, from 10
    learners: 63%. beta has 5 scores (sum 5.0) from 5 learners: withheld. All of Rwanda: 16 scores,
    sum 9.7, from 10 learners: 61%.
    """
    for i in range(10):
        learner = make_learner(country="RW", joined=at(1, 5))
        enroll(learner, courses["alpha"], at=at(1, 6))
        submit(learner, courses["a"], score=10, at=at(1, 7), kind=Submission.Kind.CHECK)
        submit(learner, courses["a"], score=i, at=at(1, 8))
        if i < 5:
            enroll(learner, courses["beta"], at=at(1, 6))
            submit(learner, courses["shared"], score=4, at=at(2, 1))
            submit(learner, courses["shared"], score=10, at=at(2, 2))
        if i == 0:
            submit(learner, courses["loose"], score=2, at=at(2, 3))
    services.rollups_refresh(now=NOW)
    return courses


def _snapshot(dimension: str, member: str = "") -> tuple[float, int, int]:
    row = LearnerSnapshot.objects.get(country="RW", dimension=dimension, member=member)
    return round(row.score_sum, 6), row.scored, row.scored_learners


def test_best_scores_roll_up_per_course_from_graded_submits_only(scores):
    assert _snapshot(Dimension.TOTAL) == (9.7, 16, 10)
    assert _snapshot(Dimension.COURSE, str(scores["alpha"])) == (9.5, 15, 10)
    assert _snapshot(Dimension.COURSE, str(scores["beta"])) == (5.0, 5, 5)
    assert _snapshot(Dimension.LANGUAGE, "en") == (9.7, 16, 10)


def test_the_dashboard_shows_course_averages_only_on_a_base_of_ten_learners(scores):
    dashboard = selectors.country_dashboard(country="RW")
    assert dashboard.headline["average_score"] == Figure(61, SHOWN, "61%")
    by_course = next(b for b in dashboard.breakdowns if b.dimension == Dimension.COURSE)
    averages = {row.key: row.figures["average_score"] for row in by_course.rows}
    assert averages == {
        str(scores["alpha"]): Figure(63, SHOWN, "63%"),
        str(scores["beta"]): Figure(None, WITHHELD, "–"),
    }
    assert "average_score" in by_course.measures and "certified" in by_course.measures


@pytest.fixture
def certificates():
    """Rwanda, no consent, joined in January. Course alpha: 12 certificates in March plus one revoked;
    beta: 3 in April. By hand: 15 issued; by course alpha 12 -> 10 but hidden (D) because beta's 3
    (<5, C) could be had as 15 - 10; by month March 12 hidden (D) for April's 3 (C); January and
    February 0."""
    alpha, beta = uuid.uuid4(), uuid.uuid4()
    for i in range(16):
        learner = make_learner(country="RW", joined=at(1, 5))
        course = alpha if i < 13 else beta
        enroll(learner, course, at=at(1, 6), completed_at=at(3 if course == alpha else 4, 1))
        revoked = at(5, 1) if i == 12 else None
        certify(learner, course, at=at(3, 2) if course == alpha else at(4, 2), revoked_at=revoked)
    staff = make_staff(Role.NETWORK_ADMIN)
    certify(staff, alpha, at=at(3, 2))  # staff are never counted
    services.rollups_refresh(now=NOW)
    return alpha, beta


def test_certificates_roll_up_by_issue_month_without_revoked_ones(certificates):
    alpha, beta = certificates
    rows = MonthlyUptake.objects.filter(country="RW", certified__gt=0)
    assert {(r.month, r.dimension, r.member, r.certified) for r in rows} == {
        (date(2026, 3, 1), "total", "", 12),
        (date(2026, 4, 1), "total", "", 3),
        (date(2026, 3, 1), "course", str(alpha), 12),
        (date(2026, 4, 1), "course", str(beta), 3),
        (date(2026, 3, 1), "language", "en", 12),
        (date(2026, 4, 1), "language", "en", 3),
        (date(2026, 3, 1), "centre", "", 12),
        (date(2026, 4, 1), "centre", "", 3),
    }


def test_certificates_are_suppressed_with_the_subtraction_attack_closed(certificates):
    alpha, beta = certificates
    dashboard = selectors.country_dashboard(country="RW")
    assert dashboard.headline["certified"] == Figure(15, SHOWN, "15")
    by_course = next(b for b in dashboard.breakdowns if b.dimension == Dimension.COURSE)
    assert {row.key: row.figures["certified"].status for row in by_course.rows} == {
        str(alpha): SECONDARY,
        str(beta): PRIMARY,
    }
    assert {row.key: row.figures["certified"].text for row in dashboard.months} == {
        "2026-01": "0",
        "2026-02": "0",
        "2026-03": "…",
        "2026-04": "<5",
    }


def test_the_csv_and_the_api_carry_the_same_certificate_and_score_figures(client, certificates):
    alpha, beta = certificates
    analyst = make_staff(Role.MINISTRY_ANALYST, countries=("RW",))
    client.force_login(analyst)
    rows = list(csv.DictReader(io.StringIO(client.get("/en/insights/rw/export.csv").content.decode())))
    issued = {
        (row["TIME_PERIOD"], row["COURSE"]): (row["OBS_VALUE"], row["OBS_STATUS"])
        for row in rows
        if row["INDICATOR"] == "CERTIFICATES" and row["LANGUAGE"] == "_T" and row["CENTRE"] == "_T"
    }
    as_of = selectors.latest_run().finished_at.date().isoformat()
    assert issued == {
        (as_of, "_T"): ("15", "A"),
        (as_of, str(alpha)): ("", "D"),
        (as_of, str(beta)): ("", "C"),
        ("2026-01", "_T"): ("0", "A"),
        ("2026-02", "_T"): ("0", "A"),
        ("2026-03", "_T"): ("", "D"),
        ("2026-04", "_T"): ("", "C"),
    }
    _token, raw = services.insights_token_issue(user=analyst)
    api = client.get("/api/v1/insights/countries/rw", headers={"Authorization": f"Bearer {raw}"}).json()
    assert [o for o in api["observations"] if o["INDICATOR"] == "CERTIFICATES"] == [
        row for row in rows if row["INDICATOR"] == "CERTIFICATES"
    ]


def test_a_revocation_reaches_an_old_month_in_the_next_quick_refresh(certificates):
    alpha, _beta = certificates
    from lms.progress.models import Certificate

    later = datetime(2026, 7, 2, 12, tzinfo=UTC)
    # One of March's alpha certificates is revoked in July, after the last refresh.
    first = Certificate.objects.filter(course_key=alpha, revoked_at__isnull=True, user__profile__role=Role.LEARNER)
    Certificate.objects.filter(pk=first.order_by("pk")[0].pk).update(revoked_at=later)
    services.rollups_refresh(now=later, full=False)
    quick = sorted(MonthlyUptake.objects.values_list("country", "month", "dimension", "member", "certified"))
    assert MonthlyUptake.objects.get(country="RW", month=date(2026, 3, 1), dimension="total").certified == 11
    services.rollups_refresh(now=later)
    assert sorted(MonthlyUptake.objects.values_list("country", "month", "dimension", "member", "certified")) == quick


def test_simulated_learners_get_certificates_for_most_completions_and_graded_submits():
    from lms.insights.simulation import activity_simulate
    from lms.progress.models import Certificate, Enrollment

    report = activity_simulate(learners=400, seed=5)
    completed = set(Enrollment.objects.filter(completed_at__isnull=False).values_list("user_id", "course_key"))
    certified = set(Certificate.objects.values_list("user_id", "course_key"))
    assert certified <= completed  # never a certificate without a completion
    assert 0.7 * len(completed) <= len(certified) == report.certificates <= len(completed)
    kinds = set(Submission.objects.values_list("kind", flat=True))
    assert kinds == {Submission.Kind.CHECK, Submission.Kind.SUBMIT}
    assert report.activity_rows / report.learners > 9  # the scale figure needs about 10 rows per learner
    services.rollups_refresh()
    rolled = sum(MonthlyUptake.objects.filter(dimension="total").values_list("certified", flat=True))
    assert rolled == Certificate.objects.filter(revoked_at__isnull=True).count()
