"""Instructor analytics, the grades CSV and who may see them, on a hand-built data set whose every
figure is worked out in tests/lms/analytics_data.py. No kernel runs here: the submissions are written
as a grading worker would have stored them."""

import csv
import io

import pytest
from allauth.mfa.models import Authenticator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import CoursePage
from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.celery import app
from lms.progress import analytics, services
from lms.progress.admin_views import csv_safe
from lms.progress.models import Enrollment, Regrade, RegradeResult
from tests.lms.analytics_data import build_data_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_set(tmp_path, django_user_model):
    return build_data_set(tmp_path, django_user_model)


def test_exercise_figures_are_exact(data_set, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        figures = analytics.exercise_analytics(exercise=data_set["exercise"])
    assert (figures.attempts, figures.learners, figures.passed, figures.pass_score) == (9, 4, 3, 7.0)
    # Attempts to pass: A 2, B 4, D 1 -> median 2.
    assert analytics.attempts_to_pass(exercise_id=data_set["exercise"].pk, threshold=7.0) == {1: 1, 2: 1, 4: 1}
    assert figures.median_attempts_to_pass == 2.0
    # hidden-numpy fails at scores 0, 1, 3 and 5: B's 0, 1, 5, A's 3 and C's 5.
    assert [(test.test_id, test.failures) for test in figures.failing_tests] == [
        ("hidden-numpy", 5),
        ("hidden-float", 3),
        ("hidden-int", 2),
        ("visible", 1),
    ]
    assert figures.most_failed.name == "Test hidden-numpy"
    # Best scores: A, B, D 7; C 5.
    assert [(item.label, item.learners) for item in figures.histogram] == [
        ("0", 0), ("1", 0), ("2", 0), ("3", 0), ("4", 0), ("5", 1), ("6", 0), ("7", 3),
    ]  # fmt: skip


def test_median_and_histogram_helpers():
    assert analytics._median({}) is None
    assert analytics._median({1: 1, 3: 1}) == 2.0
    assert analytics._median({1: 3, 9: 1}) == 1.0
    bins = analytics.score_histogram({0.0: 1, 2.5: 2, 25.0: 4}, maximum=25.0)
    assert [item.learners for item in bins] == [1, 2, 0, 0, 0, 0, 0, 0, 0, 4] and bins[0].label == "0–2.5"


def test_course_figures_and_drop_off_are_exact(data_set, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        figures = analytics.course_analytics(course=data_set["course"])
    assert (figures.enrolled, figures.completed, figures.not_started) == (6, 1, 1)
    # Furthest lesson: A 3, B 1, C 2, D 1, E 3 (F none).
    assert [(row.position, row.reached, row.completed, row.stopped) for row in figures.lessons] == [
        (1, 5, 3, 2),
        (2, 3, 1, 1),
        (3, 2, 1, 2),
    ]
    assert [(row.exercise.slug, row.attempts, row.learners, row.passed) for row in figures.exercises] == [
        ("mean-square", 9, 4, 3)
    ]


def test_the_same_figures_for_every_language_version_of_the_course(data_set):
    # Progress is kept by translation key: the Arabic course (an alias here) shows the same learners.
    arabic = CoursePage.objects.get(locale__language_code="ar")
    figures = analytics.course_analytics(course=arabic)
    assert (figures.enrolled, figures.completed) == (6, 1)


# -- access -------------------------------------------------------------------------------------


def staff_client(client, django_user_model, role, handle="teacher"):
    user = django_user_model.objects.create_user(handle, f"{handle}@example.org", "x" * 12)
    accounts.profile_create(user=user, country="SN")
    accounts.role_assign(user=user, role=role)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(user)
    return client


def urls(data_set):
    course, exercise = data_set["course"], data_set["exercise"]
    return [
        reverse("progress_analytics:exercise", kwargs={"exercise_id": exercise.pk}),
        reverse("progress_analytics:course", kwargs={"page_id": course.pk}),
        reverse("progress_analytics:course_grades", kwargs={"page_id": course.pk}),
    ]


def test_an_instructor_sees_the_pages_and_the_links_to_them(data_set, client, django_user_model):
    staff_client(client, django_user_model, Role.INSTRUCTOR)
    exercise_url, course_url, _csv = urls(data_set)
    page = client.get(exercise_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-figure="median">2<' in html and "Test hidden-numpy" in html and "<svg" in html
    page = client.get(course_url)
    assert page.status_code == 200 and 'data-figure="enrolled">6<' in page.content.decode()
    # Linked from the Exercise snippet's listing and edit view, and from the course page's header.
    listing = client.get(reverse("wagtailsnippets_courses_exercise:list")).content.decode()
    assert exercise_url in listing
    edit = client.get(reverse("wagtailsnippets_courses_exercise:edit", args=[data_set["exercise"].pk]))
    assert exercise_url in edit.content.decode()
    course_edit = client.get(reverse("wagtailadmin_pages:edit", args=[data_set["course"].pk]))
    assert course_url in course_edit.content.decode()


@pytest.mark.parametrize("role", [None, Role.LEARNER, Role.MINISTRY_ANALYST])
def test_learners_and_analysts_are_kept_out(data_set, client, django_user_model, role):
    if role is not None:
        staff_client(client, django_user_model, role, handle="someone")
    for url in urls(data_set):
        response = client.get(url)
        # Wagtail sends those without admin access to its login page; nothing of the data shows.
        assert response.status_code in (302, 403), url
        assert b"hidden-numpy" not in response.content and b"example.org" not in response.content
    start = reverse("progress_analytics:regrade_start", kwargs={"exercise_id": data_set["exercise"].pk})
    assert client.post(start).status_code in (302, 403)
    assert not data_set["exercise"].regrades.exists()


def test_admin_access_without_the_permissions_is_refused(data_set, client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("editor", "editor@example.org", "x" * 12)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    for url in urls(data_set):
        # The admin turns PermissionDenied into a redirect to its dashboard with a message.
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, reverse("wagtailadmin_home")), url


# -- the grades CSV -----------------------------------------------------------------------------


def test_grades_csv_content_injection_guard_and_bom(data_set, client, django_user_model):
    staff_client(client, django_user_model, Role.INSTRUCTOR)
    response = client.get(urls(data_set)[2])
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="grades-')
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark, for Excel
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:6] == [
        "Learner",
        "E-mail",
        "Enrolled on",
        "Course completed on",
        "Lessons completed (of 3)",
        "Quiz points (of 2)",
    ]
    assert rows[0][6:] == [
        "Mean square: best score (of 7)",
        "Mean square: attempts",
        "Mean square: passed",
        "Mean square: last submission",
    ]
    by_email = {row[1]: row for row in rows[1:]}
    assert len(by_email) == 6
    a, b, c, e, f = (by_email[f"{h}@example.org"] for h in "abcef")
    assert a[0] == "ليلى حسن" and a[3] != "" and a[4:9] == ["3", "2", "7", "3", "yes"] and a[9] != ""
    # B's name would run as a formula: it is written as text. B's quiz points ignore the removed quiz.
    assert b[0] == '\'=HYPERLINK("http://x")' and b[4:9] == ["1", "1", "7", "4", "yes"]
    assert c[4:9] == ["1", "0", "5", "1", "no"]
    # E only checked, queued and failed: no graded Submit, so no score and no attempt.
    assert e[4:10] == ["0", "0", "", "0", "no", ""] and f[3] == ""


def test_csv_guard_covers_every_formula_start():
    for start in "=+-@\t\r":
        assert csv_safe(f"{start}1+1") == f"'{start}1+1"
    assert csv_safe("Ali") == "Ali" and csv_safe(7) == 7 and csv_safe("") == ""


def test_grades_csv_streams_in_a_fixed_number_of_queries(data_set, client, django_user_model):
    staff_client(client, django_user_model, Role.INSTRUCTOR)
    with CaptureQueriesContext(connection) as few:
        b"".join(client.get(urls(data_set)[2]).streaming_content)
    for handle in range(20):
        user = django_user_model.objects.create_user(f"more{handle}", f"more{handle}@example.org", "x" * 12)
        Enrollment.objects.create(user=user, course_key=data_set["course"].translation_key, enrolled_at=timezone.now())
    with CaptureQueriesContext(connection) as many:
        b"".join(client.get(urls(data_set)[2]).streaming_content)
    assert len(many) == len(few)


# -- the regrade pages (the worker side is in test_regrade.py) ----------------------------------


def test_an_instructor_starts_a_regrade_and_polls_its_progress(data_set, client, django_user_model):
    staff_client(client, django_user_model, Role.INSTRUCTOR)
    exercise = data_set["exercise"]
    app.control.purge()
    response = client.post(reverse("progress_analytics:regrade_start", kwargs={"exercise_id": exercise.pk}))
    regrade = Regrade.objects.get(exercise=exercise)
    assert response["Location"] == reverse("progress_analytics:regrade", kwargs={"regrade_id": regrade.pk})
    assert regrade.total == 9 and regrade.started_by.username == "teacher"
    page = client.get(response["Location"]).content.decode()
    assert 'src="/static/progress/regrade.js"' in page and "<progress" in page and 'max="9"' in page
    status_url = reverse("progress_analytics:regrade_status", kwargs={"regrade_id": regrade.pk})
    assert client.get(status_url).json() == {
        "status": "queued",
        "status_label": "Queued",
        "total": 9,
        "done": 0,
        "failed": 0,
        "finished": False,
    }
    # A second press while it runs is refused with a message, and starts nothing.
    again = client.post(reverse("progress_analytics:regrade_start", kwargs={"exercise_id": exercise.pk}), follow=True)
    assert "already running" in again.content.decode() and Regrade.objects.count() == 1

    # As the workers would: seven scores stay, one is raised, one could not be regraded; then it is finished.
    results = list(regrade.results.order_by("pk"))
    for result in results[:7]:
        RegradeResult.objects.filter(pk=result.pk).update(status="regraded", new_score=result.old_score)
    RegradeResult.objects.filter(pk=results[7].pk).update(status="regraded", new_score=7.0, new_max_score=7.0)
    Regrade.objects.filter(pk=regrade.pk).update(done=8)
    services.regrade_result_fail(result_id=results[8].pk, error="sandbox unavailable")
    data = client.get(status_url).json()
    assert (data["finished"], data["done"], data["failed"]) == (True, 8, 1)
    # Old scores in submission order: 3 7 7 0 1 5 7 5 7. The eighth went 5 -> 7, the ninth (7) failed.
    assert [result.old_score for result in results] == [3, 7, 7, 0, 1, 5, 7, 5, 7]
    assert data["summary"] == {"raised": 1, "lowered": 0, "unchanged": 7}
    assert [(row["learner"], row["old"], row["new"], row["status"]) for row in data["changes"]] == [
        ("Chen", "5", "7", "regraded"),
        ("Dora", "7", "", "failed"),
    ]
    page = client.get(response["Location"]).content.decode()
    assert 'data-finished="true"' in page


def test_the_regrade_section_warns_of_a_fix_left_as_an_unpublished_draft(data_set, client, django_user_model):
    # A regrade grades with the published notebook; a fix saved as a draft would be silently ignored.
    staff_client(client, django_user_model, Role.INSTRUCTOR)
    exercise = data_set["exercise"]
    exercise_url, _course_url, _csv = urls(data_set)
    assert 'data-regrade="unpublished-draft"' not in client.get(exercise_url).content.decode()
    exercise.save_revision()
    html = client.get(exercise_url).content.decode()
    assert 'data-regrade="unpublished-draft"' in html
    assert reverse("wagtailsnippets_courses_exercise:edit", args=[exercise.pk]) in html


def test_a_learner_cannot_see_a_regrade(data_set, client, django_user_model):
    regrade = Regrade.objects.create(
        exercise=data_set["exercise"], notebook_sha256="0" * 64, total=1, started_at=timezone.now()
    )
    staff_client(client, django_user_model, Role.LEARNER, handle="learner")
    for name in ("progress_analytics:regrade", "progress_analytics:regrade_status"):
        response = client.get(reverse(name, kwargs={"regrade_id": regrade.pk}))
        assert response.status_code in (302, 403) and b"total" not in response.content


def test_pages_of_an_exercise_and_a_course_nobody_has_started(tmp_path, client, django_user_model):
    import json

    from courses.exercises import exercise_create_or_update
    from tests.builders import exercise_notebook, make_course

    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en",))
    exercise = exercise_create_or_update(slug="empty", title="Empty", raw_notebook=json.dumps(exercise_notebook()))
    staff_client(client, django_user_model, Role.INSTRUCTOR)
    page = client.get(reverse("progress_analytics:exercise", kwargs={"exercise_id": exercise.pk})).content.decode()
    assert 'data-figure="attempts">0<' in page and "No graded submissions yet." in page
    course = CoursePage.objects.get(locale__language_code="en")
    page = client.get(reverse("progress_analytics:course", kwargs={"page_id": course.pk})).content.decode()
    assert 'data-figure="enrolled">0<' in page
    body = b"".join(client.get(reverse("progress_analytics:course_grades", kwargs={"page_id": course.pk})))
    assert body.decode("utf-8-sig").count("\n") == 1  # the header alone
    starting = client.post(
        reverse("progress_analytics:regrade_start", kwargs={"exercise_id": exercise.pk}), follow=True
    )
    assert "no graded submissions to regrade" in starting.content.decode()
