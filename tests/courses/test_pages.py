"""Course pages as a visitor sees them: languages, direction, fallbacks, filters, blocks, query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import CoursePage, LessonPage
from tests.builders import ALL_LANGUAGES, make_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(tmp_path):
    make_course(tmp_path, modules=2, lessons_per_module=2)
    return CoursePage.objects.get(locale__language_code="en")


@pytest.mark.parametrize("code", ALL_LANGUAGES)
def test_catalog_in_each_language_sets_lang_and_direction(client, course, code):
    response = client.get(f"/{code}/")
    html = response.content.decode()
    assert response.status_code == 200
    direction = "rtl" if code == "ar" else "ltr"
    assert f'<html lang="{code}" dir="{direction}">' in html
    assert f"test-course title [{code}]" in html


def test_catalog_lists_the_languages_each_course_is_in(client, tmp_path):
    make_course(tmp_path, slug="bilingual", languages=("en", "fr"), modules=1, lessons_per_module=1)
    html = client.get("/en/").content.decode()
    langs = re.search(r'class="langs">(.*?)</p>', html, re.S).group(1)
    assert 'lang="en"' in langs and 'lang="fr"' in langs and 'lang="ar"' not in langs


def test_catalog_filters_by_language_and_topic(client, tmp_path):
    make_course(
        tmp_path,
        slug="french-only-ml",
        languages=("en", "fr"),
        topic="machine-learning",
        modules=1,
        lessons_per_module=1,
    )
    make_course(tmp_path, slug="everywhere", topic="governance", modules=1, lessons_per_module=1)
    assert "everywhere title" in client.get("/en/?language=ru").content.decode()
    assert "french-only-ml title" not in client.get("/en/?language=ru").content.decode()
    html = client.get("/en/?topic=machine-learning").content.decode()
    assert "french-only-ml title" in html and "everywhere title" not in html


@pytest.mark.parametrize("query", ["language=xx", "topic=astrology", "language=%3Cscript%3E"])
def test_unknown_filters_are_a_clear_400(client, course, query):
    response = client.get(f"/en/?{query}")
    assert response.status_code == 400
    assert b"Unknown" in response.content and b"<script>" not in response.content


def test_unknown_language_prefix_is_not_found(client, course):
    response = client.get("/xx/", follow=True)
    assert response.status_code == 404


def test_untranslated_lesson_falls_back_to_the_source_with_a_notice(client, tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en",))
    lesson = LessonPage.objects.get(locale__language_code="ar")
    html = client.get(lesson.url).content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert 'class="notice"' in html
    assert "lesson-1-1 [en]" in html and '<article class="lesson" lang="en"' in html


def test_lesson_blocks_render_without_javascript(client, course):
    lesson = LessonPage.objects.filter(locale__language_code="en").first()
    html = client.get(lesson.url).content.decode()
    assert '<span class="nb">print</span>' in html  # highlighted on the server by Pygments
    assert "<math" in html  # LaTeX rendered to MathML on the server
    assert "<script" not in html


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("logged_in", [False, True])
def test_page_queries_do_not_grow_with_course_size(client, tmp_path, django_user_model, settings, logged_in):
    settings.ANONYMOUS_PAGE_CACHE_SECONDS = 0  # measure rendering, not the cache
    if logged_in:
        client.force_login(django_user_model.objects.create_user("reader", "reader@example.org", "x" * 12))
    make_course(tmp_path / "small", slug="small", modules=1, lessons_per_module=1)
    make_course(tmp_path / "big", slug="big", modules=3, lessons_per_module=3)
    _queries(client, "/fr/")  # warm Wagtail's per-site caches
    counts = {}
    for slug in ("small", "big"):
        course = CoursePage.objects.get(slug=slug, locale__language_code="fr")
        lesson = LessonPage.objects.descendant_of(course).last()
        counts[slug] = (_queries(client, course.url), _queries(client, lesson.url))
    assert counts["small"] == counts["big"], counts


def test_catalog_queries_do_not_grow_with_the_number_of_courses(client, tmp_path, settings):
    settings.ANONYMOUS_PAGE_CACHE_SECONDS = 0
    make_course(tmp_path, slug="one", modules=1, lessons_per_module=1)
    _queries(client, "/fr/")  # warm Wagtail's per-site caches, which any first request fills
    one = _queries(client, "/fr/")
    for n in range(2, 5):
        make_course(tmp_path, slug=f"course-{n}", modules=1, lessons_per_module=1)
    assert _queries(client, "/fr/") == one


def test_anonymous_pages_are_served_from_cache_until_a_page_is_published(client, course, tmp_path):
    lesson = LessonPage.objects.filter(locale__language_code="en").first()
    assert _queries(client, lesson.url) > 0
    first = client.get(lesson.url).content
    with CaptureQueriesContext(connection) as captured:
        assert client.get(lesson.url).content == first
    cached_queries = len(captured)
    lesson.title = "A brand new title"
    lesson.save_revision().publish()
    assert b"A brand new title" in client.get(lesson.url).content
    settings_off = _queries_uncached(client, lesson.url)
    assert cached_queries < settings_off  # the cache skips rendering; Wagtail's routing remains


def _queries_uncached(client, url):
    from django.test import override_settings

    with override_settings(ANONYMOUS_PAGE_CACHE_SECONDS=0):
        return _queries(client, url)
