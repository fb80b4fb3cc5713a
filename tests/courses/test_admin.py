"""Instructors author in the Wagtail admin; wagtail-localize's translation workflow is wired in."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from courses.models import CoursePage, LessonPage
from lms.accounts import services
from lms.accounts.models import Role
from tests.builders import make_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def instructor_client(client, django_user_model, tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en",))
    user = django_user_model.objects.create_user("teacher", "teacher@example.org", "x" * 12)
    services.profile_create(user=user, country="SN")
    services.role_assign(user=user, role=Role.INSTRUCTOR)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(user)
    return client


def test_instructor_edits_a_lesson_in_the_admin(instructor_client):
    lesson = LessonPage.objects.get(locale__language_code="en")
    response = instructor_client.get(reverse("wagtailadmin_pages:edit", args=[lesson.pk]))
    assert response.status_code == 200 and b"body" in response.content


def test_translation_can_be_submitted_through_wagtail_localize(instructor_client, django_user_model):
    admin = django_user_model.objects.create_user("netadmin", "netadmin@example.org", "x" * 12)
    services.profile_create(user=admin, country="KE")
    services.role_assign(user=admin, role=Role.NETWORK_ADMIN)
    Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={"secret": "x"})
    instructor_client.force_login(admin)
    course = CoursePage.objects.get(locale__language_code="en")
    response = instructor_client.get(reverse("wagtail_localize:submit_page_translation", args=[course.pk]))
    assert response.status_code == 200 and b"locales" in response.content
