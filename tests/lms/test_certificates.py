"""Certificates: the learner's page and PDF (theirs only, in their language) and the public verification."""

import io
import os
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from courses.models import LessonPage
from lms.accounts import services as accounts
from lms.progress import services
from lms.progress.models import Certificate
from tests.builders import make_course
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db

COURSE_TITLES = {
    "en": "First steps with AI",
    "ar": "خطواتك الأولى في الذكاء الاصطناعي",
    "zh-hans": "人工智能入门第一步",
}
NAMES = {"en": "Amina Kamau", "ar": "فاطمة الزهراء", "zh-hans": "李小龙"}


@pytest.fixture
def course(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1)
    from courses.models import CoursePage

    for code, title in COURSE_TITLES.items():
        CoursePage.objects.filter(locale__language_code=code).update(title=title)


def complete(user):
    services.lesson_complete(user=user, lesson=LessonPage.objects.get(locale__language_code="en"))
    return Certificate.objects.get(user=user)


def make_learner(django_user_model, language, name, email=None):
    email = email or f"{language}-learner@example.org"
    user = django_user_model.objects.create_user(email.split("@")[0], email, "x" * 12)
    profile = accounts.profile_create(user=user, country="KE", preferred_language=language)
    profile.display_name = name
    profile.save()
    return user


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("language", ["en", "ar", "zh-hans"])
def test_the_pdf_is_in_the_learners_language_with_its_script(client, course, django_user_model, language):
    learner = make_learner(django_user_model, language, NAMES[language])
    certificate = complete(learner)
    Certificate.objects.filter(pk=certificate.pk).update(issued_at=datetime(2026, 11, 26, 10, tzinfo=UTC))
    client.force_login(learner)
    response = client.get(f"/en/learning/certificates/{certificate.code}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = pdf_text(pdf)
    # Text extraction gives back the words in logical order: Arabic joined and in the right order,
    # Chinese as the same characters, so the fonts carried the glyphs and their Unicode mapping.
    assert NAMES[language] in text
    assert COURSE_TITLES[language] in text
    assert certificate.code in text
    assert f"/{language}/verify/{certificate.code}/" in text
    expected = {"en": "Certificate of completion", "ar": "2026", "zh-hans": "2026"}[language]
    assert expected in text
    assert "@example.org" not in text
    fonts = {
        str(font.get_object()["/BaseFont"]) for page in reader.pages for font in page["/Resources"]["/Font"].values()
    }
    family = {"en": "Noto-Serif", "ar": "Noto-Naskh-Arabic", "zh-hans": "Noto-Serif-CJK-SC"}[language]
    assert any(family in font for font in fonts), fonts

    if os.environ.get("UPDATE_SCREENSHOTS") == "1" and shutil.which("pdftoppm"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"certificate-pdf-{language}"
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", "-", str(target)], input=pdf, check=True)


def test_the_learners_page_is_in_the_certificates_language(client, course, django_user_model):
    learner = make_learner(django_user_model, "ar", NAMES["ar"])
    certificate = complete(learner)
    client.force_login(learner)
    response = client.get(f"/en/learning/certificates/{certificate.code}/")
    assert response.status_code == 302 and response["Location"] == f"/ar/learning/certificates/{certificate.code}/"
    html = client.get(response["Location"]).content.decode()
    assert 'dir="rtl"' in html and NAMES["ar"] in html and COURSE_TITLES["ar"] in html
    assert f"/ar/verify/{certificate.code}/" in html


@pytest.mark.parametrize("suffix", ["", "pdf/"])
def test_a_learner_cannot_open_anothers_certificate(client, course, django_user_model, suffix):
    owner = make_learner(django_user_model, "en", "Owner")
    other = make_learner(django_user_model, "en", "Other", email="other@example.org")
    certificate = complete(owner)
    url = f"/en/learning/certificates/{certificate.code}/{suffix}"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(other)
    assert client.get(url).status_code == 404
    assert client.post(f"/en/learning/certificates/{certificate.code}/", {"name": "Thief"}).status_code == 404
    client.force_login(owner)
    assert client.get(url).status_code == 200


def test_anyone_can_verify_a_certificate_and_never_sees_the_email(client, course, django_user_model):
    learner = make_learner(django_user_model, "zh-hans", NAMES["zh-hans"], email="li.xiaolong@example.org")
    certificate = complete(learner)
    response = client.get(f"/en/verify/{certificate.code}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "This certificate is valid." in html
    assert NAMES["zh-hans"] in html and COURSE_TITLES["zh-hans"] in html
    assert "li.xiaolong" not in html and "example.org" not in html and learner.username not in html

    services.certificate_revoke(certificate=certificate)
    html = client.get(f"/ar/verify/{certificate.code}/").content.decode()
    assert "This certificate is valid." not in html and 'class="verify-result card revoked"' in html


def test_a_typed_code_is_forgiving_about_case_spaces_and_lookalikes(client, course, django_user_model):
    certificate = complete(make_learner(django_user_model, "en", "Amina Kamau"))
    typed = certificate.code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    response = client.get("/en/verify/", {"code": typed})
    assert response.status_code == 302 and response["Location"] == f"/en/verify/{certificate.code}/"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/en/verify/?code=hello", 400, "A code has 12 letters and digits"),
        ("/en/verify/ZZZZ-ZZZZ-ZZZZ/", 404, "No certificate has the code"),
        ("/en/verify/%3Cscript%3E/", 404, "No certificate has the code “&lt;script&gt;”"),
        ("/en/verify/", 200, "Verification code"),
    ],
)
def test_verification_of_unknown_or_malformed_codes(client, db, path, status, message):
    response = client.get(path)
    assert response.status_code == status
    assert message in response.content.decode()


def test_a_certificate_without_a_name_asks_for_one_before_the_pdf(client, course, django_user_model):
    learner = django_user_model.objects.create_user("someone", "someone@example.org", "x" * 12)
    certificate = complete(learner)
    client.force_login(learner)
    page = f"/en/learning/certificates/{certificate.code}/"
    assert client.get(page + "pdf/").status_code == 302
    assert 'name="name"' in client.get(page).content.decode()
    client.post(page, {"name": "   "})
    assert Certificate.objects.get().learner_name == ""
    client.post(page, {"name": "Someone Real"})
    assert Certificate.objects.get().learner_name == "Someone Real"
    assert client.get(page + "pdf/").status_code == 200
    response = client.post(page, {"name": "Another Name"}, follow=True)
    assert "already has a name" in response.content.decode()
    assert Certificate.objects.get().learner_name == "Someone Real"
