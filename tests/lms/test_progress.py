"""Enrollment and progress: one course in six languages is one course; each learner sees only their own."""

import pytest
from django.test import Client

from courses.models import CoursePage, LessonPage
from lms.progress import services
from lms.progress.models import Enrollment, LessonCompletion
from tests.builders import make_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(tmp_path):
    make_course(tmp_path, modules=2, lessons_per_module=2, completion_percent=75)
    return CoursePage.objects.get(locale__language_code="en")


@pytest.fixture
def learner(django_user_model):
    return django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)


def lessons(code):
    return list(LessonPage.objects.filter(locale__language_code=code).order_by("path"))


def test_progress_made_in_arabic_counts_in_english(client, course, learner):
    client.force_login(learner)
    assert client.post(f"/en/learning/courses/{course.pk}/enroll/").status_code == 302
    client.post(f"/ar/learning/lessons/{lessons('ar')[0].pk}/complete/")
    client.post(f"/zh-hans/learning/lessons/{lessons('zh-hans')[1].pk}/complete/")
    html = client.get(course.url).content.decode()
    assert "2 of 4 lessons done (50%)" in html
    assert Enrollment.objects.get(user=learner).completed_at is None
    client.post(f"/fr/learning/lessons/{lessons('fr')[2].pk}/complete/")
    assert Enrollment.objects.get(user=learner).completed_at is not None  # 3 of 4 meets the 75% rule


def test_continue_where_you_left_off(client, course, learner):
    client.force_login(learner)
    services.enrollment_start(user=learner, course=course)
    third = lessons("es")[2]
    client.get(third.url)
    html = client.get("/es/learning/").content.decode()
    assert f'href="{third.url}"' in html


def test_completing_twice_is_one_completion(client, course, learner):
    client.force_login(learner)
    lesson = lessons("en")[0]
    client.post(f"/en/learning/lessons/{lesson.pk}/complete/")
    client.post(f"/en/learning/lessons/{lesson.pk}/complete/")
    assert LessonCompletion.objects.filter(user=learner).count() == 1


def test_my_learning_shows_only_my_courses(client, course, learner, django_user_model):
    other = django_user_model.objects.create_user("other", "other@example.org", "x" * 12)
    services.lesson_complete(user=other, lesson=lessons("en")[0])
    client.force_login(learner)
    assert "test-course title" not in client.get("/en/learning/").content.decode()


def test_forged_or_missing_csrf_changes_nothing(course, learner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    response = client.post(f"/en/learning/courses/{course.pk}/enroll/", {"csrfmiddlewaretoken": "forged"})
    assert response.status_code == 403 and b"Nothing was changed" in response.content
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/en/learning/lessons/999999/complete/", 404),
        ("post", "/en/learning/courses/999999/enroll/", 404),
        ("get", "/en/learning/courses/{course}/enroll/", 405),
        ("post", "/en/learning/lessons/{course}/complete/", 404),  # a course id is not a lesson
    ],
)
def test_bad_ids_and_methods_are_4xx(client, course, learner, method, path, status):
    client.force_login(learner)
    response = getattr(client, method)(path.format(course=course.pk))
    assert response.status_code == status
    assert not LessonCompletion.objects.exists() and not Enrollment.objects.exists()


def test_anonymous_actions_go_to_login(client, course):
    response = client.post(f"/en/learning/courses/{course.pk}/enroll/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Enrollment.objects.exists()


def test_open_redirects_are_ignored(client, course, learner):
    client.force_login(learner)
    response = client.post(f"/en/learning/courses/{course.pk}/enroll/", {"next": "https://evil.example/"})
    assert response["Location"] == course.url
