"""A learner, in English and Arabic: answers a quiz wrongly and reads why, answers right, completes the
course, gets the certificate, and a stranger verifies it."""

import os

import pytest
from allauth.account.models import EmailAddress

from courses.models import LessonPage
from lms.accounts import services as accounts
from lms.progress.models import Certificate
from tests.builders import make_course, quiz_fence
from tests.conftest import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-Passphrase-42"
TEXTS = {
    "en": {
        "question": "Which of these is a **supervised** learning task?",
        "options": ["Grouping customers with no labels", "Predicting rain from labelled past days"],
        "feedback": ["No labels means unsupervised.", "Yes: each past day is labelled rain or no rain."],
        "explanation": "Supervised learning learns from examples with known answers.",
        "name": "Amina Kamau",
    },
    "ar": {
        "question": "أيّ من هذه مهمة تعلّم **خاضع للإشراف**؟",
        "options": ["تجميع العملاء دون تسميات", "التنبؤ بالمطر من أيام سابقة موسومة"],
        "feedback": ["غياب التسميات يعني تعلّمًا غير خاضع للإشراف.", "نعم: كل يوم سابق موسوم بمطر أو بلا مطر."],
        "explanation": "يتعلّم النموذج الخاضع للإشراف من أمثلة معروفة الإجابة.",
        "name": "فاطمة الزهراء",
    },
}


def quiz(slug: str, code: str) -> str:
    text = TEXTS[code]
    return quiz_fence(
        id="supervised",
        kind="single",
        question=text["question"],
        options=[
            {"text": text["options"][0], "feedback": text["feedback"][0]},
            {"text": text["options"][1], "correct": True, "feedback": text["feedback"][1]},
        ],
        explanation=text["explanation"],
    )


@pytest.fixture
def course(tmp_path):
    make_course(
        tmp_path,
        modules=1,
        lessons_per_module=1,
        languages=("en", "ar"),
        completion={"lessons_viewed_percent": 100, "quiz_points_percent": 100},
        extra_body=quiz,
    )


@pytest.mark.parametrize(("language", "direction"), [("en", "ltr"), ("ar", "rtl")])
def test_quiz_to_verified_certificate(
    page, browser, live_server, course, django_user_model, screenshot, language, direction
):
    text = TEXTS[language]
    user = django_user_model.objects.create_user("learner", "learner@example.org", PASSWORD)
    EmailAddress.objects.create(user=user, email="learner@example.org", verified=True, primary=True)
    profile = accounts.profile_create(user=user, country="JO", preferred_language=language)
    profile.display_name = text["name"]
    profile.save()

    page.goto(f"{live_server.url}/{language}/accounts/login/")
    page.fill("input[name=login]", "learner@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()

    lesson = LessonPage.objects.get(locale__language_code=language)
    page.goto(live_server.url + lesson.url)
    assert page.locator("html").get_attribute("dir") == direction
    quiz_box = page.locator("#quiz-supervised")
    assert text["feedback"][1] not in page.content()  # nothing tells the answer before answering

    quiz_box.get_by_label(text["options"][0]).check()
    quiz_box.locator("button[type=submit]").click()
    page.wait_for_load_state()
    result = page.locator("#quiz-supervised .quiz-result.wrong")
    result.wait_for()
    assert text["feedback"][0] in quiz_box.text_content()
    assert text["explanation"] in result.text_content()
    assert text["feedback"][1] not in page.content()
    screenshot(f"quiz-wrong-{language}")

    quiz_box.get_by_label(text["options"][1]).check()
    quiz_box.locator("button[type=submit]").click()
    page.locator("#quiz-supervised .quiz-result.right").wait_for()
    assert text["feedback"][1] in quiz_box.text_content()

    page.locator(".lesson-footer form button").click()  # the last lesson: the course is complete
    page.wait_for_load_state()
    assert page.locator(".message.success").count() == 2  # lesson completed, course completed
    page.goto(f"{live_server.url}/{language}/learning/")
    assert page.locator(".conditions li.met").count() == 2
    screenshot(f"my-learning-completed-{language}")
    page.locator(".certificate-link a").click()
    page.wait_for_load_state()
    certificate = Certificate.objects.get(user=user)
    assert page.locator(".certificate-doc .learner").text_content() == text["name"]
    assert page.locator("html").get_attribute("dir") == direction
    screenshot(f"certificate-{language}")
    pdf = page.request.get(live_server.url + page.locator("a[href$='/pdf/']").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    assert page.outside_requests == [] and page.csp_violations == []

    # A stranger (an employer, say) checks the code typed from the paper, in lower case with spaces.
    stranger = browser.new_context(viewport={"width": 1100, "height": 860}).new_page()
    stranger.goto(f"{live_server.url}/{language}/verify/")
    stranger.fill("input[name=code]", certificate.code.lower().replace("-", " "))
    stranger.locator("main form button[type=submit]").click()
    stranger.wait_for_load_state()
    assert stranger.url.endswith(f"/{language}/verify/{certificate.code}/")
    result = stranger.locator(".verify-result.valid")
    assert text["name"] in result.text_content() and "learner@example.org" not in stranger.content()
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":  # the switch the screenshot fixture uses
        stranger.screenshot(path=str(SCREENSHOTS / f"verify-{language}.png"))
    stranger.context.close()
