"""Notebook download and upload on the exercise page, and the rate limit, without JavaScript."""

import json
import os

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from lms.progress.models import Submission
from tests.lms import exercise_fixtures
from tests.lms.exercise_fixtures import RIGHT, WRONG, released_with

pytestmark = pytest.mark.django_db
lesson_with_exercise = exercise_fixtures.lesson_with_exercise
exercise = exercise_fixtures.exercise


@pytest.fixture
def learner(client, django_user_model):
    user = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    client.force_login(user)
    return user


def answer_of(notebook: dict) -> str:
    (cell,) = [c for c in notebook["cells"] if c["metadata"].get("opencapacity", {}).get("answer")]
    return cell["source"]


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "application/x-ipynb+json")


def media_files() -> set[str]:
    root = django_settings.MEDIA_ROOT
    return {os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files} if os.path.exists(root) else set()


def test_the_page_offers_download_and_upload(client, learner, lesson_with_exercise):
    lesson, exercise = lesson_with_exercise
    html = client.get(lesson.url).content.decode()
    assert f'href="/en/learning/exercises/{exercise.pk}/notebook.ipynb"' in html
    assert f'href="/en/learning/exercises/{exercise.pk}/notebook.ipynb?answers=latest"' in html
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html and 'name="notebook"' in html


def test_visitors_can_download_the_release_but_not_upload(client, lesson_with_exercise):
    lesson, exercise = lesson_with_exercise
    html = client.get(lesson.url).content.decode()
    assert "notebook.ipynb" in html and 'type="file"' not in html
    response = client.get(f"/en/learning/exercises/{exercise.pk}/notebook.ipynb?answers=latest")
    assert response.status_code == 200
    response = client.post(f"/en/learning/exercises/{exercise.pk}/upload/", {"notebook": upload("a.ipynb", b"{}")})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_download_is_the_release_for_jupyter(client, learner, exercise):
    response = client.get(f"/en/learning/exercises/{exercise.pk}/notebook.ipynb")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ipynb+json"
    assert response["Content-Disposition"] == 'attachment; filename="mean-square.ipynb"'
    notebook = json.loads(response.content)
    assert notebook["nbformat"] == 4 and notebook["metadata"]["kernelspec"]["name"] == "python3"
    text = response.content.decode()
    assert "sum(x * x" not in text and "np.isclose" not in text and "1.625" not in text  # solution, hidden tests
    assert "def mean_square(xs):" in answer_of(notebook)
    import nbformat

    nbformat.validate(nbformat.reads(text, as_version=4))  # Jupyter will open it


def test_download_with_my_latest_code(client, learner, exercise, django_capture_on_commit_callbacks):
    url = f"/en/learning/exercises/{exercise.pk}/notebook.ipynb?answers=latest"
    assert "def mean_square(xs):" in answer_of(json.loads(client.get(url).content))  # no attempt yet: the starter
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/en/learning/exercises/{exercise.pk}/submit/", {"answer:answer": WRONG, "kind": "check"})
        client.post(f"/en/learning/exercises/{exercise.pk}/submit/", {"answer:answer": RIGHT, "kind": "check"})
    assert answer_of(json.loads(client.get(url).content)) == RIGHT


def test_upload_a_completed_notebook_without_javascript(
    client, learner, lesson_with_exercise, django_capture_on_commit_callbacks
):
    lesson, exercise = lesson_with_exercise
    completed = released_with(RIGHT, exercise)
    completed["cells"][0]["outputs"] = []
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(
            f"/en/learning/exercises/{exercise.pk}/upload/",
            {
                "notebook": upload("mean-square.ipynb", json.dumps(completed).encode()),
                "kind": "submit",
                "next": lesson.url,
            },
        )
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/en/learning/submissions/{submission.pk}/"
    assert len(queued) == 1  # grading is queued once the row is committed
    assert submission.kind == "submit" and answer_of(submission.notebook) == RIGHT


def test_upload_answers_the_page_script_with_json(client, learner, exercise, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            f"/en/learning/exercises/{exercise.pk}/upload/",
            {"notebook": upload("x.ipynb", json.dumps(released_with(RIGHT, exercise)).encode()), "kind": "check"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 202
    assert response.json()["status"] == "queued" and response.json()["kind"] == "check"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not json at all", "not valid JSON"),
        (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": []}).encode(), "nbformat 3"),
        (
            json.dumps(
                {"nbformat": 4, "metadata": {"kernelspec": {"name": "ir", "language": "R"}}, "cells": []}
            ).encode(),
            "graded in Python",
        ),
        (json.dumps({"nbformat": 4, "metadata": {}, "cells": []}).encode(), "none of this exercise's answer cells"),
    ],
)
def test_a_bad_upload_goes_back_to_the_lesson_with_the_reason(client, learner, lesson_with_exercise, content, says):
    lesson, exercise = lesson_with_exercise
    before = media_files()
    response = client.post(
        f"/en/learning/exercises/{exercise.pk}/upload/",
        {"notebook": upload("bad.ipynb", content), "kind": "submit", "next": lesson.url},
        follow=True,
    )
    assert response.redirect_chain[0] == (lesson.url, 302)
    assert says in response.content.decode().replace("&#x27;", "'")
    assert not Submission.objects.exists() and media_files() == before


def test_an_oversized_or_missing_upload_is_refused(client, learner, exercise, settings):
    settings.SUBMISSION_MAX_NOTEBOOK_BYTES = 4096
    url = f"/en/learning/exercises/{exercise.pk}/upload/"
    big = json.dumps(released_with(RIGHT, exercise) | {"padding": "x" * 5000}).encode()
    response = client.post(url, {"notebook": upload("big.ipynb", big)}, HTTP_ACCEPT="application/json")
    assert response.status_code == 413 and "the limit is 4 KiB" in response.json()["error"]
    response = client.post(url, {"kind": "submit"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and ".ipynb" in response.json()["error"]
    assert not Submission.objects.exists()


def test_rate_limit_without_javascript_is_a_429_page_that_says_when(
    client, learner, lesson_with_exercise, settings, django_capture_on_commit_callbacks
):
    lesson, exercise = lesson_with_exercise
    settings.RATE_LIMITS = {"check": "1/h"}
    url = f"/en/learning/exercises/{exercise.pk}/submit/"
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(url, {"answer:answer": RIGHT, "kind": "check", "next": lesson.url}).status_code == 302
    refused = client.post(url, {"answer:answer": RIGHT, "kind": "check", "next": lesson.url})
    assert refused.status_code == 429
    seconds = int(refused["Retry-After"])
    html = refused.content.decode()
    # The window is fixed to the clock: under two minutes left, the wait is told in seconds.
    wait = f"{seconds} second" if seconds < 120 else f"{-(-seconds // 60)} minute"
    assert f"You can try again in {wait}" in html and f'href="{lesson.url}"' in html
    # The upload counts against the same allowance as the kind it asks for.
    notebook = upload("x.ipynb", json.dumps(released_with(RIGHT, exercise)).encode())
    uploaded = client.post(
        f"/en/learning/exercises/{exercise.pk}/upload/",
        {"notebook": notebook, "kind": "check"},
        HTTP_ACCEPT="application/json",
    )
    assert uploaded.status_code == 429 and uploaded["Retry-After"]
    assert Submission.objects.count() == 1
