"""The learner REST API v1: authentication by token and session, only one's own objects, clear 4xx."""

import json
import re

import pytest
from django.test import Client
from django.test.client import MULTIPART_CONTENT
from django.urls import URLPattern, get_resolver

from courses.models import CoursePage
from lms.api import services as api_services
from lms.progress import services
from lms.progress.models import Submission
from tests.lms import exercise_fixtures
from tests.lms.exercise_fixtures import RIGHT, WRONG, released_with

lesson_with_exercise = exercise_fixtures.lesson_with_exercise
exercise = exercise_fixtures.exercise

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner(django_user_model):
    return django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)


@pytest.fixture
def token(learner):
    _token, raw = api_services.api_token_create(user=learner, name="laptop")
    return raw


@pytest.fixture
def api(client, token):
    """A client that authenticates with the learner's token and nothing else (no session)."""

    class TokenClient:
        def get(self, path, **extra):
            return client.get(path, HTTP_AUTHORIZATION=f"Token {token}", **extra)

        def post(self, path, data=None, content_type="application/json", **extra):
            if content_type == "application/json" and not isinstance(data, (str, bytes)):
                data = json.dumps(data)
            return client.post(path, data, content_type=content_type, HTTP_AUTHORIZATION=f"Token {token}", **extra)

    return TokenClient()


def answer_sources(notebook):
    return [c["source"] for c in notebook["cells"] if c["metadata"].get("opencapacity", {}).get("answer")]


def submissions_url(exercise):
    return f"/api/v1/exercises/{exercise.pk}/submissions"


# -- schema and docs ---------------------------------------------------------------------------


def test_the_schema_describes_every_route_and_includes_the_insights_api(client):
    response = client.get("/api/v1/schema")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.") and document["servers"] == [{"url": "/api/v1"}]
    from lms.api import urls

    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        assert path in document["paths"], path
    # The insights API keeps its own paths under /api/v1/insights and its own token scheme.
    insights_routes = [p for p in get_resolver().reverse_dict.getlist("insights_api_countries")]
    assert insights_routes
    for path in ("/insights/countries", "/insights/countries/{country}", "/insights/global", "/insights/schema"):
        assert path in document["paths"]
    assert document["paths"]["/insights/global"]["get"]["security"] == [{"insightsBearerAuth": []}]
    # Every reference resolves (the insights schemas were renamed apart from the learner ones).
    text = json.dumps(document)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/(\w+)"', text)):
        assert ref in document["components"]["schemas"], ref
    assert "InsightsObservation" in document["components"]["schemas"]


def test_the_insights_api_itself_is_unchanged(client):
    assert client.get("/api/v1/insights/countries").status_code == 401
    assert client.get("/api/v1/insights/schema").json()["servers"] == [{"url": "/api/v1/insights"}]


