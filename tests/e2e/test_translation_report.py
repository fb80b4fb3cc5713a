"""Reports > Translation progress in a real browser, in English and in Arabic (right to left), on the
sample course with one lesson missing in Russian and one English lesson changed after translation."""

import os
import shutil
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.test import Client
from wagtail.users.models import UserProfile

from courses.content_loader import load_content
from lms.accounts import services
from lms.accounts.models import Role
from tests.conftest import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
COURSE = "first-steps-with-ai"


@pytest.fixture
def course_with_gaps(tmp_path):
    content = tmp_path / "content"
    (content / "courses").mkdir(parents=True)
    shutil.copy(Path(settings.BASE_DIR) / "content" / "site.yaml", content / "site.yaml")
    shutil.copytree(Path(settings.BASE_DIR) / "content" / "courses" / COURSE, content / "courses" / COURSE)
    (content / "courses" / COURSE / "what-ai-is" / "learning-from-data" / "ru.md").unlink()
    load_content(content)
    # The English lesson changes after it was translated: every translation of that paragraph is outdated.
    english = content / "courses" / COURSE / "what-ai-is" / "ai-machine-learning-and-you" / "en.md"
    english.write_text(
        english.read_text(encoding="utf-8").replace(
            "There are two ways to make a computer do something clever.",
            "There are two main ways to make a computer do something useful.",
        ),
        encoding="utf-8",
    )
    load_content(content)


def test_translation_progress_report_in_english_and_arabic(page, live_server, course_with_gaps, django_user_model):
    user = django_user_model.objects.create_user("translator", "translator@example.org", "x" * 12)
    services.profile_create(user=user, country="JO")
    services.role_assign(user=user, role=Role.INSTRUCTOR)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )

    for language, direction in (("en", "ltr"), ("ar", "rtl")):
        profile = UserProfile.get_for_user(user)
        profile.preferred_language = language
        profile.save(update_fields=["preferred_language"])
        page.goto(f"{live_server.url}/cms/")
        page.get_by_role("button", name="Reports" if language == "en" else "التقارير").click()
        page.locator('a[href="/cms/reports/translation-progress/"]').click()
        page.wait_for_url("**/cms/reports/translation-progress/")
        assert page.locator("html").get_attribute("dir") == direction

        rows = page.locator("section.translation-progress__course tbody tr")
        assert rows.count() == 5  # the five languages the course is translated into
        russian = rows.filter(has=page.locator('th[lang="ru"]'))
        assert int(russian.locator("progress").get_attribute("value")) < 100
        # One stale page: Arabic writes "one page" in words, so count the listed pages instead.
        assert russian.locator(".translation-progress__stale").count() == 1
        assert russian.locator(".translation-progress__stale-list li").count() == 1
        french = rows.filter(has=page.locator('th[lang="fr"]'))
        assert french.locator(".translation-progress__stale-list li").count() == 1
        # A stale translation links to its page in the translation editor.
        french.locator(".translation-progress__stale-list a").first.click()
        page.wait_for_load_state()
        assert "/cms/pages/" in page.url and "/edit/" in page.url
        page.go_back()
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            (SCREENSHOTS / "translation").mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "translation" / f"progress-{language}.png"), full_page=True)
