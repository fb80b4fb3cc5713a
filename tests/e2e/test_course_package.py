"""A network admin downloads a course package from the admin, the course is removed, and the admin
imports the package again through the upload form: the course is back, in every language."""

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.test import Client
from django.urls import reverse
from wagtail.users.models import UserProfile

from courses.models import CoursePage, Exercise
from lms.accounts import services as accounts
from lms.accounts.models import Role
from tests.courses.test_package import SLUG, build_course

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_downloads_a_course_package_and_imports_it_again(
    page, live_server, tmp_path, django_user_model, screenshot
):
    course = build_course(tmp_path / "content")
    admin = django_user_model.objects.create_user("netadmin", "netadmin@example.org", "x" * 12)
    accounts.profile_create(user=admin, country="KE")
    accounts.role_assign(user=admin, role=Role.NETWORK_ADMIN)
    Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client = Client()
    client.force_login(admin)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )

    page.goto(live_server.url + reverse("wagtailadmin_pages:edit", args=[course.pk]))
    page.get_by_role("button", name="Actions", exact=True).click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download package").click()
    package = tmp_path / "package.zip"
    download_info.value.save_as(package)
    assert download_info.value.suggested_filename == f"{SLUG}.zip"

    for translation in CoursePage.objects.filter(slug=SLUG):
        translation.delete()
    Exercise.objects.all().delete()

    page.goto(live_server.url + reverse("wagtailadmin_home"))
    page.get_by_role("link", name="Import a course").click()
    page.get_by_label("Course package").set_input_files(package)
    screenshot("course-package-import")
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/cms/pages/*/")
    assert CoursePage.objects.filter(slug=SLUG).count() == 6
    assert "Imported" in page.content()

    # The same form in Arabic, right to left.
    profile = UserProfile.get_for_user(admin)
    profile.preferred_language = "ar"
    profile.save(update_fields=["preferred_language"])
    page.goto(live_server.url + reverse("course_package_import"))
    assert page.locator("html").get_attribute("dir") == "rtl"
