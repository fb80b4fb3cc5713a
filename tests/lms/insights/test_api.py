"""lms/insights/api.py: bearer tokens, per-role access, and the same published figures as the pages."""

import csv
import io
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from lms.accounts.models import Role
from lms.insights import services
from lms.insights.models import InsightsToken
from tests.lms.insights.conftest import days_ago, enroll, make_learner, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def uptake():
    now = timezone.now()
    for i in range(17):
        enroll(make_learner(country="SN", language="fr"), uuid.uuid4(), at=days_ago(now, 10 + i))
    enroll(make_learner(country="KE"), uuid.uuid4(), at=days_ago(now, 2))
    services.rollups_refresh()


def bearer(user) -> dict[str, str]:
    _token, raw = services.insights_token_issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


ENDPOINTS = ("/api/v1/insights/countries", "/api/v1/insights/countries/sn", "/api/v1/insights/global")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_token_or_a_wrong_token_is_401(client, path):
    assert client.get(path).status_code == 401
    response = client.get(path, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_learners_or_instructors_token_is_403(client, path):
    assert client.get(path, **bearer(make_learner(country="SN"))).status_code == 403
    assert client.get(path, **bearer(make_staff(Role.INSTRUCTOR))).status_code == 403


def test_an_analyst_token_reads_only_their_countries(client, uptake):
    headers = bearer(make_staff(Role.MINISTRY_ANALYST, countries=("SN",)))
    listing = client.get("/api/v1/insights/countries", **headers).json()
    assert [c["REF_AREA"] for c in listing["countries"]] == ["SN"] and listing["global"] is False
    assert listing["countries"][0]["REF_AREA_ALPHA3"] == "SEN" and listing["countries"][0]["REF_AREA_M49"] == "686"
    body = client.get("/api/v1/insights/countries/sn", **headers).json()
    registered = next(o for o in body["observations"] if o["INDICATOR"] == "REGISTERED" and o["LANGUAGE"] == "_T")
    assert registered["OBS_VALUE"] == "15" and registered["OBS_STATUS"] == "A"  # 17 rounded
    assert client.get("/api/v1/insights/countries/ke", **headers).status_code == 403
    assert client.get("/api/v1/insights/countries/unknown", **headers).status_code == 403
    assert client.get("/api/v1/insights/global", **headers).status_code == 403
    assert client.get("/api/v1/insights/countries/zz", **headers).status_code == 400


def test_an_admin_token_reads_everything_and_the_api_matches_the_csv(client, uptake):
    admin = make_staff(Role.NETWORK_ADMIN)
    headers = bearer(admin)
    assert client.get("/api/v1/insights/countries", **headers).json()["global"] is True
    world = client.get("/api/v1/insights/global", **headers).json()["observations"]
    ke = next(o for o in world if o["REF_AREA"] == "KE" and o["INDICATOR"] == "REGISTERED")
    assert (ke["OBS_VALUE"], ke["OBS_STATUS"]) == ("", "C")
    assert any(o["REF_AREA"] == "202" or o["REF_AREA"] == "002" for o in world)  # Africa, by M49 code
    api_csv = client.get("/api/v1/insights/countries/sn?format=csv", **headers).content.decode()
    client.force_login(admin)
    page_csv = client.get("/en/insights/sn/export.csv").content.decode()
    assert api_csv == page_csv and list(csv.DictReader(io.StringIO(api_csv)))
    assert InsightsToken.objects.get(user=admin).last_used is not None


def test_the_schema_is_openapi_3_and_names_every_path(client):
    schema = client.get("/api/v1/insights/schema").json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {"/countries", "/countries/{country}", "/global", "/schema"}
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_tokens_are_stored_hashed_and_issued_by_a_command(capsys):
    analyst = make_staff(Role.MINISTRY_ANALYST, countries=("SN",), email="analyst@example.org")
    call_command("issue_insights_token", "analyst@example.org")
    raw = capsys.readouterr().out.strip()
    token = InsightsToken.objects.get(user=analyst)
    assert len(raw) > 30 and raw not in token.key_hash and len(token.key_hash) == 64
    make_learner(country="SN")
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("issue_insights_token", "learner-nobody@example.org")
