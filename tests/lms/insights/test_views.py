"""lms/insights/views.py: who sees which page and export, what they show, and how many queries they cost."""

import csv
import io
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms.accounts.models import Role
from lms.accounts.services import training_centre_create
from lms.insights import services
from tests.lms.insights.conftest import days_ago, enroll, make_learner, make_staff

pytestmark = pytest.mark.django_db
COURSE = uuid.uuid4()


@pytest.fixture
def uptake():
    """RW: 23 learners in one centre, 3 in another; KE: 12 learners. Rollups refreshed."""
    now = timezone.now()
    big = training_centre_create(name="Kigali AI Centre", country="RW", city="Kigali")
    small = training_centre_create(name="Huye AI Centre", country="RW", city="Huye")
    for i in range(26):
        learner = make_learner(country="RW", centre=big if i < 23 else small, gender="female" if i < 14 else "")
        enroll(learner, COURSE, at=days_ago(now, 40), completed_at=days_ago(now, 5) if i < 11 else None)
    for _i in range(12):
        enroll(make_learner(country="KE", language="fr"), COURSE, at=days_ago(now, 3))
    make_learner(country="")
    services.rollups_refresh()


@pytest.fixture
def analyst():
    return make_staff(Role.MINISTRY_ANALYST, countries=("RW",))


@pytest.fixture
def admin():
    return make_staff(Role.NETWORK_ADMIN)


PAGES = ("/en/insights/", "/en/insights/rw/", "/en/insights/rw/export.csv")


@pytest.mark.parametrize("path", [*PAGES, "/en/insights/export.csv", "/en/insights/ke/"])
def test_anonymous_people_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", [Role.LEARNER, Role.INSTRUCTOR])
@pytest.mark.parametrize("path", [*PAGES, "/en/insights/export.csv"])
def test_learners_and_instructors_are_refused(client, role, path):
    user = make_staff(role, countries=("RW",)) if role == Role.INSTRUCTOR else make_learner(country="RW")
    client.force_login(user)
    assert client.get(path).status_code == 403


def test_an_analyst_sees_only_their_own_countries(client, analyst, uptake):
    client.force_login(analyst)
    index = client.get("/en/insights/")
    assert index.status_code == 200 and b"/en/insights/rw/" in index.content and b"/insights/ke/" not in index.content
    assert client.get("/en/insights/rw/").status_code == 200
    assert client.get("/en/insights/rw/export.csv").status_code == 200
    for path in ("/en/insights/ke/", "/en/insights/ke/export.csv", "/en/insights/unknown/", "/en/insights/export.csv"):
        assert client.get(path).status_code == 403, path
    assert client.get("/en/insights/xx/").status_code == 404


def test_a_network_admin_sees_every_country_and_the_world(client, admin, uptake):
    client.force_login(admin)
    world = client.get("/en/insights/")
    assert world.status_code == 200 and b"<svg" in world.content and b'data-country="RW"' in world.content
    for path in ("/en/insights/rw/", "/en/insights/ke/", "/en/insights/unknown/", "/en/insights/export.csv"):
        assert client.get(path).status_code == 200, path


def test_the_dashboard_shows_suppressed_figures(client, analyst, uptake):
    client.force_login(analyst)
    page = client.get("/en/insights/rw/").content.decode()
    # 26 registered -> 25; centres 23 -> 25 and 3 -> "<5"; with only two centres the big one is hidden too.
    assert "Registered learners" in page and ">25<" in page
    assert "&lt;5" in page and "Huye AI Centre" in page
    assert "<svg" in page and "Certificates issued" in page
    assert "<script" not in page.split("</header>")[1]  # server-rendered: no script on the page


