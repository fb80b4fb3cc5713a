"""A learner solves an exercise in the browser, in English and Arabic, with a real worker: types in
the CodeMirror editor, runs the code (text, a matplotlib plot, and outputs that try to run script),
reveals a hint, checks a wrong answer, fixes it and submits."""

import json
import time
from pathlib import Path

import pytest

from courses.exercises import exercise_create_or_update
from courses.models import LessonPage
from lms.celery import app
from tests.builders import exercise_notebook, make_course
from tests.workers import Worker

pytestmark = [pytest.mark.e2e, pytest.mark.kernel, pytest.mark.django_db(transaction=True)]
BUNDLE = Path(__file__).resolve().parents[2] / "lms" / "static" / "editor" / "editor.js"
WRONG = "def mean_square(xs):\n    return sum(xs) / len(xs)\n"
RIGHT = "def mean_square(xs):\n    return sum(x * x for x in xs) / len(xs)\n"
# Output that tries to run script in the page: as HTML, as printed markup, as an SVG.
HOSTILE = (
    "print(mean_square([1, 2, 3]))\n"
    "import matplotlib.pyplot as plt\n"
    "plt.plot([1, 2, 3], [1, 4, 9])\n"
    "plt.show()\n"
    "from IPython.display import HTML, SVG, display\n"
    "display(HTML('<script>alert(1)</script><img src=x onerror=alert(2)>'))\n"
    'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(3)"/>\'))\n'
    "print('<img src=x onerror=alert(4)>')\n"
)
TEXTS = {
    "en": {
        "title": "Mean square",
        "instructions": "<p>Write <code>mean_square(xs)</code>.</p>",
        "hints": ["<p>Square each number first.</p>", "<p>Then divide by <code>len(xs)</code>.</p>"],
    },
    "ar": {
        "title": "متوسط المربعات",
        "instructions": "<p>اكتب الدالة <code>mean_square(xs)</code>.</p>",
        "hints": ["<p>ربّع كل عدد أولاً.</p>", "<p>ثم اقسم على <code>len(xs)</code>.</p>"],
    },
}


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    # One worker for both languages: its warm pool carries over, as it would in production.
    with django_db_blocker.unblock():
        app.control.purge()
        worker = Worker("e2e-grading")
    yield worker
    worker.stop()


@pytest.fixture
def lesson(tmp_path):
    if not BUNDLE.exists():
        pytest.fail("The editor bundle is missing: run `make editor` (make test and make run build it).")
    make_course(tmp_path, modules=1, lessons_per_module=1)
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    for page in LessonPage.objects.all():
        texts = TEXTS.get(page.locale.language_code, TEXTS["en"])
        page.body.append(("exercise", {"exercise": exercise, **texts}))
        page.save_revision().publish()
    return LessonPage.objects.get(locale__language_code="en")


