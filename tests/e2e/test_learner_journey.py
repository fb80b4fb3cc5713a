"""A new visitor, in Arabic and in English: browse, sign up, verify the e-mail, enroll, learn, see progress."""

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from courses.content_loader import load_content
from lms.accounts import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-Passphrase-42"


@pytest.fixture
def content(tmp_path):
    shutil.copytree(Path(settings.BASE_DIR) / "content", tmp_path / "content")
    load_content(tmp_path / "content")
    services.training_centre_create(name="Amman Data Academy", country="JO", city="Amman")


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("en", "ltr")])
def test_new_visitor_signs_up_enrolls_and_completes_a_lesson(
    page, live_server, content, screenshot, language, direction
):
    page.goto(f"{live_server.url}/{language}/")
    assert page.locator("html").get_attribute("dir") == direction
    assert page.locator("html").get_attribute("lang") == language
    screenshot(f"catalog-{language}")

    page.locator(".course-card h2 a").first.click()
    screenshot(f"course-{language}")
    page.locator(".course-actions a.button").click()  # sign up to enroll

    email = f"visitor-{language}@example.org"
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.select_option("select[name=country]", "JO")
    page.select_option("select[name=preferred_language]", language)
    screenshot(f"signup-{language}")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(live_server.url + "/" + link.split("://", 1)[1].split("/", 1)[1])
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/{language}/first-steps-with-ai/")
    page.locator(".course-actions button").click()  # enroll
    page.locator(".course-actions a.button").click()  # start the course
    assert page.locator("html").get_attribute("dir") == direction
    screenshot(f"lesson-{language}")
    page.locator(".lesson-footer form button").click()  # mark complete, go to the next lesson

    page.goto(f"{live_server.url}/{language}/learning/")
    assert page.locator(".progress").first.get_attribute("aria-valuenow") == "25"  # 1 of 4 lessons
    screenshot(f"my-learning-{language}")
    assert page.outside_requests == []
    assert page.csp_violations == []
