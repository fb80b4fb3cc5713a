"""Run, hints and the editor's pre-filled code on the exercise page: services and views.

Runs go through the real grading task and the real sandbox in this process (as
tests/lms/test_grading.py does); the browser side is in tests/e2e/test_exercise.py.
"""

import base64
import io
import json

import pytest
from PIL import Image

from courses.exercises import exercise_create_or_update
from courses.models import LessonPage
from lms.progress import services
from lms.progress.models import HintReveal, Submission
from lms.progress.outputs import clean_output, clean_text, image_data_uri
from lms.progress.tasks import grade_submission
from tests.builders import exercise_notebook, make_course

pytestmark = pytest.mark.django_db
RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"
HINTS = ["<p>First, <em>gentle</em> hint</p>", "<p>Second hint</p>"]


@pytest.fixture
def lesson_with_exercise(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en", "ar"))
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    for lesson in LessonPage.objects.filter(locale__language_code__in=["en", "ar"]):
        arabic = lesson.locale.language_code == "ar"
        value = {
            "exercise": exercise,
            "title": "متوسط المربعات" if arabic else "Mean square, in English",
            "instructions": "<p>اكتب الدالة</p>" if arabic else "<p>Write the function.</p>",
            "hints": ["<p>تلميح أول</p>", "<p>تلميح ثان</p>"] if arabic else HINTS,
        }
        lesson.body.append(("exercise", value))
        lesson.save_revision().publish()
    return LessonPage.objects.get(locale__language_code="en"), exercise


@pytest.fixture
def learner(client, django_user_model):
    user = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    client.force_login(user)
    return user


def png_bytes(size=(4, 3), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


# -- outputs shown to the learner ---------------------------------------------------------------------


def test_text_outputs_lose_ansi_codes_and_control_characters_but_stay_text():
    assert clean_text("\x1b[31mred\x1b[0m and \x1b]0;title\x07plain\x00\r\n<b>x</b>") == "red and plain\n<b>x</b>"
    error = clean_output(
        {"kind": "error", "ename": "ValueError", "evalue": "no", "traceback": "\x1b[0;31mTrace\x1b[0m"}
    )
    assert error == {"kind": "error", "ename": "ValueError", "evalue": "no", "traceback": "Trace"}


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        (base64.b64encode(png_bytes()).decode(), "data:image/png;base64,"),
        (base64.b64encode(png_bytes(fmt="JPEG")).decode(), "data:image/jpeg;base64,"),
        (base64.b64encode(png_bytes(fmt="GIF")).decode(), None),  # only PNG and JPEG
        (base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>").decode(), None),  # a forged header
        (base64.b64encode(b'<svg onload="alert(1)"/>').decode(), None),
        ("not base64 at all!", None),
        (base64.b64encode(png_bytes(size=(5000, 5000))).decode(), None),  # too many pixels
    ],
)
def test_images_are_kept_only_when_they_really_are_png_or_jpeg(data, kept):
    uri = image_data_uri(data)
    if kept is None:
        assert uri is None
        assert clean_output({"kind": "display", "png": data}) == {"kind": "display", "omitted": "image"}
    else:
        assert uri is not None and uri.startswith(kept)


# -- Run through the grading task ------------------------------------------------------------------------


def post(client, exercise, kind, answer, **extra):
    return client.post(
        f"/en/learning/exercises/{exercise.pk}/submit/",
        {"answer:answer": answer, "kind": kind, **extra},
        HTTP_ACCEPT="application/json",
    )


@pytest.mark.kernel
def test_run_shows_outputs_per_cell_and_never_grades(
    client, learner, lesson_with_exercise, django_capture_on_commit_callbacks
):
    _lesson, exercise = lesson_with_exercise
    code = (
        RIGHT + "from IPython.display import HTML, display\n"
        "display(HTML('<script>alert(1)</script>'))\n"
        "print('<img src=x onerror=alert(2)>')\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2], [3, 4])\nplt.show()\n"
        "mean_square([1, 2, 3]) / 0\n"
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(client, exercise, "run", code)
    assert response.status_code == 202 and len(callbacks) == 1
    queued = response.json()
    assert (queued["kind"], queued["status"]) == ("run", "queued")
    grade_submission.apply(args=[queued["id"]])

    body = client.get(queued["url"], HTTP_ACCEPT="application/json").json()
    assert body["status"] == "graded" and body["verdict"] == "stopped at an error"
    assert "score" not in body and "tests" not in body  # a run is never graded
    (cell,) = body["cells"]
    assert cell["key"] == "answer" and cell["ran"]
    kinds = [output["kind"] for output in cell["outputs"]]
    assert kinds == ["display", "stream", "display", "error"]
    display, stream, image, error = cell["outputs"]
    assert display["text"] == "<IPython.core.display.HTML object>"
    assert stream["text"] == "<img src=x onerror=alert(2)>\n"  # stays text: the page writes it with textContent
    assert image["image"].startswith("data:image/png;base64,") and "text" not in image
    assert error["ename"] == "ZeroDivisionError" and "\x1b" not in error["traceback"]
    submission = Submission.objects.get()
    assert (submission.kind, submission.score, submission.max_score) == ("run", None, None)
    assert "<script>" not in json.dumps(submission.feedback)

    # Without JavaScript the submission page shows the same outputs, escaped by the template.
    page = client.get(queued["url"]).content.decode()
    assert "&lt;img src=x onerror=alert(2)&gt;" in page and "<img src=x" not in page
    assert 'src="data:image/png;base64,' in page


@pytest.mark.kernel
def test_runs_do_not_count_as_attempts_or_scores(client, learner, lesson_with_exercise):
    lesson, exercise = lesson_with_exercise
    run = services.submission_create(user=learner, exercise=exercise, notebook=exercise_notebook(RIGHT), kind="run")
    grade_submission.apply(args=[run.pk])
    html = client.get(lesson.url).content.decode()
    assert "Your attempts" not in html


def test_run_check_and_submit_are_each_rate_limited(client, learner, lesson_with_exercise, settings):
    _lesson, exercise = lesson_with_exercise
    settings.RATE_LIMITS = {"run": "1/m", "check": "1/m", "submit": "1/m"}
    for kind in ("run", "check", "submit"):
        assert post(client, exercise, kind, RIGHT).status_code == 202
        refused = post(client, exercise, kind, RIGHT)
        assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
        assert "try again" in refused.json()["error"]
    # One stored per kind: the refused ones left nothing behind.
    assert sorted(Submission.objects.values_list("kind", flat=True)) == ["check", "run", "submit"]


# -- the editor's code and the page ------------------------------------------------------------------------


def test_the_page_offers_run_and_prefills_each_editor_with_the_latest_code(
    client, learner, lesson_with_exercise, django_capture_on_commit_callbacks
):
    lesson, exercise = lesson_with_exercise
    html = client.get(lesson.url).content.decode()
    assert 'value="run"' in html and "editor/editor.js" in html
    assert "Mean square, in English" in html and "Write the function." in html
    assert "Hint: `sum` and `len`" not in html  # the block's instructions replace the notebook's text
    assert "def mean_square(xs):\n    # YOUR CODE HERE\n    raise NotImplementedError()</textarea>" in html
    with django_capture_on_commit_callbacks(execute=False):
        post(client, exercise, "check", "def mean_square(xs):\n    return 42  # my latest\n")
    html = client.get(lesson.url).content.decode()
    assert "return 42  # my latest" in html
    # The starter code stays available for "Reset to starter code".
    assert 'data-starter="def mean_square(xs):' in html


def test_the_editor_falls_back_to_the_textarea_in_both_languages(client, learner, lesson_with_exercise):
    for language in ("en", "ar"):
        html = client.get(LessonPage.objects.get(locale__language_code=language).url).content.decode()
        assert '<textarea id="answer-' in html and 'dir="ltr"' in html and 'name="answer:answer"' in html


# -- hints ----------------------------------------------------------------------------------------------


def reveal(client, exercise, lesson, json_reply=True):
    headers = {"HTTP_ACCEPT": "application/json"} if json_reply else {}
    return client.post(f"/en/learning/exercises/{exercise.pk}/hints/", {"lesson": lesson.pk}, **headers)


def test_hints_are_revealed_one_at_a_time_recorded_and_survive_reloads(client, learner, lesson_with_exercise):
    lesson, exercise = lesson_with_exercise
    page = client.get(lesson.url).content.decode()
    assert "gentle" not in page and "Show hint" in page

    first = reveal(client, exercise, lesson).json()
    assert (first["revealed"], first["total"]) == (1, 2)
    assert first["html"] == ["<p>First, <em>gentle</em> hint</p>"]
    page = client.get(lesson.url).content.decode()
    assert "<em>gentle</em>" in page and "Second hint" not in page

    second = reveal(client, exercise, lesson, json_reply=False)  # the form without JavaScript
    assert second.status_code == 302 and second["Location"] == f"{lesson.url}#hints-{exercise.pk}"
    again = reveal(client, exercise, lesson).json()  # everything is shown: nothing more to record
    assert again["revealed"] == 2 and len(again["html"]) == 2
    reveals = list(HintReveal.objects.order_by("hint_index").values_list("user", "exercise", "hint_index"))
    assert reveals == [(learner.pk, exercise.pk, 0), (learner.pk, exercise.pk, 1)]
    assert HintReveal.objects.filter(revealed_at__isnull=True).count() == 0

    # The reveals count in every language: the Arabic page shows its own two hints.
    arabic = client.get(LessonPage.objects.get(locale__language_code="ar").url).content.decode()
    assert "تلميح أول" in arabic and "تلميح ثان" in arabic and "Show hint" not in arabic


def test_hint_requests_for_another_lesson_or_anonymous_visitors_are_refused(
    client, lesson_with_exercise, django_user_model
):
    lesson, exercise = lesson_with_exercise
    assert reveal(client, exercise, lesson).status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user("l2", "l2@example.org", "x" * 12))
    other = exercise_create_or_update(slug="other", title="Other", raw_notebook=json.dumps(exercise_notebook()))
    assert reveal(client, other, lesson).status_code == 404
    assert client.post(f"/en/learning/exercises/{exercise.pk}/hints/", {"lesson": "nope"}).status_code == 404
    assert not HintReveal.objects.exists()


def test_hint_reveal_service_is_ordered_and_bounded(lesson_with_exercise, django_user_model):
    _lesson, exercise = lesson_with_exercise
    user = django_user_model.objects.create_user("s", "s@example.org", "x" * 12)
    assert [services.hint_reveal(user=user, exercise=exercise, hint_total=2) for _ in range(3)] == [1, 2, 2]
    assert sorted(HintReveal.objects.values_list("hint_index", flat=True)) == [0, 1]


def test_visitors_get_the_exercise_without_a_csrf_cookie_so_the_page_stays_cacheable(client, lesson_with_exercise):
    lesson, _exercise = lesson_with_exercise
    response = client.get(lesson.url)
    html = response.content.decode()
    assert 'name="answer:answer"' in html and "csrfmiddlewaretoken" not in html
    assert not response.cookies  # the anonymous page cache stores only responses that set no cookie
    assert "Log in to run, check and submit your code." in html and 'value="run"' not in html