def log_in(page, live_server, django_user_model, language):
    django_user_model.objects.create_user("solver", "solver@example.org", "a-long-Passphrase-42")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(
        user_id=django_user_model.objects.get().pk, email="solver@example.org", verified=True, primary=True
    )
    page.goto(f"{live_server.url}/{language}/accounts/login/")
    page.fill("input[name=login]", "solver@example.org")
    page.fill("input[name=password]", "a-long-Passphrase-42")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def set_code(page, code):
    """Replace the editor's text (as a paste would: no auto-indent)."""
    page.locator(".exercise .cm-content").fill(code)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_run_check_and_submit_in_the_editor(page, live_server, lesson, worker, django_user_model, screenshot, language):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server, django_user_model, language)
    page.goto(live_server.url + LessonPage.objects.get(locale__language_code=language).url)

    # The editor replaced the textarea, and code reads left to right even on an Arabic page.
    editor = page.locator(".exercise .cm-editor")
    editor.wait_for()
    assert page.locator("textarea.code-editor").is_hidden()
    assert editor.get_attribute("dir") == "ltr" and page.locator("html").get_attribute("dir") == (
        "rtl" if language == "ar" else "ltr"
    )
    assert "NotImplementedError" in page.locator(".exercise .cm-content").inner_text()  # the starter code
    assert page.locator(".exercise .cm-content .tok-keyword, .exercise .cm-content span").count() > 0

    # Keyboard: Tab indents inside the editor; Escape then Tab moves on to the Run button.
    page.locator(".exercise .cm-content").press("Control+End")
    page.keyboard.press("Tab")
    assert "\n        raise NotImplementedError()" in page.locator("textarea.code-editor").input_value()
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "run"

    # Type: a paste of the wrong answer, then keystrokes on the first line.
    set_code(page, WRONG + HOSTILE)
    page.locator(".exercise .cm-content").press("Control+Home")
    page.keyboard.type("import math  # typed in the editor")
    page.keyboard.press("Enter")
    assert page.locator("textarea.code-editor").input_value().startswith("import math  # typed in the editor\ndef ")

    # Run: text, a plot, and hostile outputs shown as text.
    page.locator("button[value=run]").click()
    output = page.locator(".exercise .cell-output")
    output.locator("img.output").wait_for(timeout=240_000)  # the worker's first session starts cold
    shown = output.inner_text()
    assert "2.0" in shown  # print(mean_square([1, 2, 3])) with the wrong answer
    assert "<img src=x onerror=alert(4)>" in shown
    assert "<IPython.core.display.HTML object>" in shown and "<IPython.core.display.SVG object>" in shown
    assert output.locator("img").count() == 1  # the plot, and nothing the output tried to insert
    assert output.locator("img").get_attribute("src").startswith("data:image/png;base64,")
    assert output.locator("img").evaluate("image => image.naturalWidth") > 100
    assert page.locator("script:not([src])").count() == 0
    assert page.locator(".exercise-feedback .test-results").count() == 0  # Run never grades

    # A hint, revealed and still there after a reload (with the latest code in the editor).
    page.locator(".hint-form button").click()
    page.locator(".hint-list li").first.wait_for()
    assert page.locator(".hint-list li").count() == 1
    page.reload()
    assert page.locator(".hint-list li").count() == 1
    assert TEXTS[language]["hints"][0][3:-4] in page.locator(".hint-list").inner_text()
    assert "typed in the editor" in page.locator(".exercise .cm-content").inner_text()

    # Check a wrong answer: the failing visible test is named.
    set_code(page, WRONG)
    page.locator("button[value=check]").click()
    failed = page.locator(".exercise-feedback .test-results li.failed")
    failed.first.wait_for(timeout=240_000)
    assert "visible" in failed.first.text_content()

    # Fix it, run it with a plot, and submit: the score, under the outputs of the run.
    set_code(
        page,
        RIGHT
        + "print(mean_square([1, 2, 3]))\nimport matplotlib.pyplot as plt\nplt.bar([1, 2, 3], [1, 4, 9])\nplt.show()\n",
    )
    page.locator("button[value=run]").click()
    output.get_by_text("4.666").wait_for(timeout=240_000)
    output.locator("img.output").wait_for()
    started = time.perf_counter()
    page.locator("button[value=submit]").click()
    page.locator(".exercise-feedback .score", has_text="7 / 7").wait_for(timeout=240_000)
    print(f"submit to feedback on screen: {(time.perf_counter() - started) * 1000:.0f} ms ({language})")
    assert page.locator(".exercise-feedback li.failed").count() == 0
    assert output.get_by_text("4.666").is_visible()

    page.set_viewport_size({"width": 1100, "height": 1500})  # the whole exercise, score included
    page.evaluate("window.scrollBy(0, document.querySelector('.exercise').getBoundingClientRect().top - 10)")
    screenshot(f"exercise-{language}")
    assert dialogs == []
    assert page.outside_requests == []
    assert page.csp_violations == []


def test_the_textarea_works_without_javascript(browser, live_server, lesson, worker, django_user_model):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, django_user_model, "en")
        page.goto(live_server.url + lesson.url)
        area = page.locator("textarea.code-editor")
        assert area.is_visible() and page.locator(".cm-editor").count() == 0
        area.fill(RIGHT + "print('no script needed')\n")
        page.locator("button[value=run]").click()
        # The submission page refreshes itself until the run is done.
        page.get_by_text("no script needed").wait_for(timeout=240_000)
    finally:
        context.close()