def test_the_docs_page_is_generated_here_and_runs_no_script(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "POST /api/v1/exercises/{exercise_id}/submissions" in html
    assert "GET /api/v1/insights/countries" in html
    assert "<script" not in html and "http://" not in html.replace("http://testserver", "")


# -- authentication ----------------------------------------------------------------------------


def test_no_credentials_is_401_with_a_challenge(client, exercise):
    response = client.get("/api/v1/me/enrollments")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert "error" in response.json()
    post = client.post(submissions_url(exercise), {"answers": {"answer": RIGHT}}, content_type="application/json")
    assert post.status_code == 401
    assert not Submission.objects.exists()


@pytest.mark.parametrize("header", ["Token nope", "Bearer ", "Basic dXNlcjpwYXNz", "Token"])
def test_a_bad_token_is_401_even_with_a_session(client, learner, header):
    client.force_login(learner)  # a valid session must not rescue a wrong token
    response = client.get("/api/v1/me/enrollments", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_a_token_of_an_inactive_or_revoked_account_stops_working(client, learner, token):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/me/enrollments", **headers).status_code == 200
    learner.is_active = False
    learner.save()
    assert client.get("/api/v1/me/enrollments", **headers).status_code == 401
    learner.is_active = True
    learner.save()
    api_services.api_token_revoke(user=learner, token_id=learner.learner_api_tokens.get().pk)
    assert client.get("/api/v1/me/enrollments", **headers).status_code == 401


def test_session_needs_csrf_for_post_but_not_for_get(learner, exercise, django_capture_on_commit_callbacks):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(learner)
    assert browser.get(f"/api/v1/exercises/{exercise.pk}").status_code == 200
    body = json.dumps({"kind": "check", "answers": {"answer": RIGHT}})
    refused = browser.post(submissions_url(exercise), body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    assert not Submission.objects.exists()

    browser.get("/en/accounts/api-tokens/")  # any page with a form sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=False):
        accepted = browser.post(submissions_url(exercise), body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 202
    assert Submission.objects.get().kind == "check"


def test_a_token_needs_no_csrf(api, exercise, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(submissions_url(exercise), {"answers": {"answer": RIGHT}})
    assert response.status_code == 202


def test_wrong_method_is_405(api, exercise):
    response = api.post(f"/api/v1/exercises/{exercise.pk}", {})
    assert response.status_code == 405 and response["Allow"] == "GET"


# -- a learner's own data ----------------------------------------------------------------------


def test_enrollments_and_progress(api, learner, lesson_with_exercise):
    assert api.get("/api/v1/me/enrollments").json() == {"enrollments": []}
    lesson, _exercise = lesson_with_exercise
    course = CoursePage.objects.get(locale__language_code="en")
    services.enrollment_start(user=learner, course=course)
    services.lesson_complete(user=learner, lesson=lesson)
    (row,) = api.get("/api/v1/me/enrollments").json()["enrollments"]
    assert row["course"]["key"] == str(course.translation_key)
    assert row["course"]["url"].endswith(course.url)
    assert (row["percent"], row["lessons_done"], row["lessons_total"]) == (100, 1, 1)
    assert row["completed_at"] is not None
    # The course title follows the request's language.
    arabic = api.get("/api/v1/me/enrollments", HTTP_ACCEPT_LANGUAGE="ar").json()["enrollments"][0]
    assert arabic["course"]["language"] == "ar" and "[ar]" in arabic["course"]["title"]


def test_exercise_shows_the_starter_code_never_the_solution(api, exercise):
    body = api.get(f"/api/v1/exercises/{exercise.pk}").json()
    assert body["title"] == "Mean square" and body["max_score"] == 7 and body["best_score"] is None
    (cell,) = body["answer_cells"]
    assert cell["key"] == "answer" and "def mean_square(xs):" in cell["starter_code"]
    assert "sum(x * x" not in json.dumps(body)


def test_submit_code_then_poll_then_download_the_latest_code(
    api, learner, exercise, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(submissions_url(exercise), {"kind": "submit", "answers": {"answer": WRONG}})
    assert response.status_code == 202
    created = response.json()
    assert created["status"] == "queued" and response["Location"] == created["url"]
    assert created["url"] == f"http://testserver/api/v1/submissions/{created['id']}"
    polled = api.get(f"/api/v1/submissions/{created['id']}").json()
    assert polled["status"] == "queued" and polled["tests"] == []

    # Graded (as the worker would store it): the feedback is the learner-safe part only.
    submission = Submission.objects.get(pk=created["id"])
    submission.status, submission.score, submission.max_score, submission.verdict = "graded", 3.0, 7.0, "graded"
    submission.feedback = {
        "tests": [{"id": "t", "name": "visible", "points": 3, "max_points": 3, "passed": True, "hidden": False}],
        "detail": "operator-only detail",
    }
    submission.error = "operator-only error"
    submission.save()
    polled = api.get(f"/api/v1/submissions/{created['id']}").json()
    assert (polled["status"], polled["score"], polled["max_score"]) == ("graded", 3.0, 7.0)
    assert polled["tests"][0]["passed"] is True
    assert "operator-only" not in json.dumps(polled)
    assert api.get(f"/api/v1/exercises/{exercise.pk}").json()["best_score"] == 3.0
    (listed,) = api.get(submissions_url(exercise)).json()["submissions"]
    assert listed["id"] == created["id"]

    blank = json.loads(api.get(f"/api/v1/exercises/{exercise.pk}/notebook").content)
    mine = json.loads(api.get(f"/api/v1/exercises/{exercise.pk}/notebook?answers=latest").content)
    assert WRONG not in answer_sources(blank) and WRONG in answer_sources(mine)
    assert mine["metadata"]["kernelspec"]["language"] == "python"


def test_a_run_shows_the_same_outputs_as_the_page(api, client, learner, exercise, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(submissions_url(exercise), {"kind": "run", "answers": {"answer": WRONG}})
    assert response.status_code == 202
    created = response.json()
    assert (created["kind"], created["status"], created["cells"]) == ("run", "queued", [])

    # Ran (as the worker would store it: lms.progress.outputs.run_feedback, already checked).
    submission = Submission.objects.get(pk=created["id"])
    submission.status, submission.verdict = "graded", "stopped at an error"
    submission.feedback = {
        "status": "stopped at an error",
        "detail": "operator-only detail",
        "cells": [
            {
                "key": "answer",
                "ran": True,
                "outputs": [
                    {"kind": "stream", "name": "stdout", "text": "<b>hello</b>\n"},
                    {"kind": "display", "omitted": "image"},
                    {"kind": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": "1 / 0"},
                ],
            }
        ],
        "instructor_errors": [],
    }
    submission.save()
    polled = api.get(f"/api/v1/submissions/{created['id']}", HTTP_ACCEPT_LANGUAGE="fr").json()
    client.force_login(learner)
    page = client.get(f"/fr/learning/submissions/{created['id']}/", HTTP_ACCEPT="application/json").json()
    assert polled["cells"] == page["cells"] and polled["verdict_label"] == page["verdict_label"]
    (cell,) = polled["cells"]
    stream, image, error = cell["outputs"]
    assert stream["text"] == "<b>hello</b>\n" and error["ename"] == "ZeroDivisionError"
    assert image["omitted"] == "image" and image["text"]  # said in words, not shown
    assert (polled["score"], polled["tests"]) == (None, [])
    assert "operator-only" not in json.dumps(polled)
    (listed,) = api.get(submissions_url(exercise), HTTP_ACCEPT_LANGUAGE="fr").json()["submissions"]
    assert listed["cells"] == polled["cells"]
    described = client.get("/api/v1/schema").json()["components"]["schemas"]
    assert {"cells", "instructor_errors", "verdict_label"} <= set(described["Submission"]["properties"])
    assert set(cell) == set(described["RunCell"]["properties"])
    assert all(set(output) <= set(described["RunOutput"]["properties"]) for output in cell["outputs"])


def test_submit_a_whole_notebook_as_json_as_text_or_as_a_file(api, exercise, django_capture_on_commit_callbacks):
    notebook = released_with(RIGHT, exercise)
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "source": "extra = 1", "outputs": []})
    with django_capture_on_commit_callbacks(execute=False):
        as_object = api.post(submissions_url(exercise), {"notebook": notebook})
        as_text = api.post(submissions_url(exercise), {"kind": "check", "notebook": json.dumps(notebook)})
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("done.ipynb", json.dumps(notebook).encode(), "application/x-ipynb+json")
        as_file = api.post(
            submissions_url(exercise),
            {"kind": "submit", "notebook": upload},
            content_type=MULTIPART_CONTENT,
        )
    assert [r.status_code for r in (as_object, as_text, as_file)] == [202, 202, 202], as_file.content
    for submission in Submission.objects.all():
        sources = [c["source"] for c in submission.notebook["cells"]]
        assert RIGHT in sources
        assert "extra = 1" not in sources  # only the answer cells are kept from an upload


def test_other_learners_objects_are_404_not_403(api, client, exercise, django_user_model):
    other = django_user_model.objects.create_user("other", "other@example.org", "x" * 12)
    theirs = Submission.objects.create(
        user=other, exercise=exercise, notebook=released_with(RIGHT, exercise), queued_at="2026-01-01T00:00Z"
    )
    for response in (
        api.get(f"/api/v1/submissions/{theirs.pk}"),
        api.get(f"/api/v1/submissions/{theirs.pk + 1000}"),
        api.get("/api/v1/exercises/999999"),
        api.post("/api/v1/exercises/999999/submissions", {"answers": {"answer": RIGHT}}),
    ):
        assert response.status_code == 404  # not a redirect to /en/api/...
        assert response.json() == {"error": "Not found."}
    assert api.get(submissions_url(exercise)).json() == {"submissions": []}
    # Their latest code does not leak into my download either.
    assert RIGHT not in api.get(f"/api/v1/exercises/{exercise.pk}/notebook?answers=latest").content.decode()
    client.force_login(other)
    assert client.get(f"/api/v1/submissions/{theirs.pk}").status_code == 200


# -- bad input ---------------------------------------------------------------------------------

V3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}
R_NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"}},
    "cells": [],
}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ("{not json", 400, "not valid JSON"),
        ("[1, 2]", 400, "JSON object"),
        ({"kind": "check"}, 400, "either answers or a notebook"),
        ({"answers": {"answer": RIGHT}, "notebook": {}}, 400, "either answers or a notebook"),
        ({"kind": "grade-me-full", "answers": {"answer": RIGHT}}, 400, "Unknown kind of submission: grade-me-full"),
        ({"kind": ["submit"], "answers": {"answer": RIGHT}}, 400, "Unknown kind of submission"),
        ({"answers": {"not-a-cell": RIGHT}}, 400, "no answer cell not-a-cell; its answer cells are: answer"),
        ({"answers": {"answer": 42}}, 400, "as text"),
        ({"answers": ["x"]}, 400, "as text"),
        ({"answers": {"answer": "x" * (64 * 1024 + 1)}}, 413, "Your code is 65 KiB; the limit is 64 KiB."),
        ({"notebook": V3}, 400, "nbformat 3; only nbformat 4"),
        ({"notebook": R_NOTEBOOK}, 400, "This notebook is for r; exercises are graded in Python"),
        ({"notebook": '{"cells": ['}, 400, "not valid JSON (line 1, column 12)"),
        ({"notebook": {"cells": "many"}}, 400, "not a Jupyter notebook"),
        ({"notebook": {"nbformat": 4, "cells": [{"cell_type": "widget"}]}}, 400, "Cell 1 of the notebook is malformed"),
        ({"notebook": {"nbformat": 4, "metadata": {}, "cells": []}}, 400, "none of this exercise's answer cells"),
    ],
)
def test_each_bad_input_is_refused_with_its_reason_and_nothing_is_stored(api, exercise, body, status, says):
    response = api.post(submissions_url(exercise), body)
    assert response.status_code == status, response.content
    assert says in response.json()["error"]
    assert not Submission.objects.exists()


def test_oversized_or_missing_files_and_wrong_content_types(api, exercise, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.SUBMISSION_MAX_NOTEBOOK_BYTES = 10 * 1024
    big = SimpleUploadedFile("big.ipynb", b" " * (10 * 1024 + 1) + b"{}", "application/x-ipynb+json")
    multipart = MULTIPART_CONTENT
    too_big = api.post(submissions_url(exercise), {"notebook": big}, content_type=multipart)
    assert too_big.status_code == 413 and "the limit is 10 KiB" in too_big.json()["error"]
    missing = api.post(submissions_url(exercise), {"kind": "submit"}, content_type=multipart)
    assert missing.status_code == 400 and ".ipynb" in missing.json()["error"]
    plain = api.post(submissions_url(exercise), "answer=1", content_type="text/plain")
    assert plain.status_code == 400 and "application/json" in plain.json()["error"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    huge_json = api.post(submissions_url(exercise), {"answers": {"answer": "x" * 2000}})
    assert huge_json.status_code == 413
    assert not Submission.objects.exists()


def test_the_api_and_the_page_say_the_same(api, client, learner, exercise):
    client.force_login(learner)
    page = client.post(
        f"/en/learning/exercises/{exercise.pk}/submit/",
        {"answer:answer": "x" * (64 * 1024 + 1), "kind": "submit"},
        HTTP_ACCEPT="application/json",
    )
    from_api = api.post(submissions_url(exercise), {"answers": {"answer": "x" * (64 * 1024 + 1)}})
    assert page.status_code == from_api.status_code == 413
    assert page.json()["error"] == from_api.json()["error"]


# -- rate limits -------------------------------------------------------------------------------


def test_rate_limit_is_429_with_retry_after_on_api_and_page_alike(
    api, client, learner, exercise, settings, django_capture_on_commit_callbacks
):
    settings.RATE_LIMITS = {"submit": "2/h", "check": "5/h"}
    client.force_login(learner)
    with django_capture_on_commit_callbacks(execute=False):
        assert api.post(submissions_url(exercise), {"answers": {"answer": RIGHT}}).status_code == 202
        assert api.post(submissions_url(exercise), {"answers": {"answer": RIGHT}}).status_code == 202
        refused = api.post(submissions_url(exercise), {"answers": {"answer": RIGHT}})
        # Check has its own allowance.
        assert api.post(submissions_url(exercise), {"kind": "check", "answers": {"answer": RIGHT}}).status_code == 202
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 3600 and refused.json()["retry_after"] == retry_after
    # The window is fixed to the clock, so what is left of it depends on when the test runs.
    wait = f"{retry_after} second" if retry_after < 120 else f"{-(-retry_after // 60)} minute"
    assert f"try again in {wait}" in refused.json()["error"]
    assert Submission.objects.count() == 3

    page = client.post(
        f"/en/learning/exercises/{exercise.pk}/submit/",
        {"answer:answer": RIGHT, "kind": "submit"},
        HTTP_ACCEPT="application/json",
    )
    assert page.status_code == 429 and page["Retry-After"]
    assert re.sub(r"\d+", "N", page.json()["error"]) == re.sub(r"\d+", "N", refused.json()["error"])
    arabic = api.post(submissions_url(exercise), {"answers": {"answer": RIGHT}}, HTTP_ACCEPT_LANGUAGE="ar")
    assert arabic.status_code == 429 and "إرسال" in arabic.json()["error"]  # the action's name, translated
    assert Submission.objects.count() == 3


# -- the tokens page ---------------------------------------------------------------------------


def test_learners_create_see_once_and_revoke_their_tokens(client, learner, django_user_model):
    client.force_login(learner)
    page = client.get("/en/accounts/api-tokens/")
    assert page.status_code == 200 and "You have no API tokens." in page.content.decode()
    created = client.post("/en/accounts/api-tokens/", {"name": "my laptop"})
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    raw = re.search(r'class="api-token" dir="ltr">([^<]+)<', created.content.decode()).group(1)
    assert client.get("/api/v1/me/enrollments", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 200
    listing = client.get("/en/accounts/api-tokens/").content.decode()
    assert "my laptop" in listing and raw[:10] in listing and raw not in listing  # shown once only

    refused = client.post("/en/accounts/api-tokens/", {"name": "   "})
    assert "Give the token a name" in refused.content.decode()

    other = django_user_model.objects.create_user("other", "other@example.org", "x" * 12)
    _theirs, their_raw = api_services.api_token_create(user=other, name="theirs")
    assert client.post(f"/en/accounts/api-tokens/{_theirs.pk}/revoke/").status_code == 404
    assert client.get("/api/v1/me/enrollments", HTTP_AUTHORIZATION=f"Token {their_raw}").status_code == 200

    mine = learner.learner_api_tokens.get()
    assert client.post(f"/en/accounts/api-tokens/{mine.pk}/revoke/").status_code == 302
    assert client.get("/api/v1/me/enrollments", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 401


def test_anonymous_visitors_get_the_login_page_for_tokens(client):
    response = client.get("/en/accounts/api-tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
