"""Instructors bring notebooks: the import command, the admin upload and preview, the publish rule.

The self-check itself is graded through the real sandbox in tests/sandbox/test_exercise_check.py
and through a real worker in tests/e2e/test_exercise_authoring.py::test_upload_failed_check_fix_and_publish;
here the check rows are finished by hand where a test is about what happens after the check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from courses.exercise_checks import (
    ExerciseNotChecked,
    exercise_check_finish,
    exercise_check_for,
    exercise_check_request,
    notebook_hash,
)
from courses.exercises import MAX_NOTEBOOK_BYTES, exercise_import
from courses.models import Exercise, ExerciseCheck, ExerciseCheckStatus, LessonPage
from lms.accounts import services as accounts
from lms.accounts.models import Role
from tests.builders import exercise_notebook, make_course
from tests.courses.test_content_exercises import exercise_course
from tests.sandbox.conftest import fixtures_root

pytestmark = pytest.mark.django_db
FIXTURES = fixtures_root() / "notebooks"
#: Third-party notebooks and how the import treats them: a format, or the words of the refusal.
FIXTURE_OUTCOMES = {
    "nbgrader/autotest-hidden-changed-right.ipynb": "nbgrader",
    "nbgrader/autotest-hidden-changed-wrong.ipynb": "nbgrader",
    "nbgrader/autotest-hidden.ipynb": "nbgrader",
    "nbgrader/blank-points.ipynb": "cell 0 (id1): a graded cell needs points",
    "nbgrader/duplicate-grade-ids.ipynb": "cell 1: duplicate nbgrader grade_id 'id1'",
    # Learner-side notebooks of nbgrader's own tests: no nbgrader metadata, so no dialect.
    "nbgrader/infinite-loop-with-output.ipynb": "cannot tell the notebook's format",
    "nbgrader/infinite-loop.ipynb": "cannot tell the notebook's format",
    "nbgrader/infinite-recursion.ipynb": "cannot tell the notebook's format",
    "nbgrader/long-output.ipynb": "cannot tell the notebook's format",
    "nbgrader/side-effects.ipynb": "cannot tell the notebook's format",
    "nbgrader/submitted-changed.ipynb": "nbgrader",
    "nbgrader/submitted-cheat-attempt-alternative.ipynb": "nbgrader",
    "nbgrader/submitted-cheat-attempt.ipynb": "nbgrader",
    "nbgrader/submitted-grade-cell-changed.ipynb": "nbgrader",
    "nbgrader/submitted-locked-cell-changed.ipynb": "nbgrader",
    "nbgrader/submitted-unchanged.ipynb": "nbgrader",
    "nbgrader/test-hidden-tests.ipynb": "nbgrader",
    "nbgrader/test-v0-invalid.ipynb": "cell 0: nbgrader metadata without schema_version",
    "nbgrader/test.ipynb": "nbgrader",
    "nbgrader/timeout.ipynb": "nbgrader",
    "nbgrader/too-new.ipynb": "cell 0: nbgrader metadata schema 10 is newer than the supported 3",
    "otter/example-correct/autograder/example.ipynb": "otter",
    "otter/example-correct/student/example.ipynb": "the otter notebook has tests but no solution cell",
    "otter/example.ipynb": "otter",
    "otter/exception-example.ipynb": "otter",
    "otter/network/network.ipynb": "cannot tell the notebook's format",
    "otter/network/no_network.ipynb": "cannot tell the notebook's format",
}


@pytest.fixture
def course(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en",))
    return "test-course"


def import_notebook(path: Path, *args: str) -> None:
    call_command("import_notebook", str(path), *args)


# -- the command ----------------------------------------------------------------------------------
def test_every_fixture_notebook_is_imported_or_refused_by_name(course):
    found = sorted(str(path.relative_to(FIXTURES)) for path in FIXTURES.rglob("*.ipynb"))
    if not found:
        pytest.skip(f"third-party notebooks not found at {FIXTURES} (set OPENCAPACITY_FIXTURES)")
    assert found == sorted(FIXTURE_OUTCOMES), "a fixture notebook was added or removed: say how it imports"
    for name, expected in FIXTURE_OUTCOMES.items():
        path = FIXTURES / name
        slug = "fx-" + name.replace("/", "-").removesuffix(".ipynb").replace("_", "-")
        if expected in ("nbgrader", "otter"):
            import_notebook(path, "--course", course, "--slug", slug)
            exercise = Exercise.objects.get(slug=slug)
            assert exercise.format == expected and not exercise.live, name
            assert exercise_check_for(exercise=exercise).status == ExerciseCheckStatus.QUEUED
        else:
            before = Exercise.objects.count()
            with pytest.raises(CommandError) as error:
                import_notebook(path, "--course", course, "--slug", slug)
            assert str(error.value).startswith(path.name + ": ") and expected in str(error.value), name
            assert Exercise.objects.count() == before  # nothing stored


def test_the_command_names_the_course_and_file_it_refuses(course, tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    with pytest.raises(CommandError, match=r"^broken.ipynb: instructor notebook is not valid JSON"):
        import_notebook(broken, "--course", course)
    big = tmp_path / "big.ipynb"
    big.write_bytes(b" " * (MAX_NOTEBOOK_BYTES + 1))
    with pytest.raises(CommandError, match=r"^big.ipynb: .* KiB; the limit is 5120 KiB"):
        import_notebook(big, "--course", course)
    good = tmp_path / "mean-square.ipynb"
    good.write_text(json.dumps(exercise_notebook()))
    with pytest.raises(CommandError, match="--course nowhere: no course has this slug"):
        import_notebook(good, "--course", "nowhere")
    assert not Exercise.objects.exists() and not ExerciseCheck.objects.exists()


def test_import_makes_a_draft_with_its_check_and_slug_from_course_and_file(
    course, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "mean-square.ipynb"
    path.write_text(json.dumps(exercise_notebook()))
    with django_capture_on_commit_callbacks() as callbacks:
        import_notebook(path, "--course", course)
    exercise = Exercise.objects.get()
    assert (exercise.slug, exercise.title, exercise.format, exercise.live) == (
        "test-course--mean-square",
        "Mean square",
        "native",
        False,
    )
    check = exercise_check_for(exercise=exercise.get_latest_revision_as_object())
    assert check.status == ExerciseCheckStatus.QUEUED and len(callbacks) == 1  # the task, on commit


# -- the publish rule ------------------------------------------------------------------------------
def test_publishing_waits_for_the_check_and_learners_keep_the_live_version(course, tmp_path):
    exercise, _created = exercise_import(slug="ms", raw_notebook=json.dumps(exercise_notebook()))
    revision = exercise.latest_revision
    with pytest.raises(ExerciseNotChecked, match="Publishing waits for the self-check"):
        revision.publish()
    check = exercise_check_for(exercise=exercise)
    exercise_check_finish(
        check_id=check.pk, status=ExerciseCheckStatus.FAILED, problem="solution-fails", cell=3, test="visible"
    )
    with pytest.raises(ExerciseNotChecked, match="fails test visible in cell 3"):
        revision.publish()
    exercise_check_finish(
        check_id=check.pk,
        status=ExerciseCheckStatus.FAILED,
        problem="solution-stops",
        cell=2,
        detail="time limit: a cell ran longer than 10 s",
    )
    stopped = r"stops in cell 2 before .*\(time limit: a cell ran longer than 10 s\)"
    with pytest.raises(ExerciseNotChecked, match=stopped):
        revision.publish()
    exercise_check_finish(check_id=check.pk, status=ExerciseCheckStatus.PASSED)
    revision.publish()
    assert Exercise.objects.get(slug="ms").live

    # A new draft is checked on its own; learners keep the published notebook meanwhile.
    changed = exercise_notebook()
    changed["cells"][3]["metadata"]["opencapacity"]["points"] = 5
    draft, _created = exercise_import(slug="ms", raw_notebook=json.dumps(changed))
    live = Exercise.objects.get(slug="ms")
    assert (live.max_score, live.has_unpublished_changes) == (7.0, True)
    assert exercise_check_for(exercise=draft).status == ExerciseCheckStatus.QUEUED
    with pytest.raises(ExerciseNotChecked):
        live.latest_revision.publish()


def test_a_lesson_does_not_serve_an_exercise_never_published(course, client):
    exercise, _created = exercise_import(slug="ms", title="Mean square", raw_notebook=json.dumps(exercise_notebook()))
    lesson = LessonPage.objects.get(locale__language_code="en")
    lesson.body.append(("exercise", {"exercise": exercise, "title": "", "instructions": None, "hints": []}))
    lesson.save_revision().publish()
    html = client.get(lesson.url).content.decode()
    assert "This exercise is not available yet" in html and "answer:" not in html
    assert client.get(reverse("exercise_notebook", args=[exercise.pk])).status_code == 404


def test_content_notebooks_are_live_and_recorded_as_covered_by_the_content_tests(tmp_path):
    from courses.content_loader import load_content

    exercise_course(tmp_path)
    load_content(tmp_path)
    exercise = Exercise.objects.get()
    check = exercise_check_for(exercise=exercise)
    assert exercise.live and not exercise.has_unpublished_changes
    assert (check.status, check.checked_by) == (ExerciseCheckStatus.PASSED, "content tests")
    assert check.notebook_hash == notebook_hash(notebook=exercise.notebook, fmt=exercise.format)


# -- the task --------------------------------------------------------------------------------------
def test_the_check_task_runs_on_the_grading_queue_within_celery_limits():
    from courses.tasks import check_exercise

    # That the queue takes effect is proven by tests/e2e/test_exercise_authoring.py, whose worker
    # consumes nothing but `grading`.
    assert check_exercise.queue == "grading"
    assert check_exercise.acks_late and check_exercise.soft_time_limit < check_exercise.time_limit


def test_the_check_task_is_idempotent_and_fails_closed_without_a_sandbox(course, settings):
    from courses.tasks import check_exercise
    from lms.progress import grading

    exercise, _created = exercise_import(slug="ms", raw_notebook=json.dumps(exercise_notebook()))
    check = exercise_check_for(exercise=exercise)
    check_exercise.run(check.pk + 1000)  # gone: nothing happens

    settings.SANDBOX_BWRAP = "/nonexistent/bwrap"
    grading.shutdown()
    try:
        check_exercise.run(check.pk)
    finally:
        grading.shutdown()
    check.refresh_from_db()
    assert (check.status, check.problem) == (ExerciseCheckStatus.ERROR, "sandbox")
    assert "bubblewrap not found" in check.detail
    finished_at = check.finished_at

    # A re-delivered message for a finished check changes nothing; the next save asks again.
    check_exercise.run(check.pk)
    check.refresh_from_db()
    assert check.finished_at == finished_at
    assert exercise_check_request(exercise=exercise).status == ExerciseCheckStatus.QUEUED


# -- the admin -------------------------------------------------------------------------------------
@pytest.fixture
def instructor(client, django_user_model, course):
    user = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
    accounts.profile_create(user=user, country="SN")
    accounts.role_assign(user=user, role=Role.INSTRUCTOR)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(user)
    return client


def upload(name: str, notebook: dict | bytes) -> SimpleUploadedFile:
    content = notebook if isinstance(notebook, bytes) else json.dumps(notebook).encode()
    return SimpleUploadedFile(name, content, content_type="application/x-ipynb+json")


def test_instructor_uploads_a_notebook_and_publishing_waits_for_the_check(instructor):
    add_url = reverse("wagtailsnippets_courses_exercise:add")
    response = instructor.post(
        add_url,
        {
            "title": "",
            "slug": "ms",
            "notebook_format": "auto",
            "notebook_file": upload("ms.ipynb", exercise_notebook()),
        },
    )
    exercise = Exercise.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "wagtailsnippets_courses_exercise:edit", args=[exercise.pk]
    )
    assert (exercise.title, exercise.live) == ("Mean square", False)  # the notebook's title
    check = exercise_check_for(exercise=exercise)

    edit_url = reverse("wagtailsnippets_courses_exercise:edit", args=[exercise.pk])
    page = instructor.get(edit_url).content.decode()
    assert "Waiting for the sandbox" in page and reverse("exercise_check_status", args=[check.pk]) in page
    assert "courses/exercise-check.js" in page

    published = instructor.post(edit_url, {"title": "Mean square", "slug": "ms", "action-publish": "on"}, follow=True)
    assert "Publishing waits for the self-check" in published.content.decode()
    assert not Exercise.objects.get().live

    exercise_check_finish(
        check_id=check.pk, status=ExerciseCheckStatus.FAILED, problem="solution-fails", cell=3, test="visible"
    )
    state = instructor.get(reverse("exercise_check_status", args=[check.pk])).json()
    assert state["finished"] and not state["passed"] and "fails test visible in cell 3" in state["message"]

    exercise_check_finish(check_id=check.pk, status=ExerciseCheckStatus.PASSED)
    instructor.post(edit_url, {"title": "Mean square", "slug": "ms", "action-publish": "on"})
    assert Exercise.objects.get().live


def _otter_notebook(question_config: str) -> bytes:
    """A minimal Otter master notebook: one question, its solution and one test."""
    cells = [
        ("raw", "# BEGIN QUESTION\n" + question_config),
        ("raw", "# BEGIN SOLUTION"),
        ("code", "x = 2 # SOLUTION"),
        ("raw", "# END SOLUTION"),
        ("raw", "# BEGIN TESTS"),
        ("code", "assert x == 2"),
        ("raw", "# END TESTS"),
        ("raw", "# END QUESTION"),
    ]
    return json.dumps(
        {
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source}
                | ({"outputs": [], "execution_count": None} if kind == "code" else {})
                for kind, source in cells
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()


OTTER_BAD_POINTS = _otter_notebook("name: q1\npoints: abc")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "bad.ipynb: instructor notebook is not valid JSON"),
        (b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "bad.ipynb: cannot tell the notebook"),
        (b" " * (MAX_NOTEBOOK_BYTES + 1), "bad.ipynb is 5120 KiB; the limit is 5120 KiB."),
        # Non-numeric Otter points once escaped the parser as a bare ValueError (a server error).
        (OTTER_BAD_POINTS, "bad.ipynb: cell 0 (question q1): points"),
    ],
)
def test_a_bad_upload_is_refused_naming_the_file_and_stores_nothing(instructor, content, message):
    response = instructor.post(
        reverse("wagtailsnippets_courses_exercise:add"),
        {"title": "T", "slug": "t", "notebook_format": "auto", "notebook_file": upload("bad.ipynb", content)},
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert not Exercise.objects.exists() and not ExerciseCheck.objects.exists()


def test_the_preview_shows_the_learner_version_without_solutions_or_hidden_tests(instructor):
    exercise, _created = exercise_import(slug="ms", raw_notebook=json.dumps(exercise_notebook()))
    preview_url = reverse("wagtailsnippets_courses_exercise:preview_on_edit", args=[exercise.pk])
    assert instructor.post(preview_url, {"title": "Mean square", "slug": "ms"}).json()["is_valid"]
    response = instructor.get(preview_url)
    # The admin shows the preview in an iframe: the strict policy must let the admin frame it.
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    html = response.content.decode()
    assert 'name="answer:answer"' in html and "NotImplementedError" in html
    assert "sum(x * x for x in xs)" not in html  # the solution
    assert "1.625" not in html and "12.5" not in html  # hidden tests
    assert html.count('class="exercise-code"') == 2  # the setup cell and the visible test, highlighted


def test_a_draft_without_a_slug_gets_one_from_its_title_and_a_taken_slug_is_refused(instructor):
    # "Save draft" lets required fields stay blank; a blank unique slug would collide on the
    # second such draft. The slug comes from the title, itself from the notebook when blank.
    add_url = reverse("wagtailsnippets_courses_exercise:add")
    form = {"title": "", "slug": "", "notebook_format": "auto"}
    first = instructor.post(add_url, {**form, "notebook_file": upload("ms.ipynb", exercise_notebook())})
    assert first.status_code == 302 and Exercise.objects.get().slug == "mean-square"

    second = instructor.post(add_url, {**form, "notebook_file": upload("ms.ipynb", exercise_notebook())})
    assert second.status_code == 200 and "with this slug already exists" in second.content.decode().lower()
    assert Exercise.objects.count() == 1