def test_the_csv_export_is_sdmx_style_and_suppressed(client, analyst, uptake):
    client.force_login(analyst)
    response = client.get("/en/insights/rw/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert {
        "REF_AREA",
        "REF_AREA_ALPHA3",
        "REF_AREA_M49",
        "TIME_PERIOD",
        "SEX",
        "AGE",
        "INDICATOR",
        "OBS_VALUE",
        "OBS_STATUS",
    } <= set(rows[0])
    assert {row["REF_AREA"] for row in rows} == {"RW"} and {row["REF_AREA_M49"] for row in rows} == {"646"}
    headline = {
        row["INDICATOR"]: row
        for row in rows
        if all(row[c] == "_T" for c in ("COURSE", "LANGUAGE", "CENTRE", "SEX", "AGE")) and len(row["TIME_PERIOD"]) == 10
    }
    assert headline["REGISTERED"]["OBS_VALUE"] == "25" and headline["REGISTERED"]["OBS_STATUS"] == "A"
    assert headline["COMPLETIONS"]["OBS_VALUE"] == "10"  # 11 rounded
    assert headline["COMPLETION_RATE"]["OBS_VALUE"] == "42"  # 11 / 26
    centres = [row for row in rows if row["CENTRE"] not in ("_T",) and row["INDICATOR"] == "REGISTERED"]
    assert sorted((row["OBS_VALUE"], row["OBS_STATUS"]) for row in centres) == [("", "C"), ("", "D")]
    female = next(row for row in rows if row["SEX"] == "F" and row["INDICATOR"] == "REGISTERED")
    assert female["OBS_VALUE"] == "15"  # 14 consenting women, rounded
    # No number in the file is a small count: every shown count is a multiple of 5.
    for row in rows:
        if row["UNIT_MEASURE"] in ("PS", "NUMBER") and row["OBS_VALUE"]:
            assert int(row["OBS_VALUE"]) % 5 == 0


def test_dashboards_read_only_rollups_in_a_fixed_number_of_queries(client, analyst, admin, uptake):
    client.force_login(analyst)
    client.get("/en/insights/rw/")  # warm the session
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/en/insights/rw/").status_code == 200
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "progress_" not in tables  # never the raw activity
    assert len(queries) == 9, [q["sql"][:90] for q in queries.captured_queries]
    with CaptureQueriesContext(connection) as queries:
        client.get("/en/insights/rw/export.csv")
    assert len(queries) == 9
    client.force_login(admin)
    client.get("/en/insights/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/en/insights/").status_code == 200
    assert "progress_" not in " ".join(q["sql"] for q in queries.captured_queries)
    assert len(queries) == 7, [q["sql"][:90] for q in queries.captured_queries]


def test_the_dashboard_speaks_the_analysts_language_right_to_left(client, analyst, uptake):
    client.force_login(analyst)
    page = client.get("/ar/insights/rw/").content.decode()
    assert 'dir="rtl"' in page and 'lang="ar"' in page
    assert "الإقبال على التدريب: رواندا" in page and "المتعلمون المسجلون" in page


def test_the_world_view_never_hides_a_country_its_own_dashboard_shows(admin):
    # RW 12, BI 3, KE 20 learners, all in Africa. BI is "<5". Hiding RW (10) would be useless: RW's
    # dashboard shows 10. So Africa (35), the LDC and LLDC sums (RW + BI) and the world are hidden.
    from django.contrib.auth.models import User

    from lms.insights import selectors
    from lms.insights.access import visible_countries

    for country, n in (("RW", 12), ("BI", 3), ("KE", 20)):
        for _i in range(n):
            make_learner(country=country)
    services.rollups_refresh()
    admin = User.objects.select_related("profile").get(pk=admin.pk)  # the role as stored
    assert len(visible_countries(admin)) > 200
    view = selectors.global_view(countries=visible_countries(admin))
    registered = {row.key: row.figures["registered"].text for row in [*view.countries, *view.regions, *view.groupings]}
    assert registered == {"RW": "10", "BI": "<5", "KE": "20", "Africa": "…", "LDC": "…", "LLDC": "…"}
    assert view.total.figures["registered"].text == "…"
    assert selectors.country_dashboard(country="RW").headline["registered"].text == "10"
