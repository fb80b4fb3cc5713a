"""load_content: idempotent, one changed file changes one page, untranslated pages become aliases."""

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from wagtail.images import get_image_model
from wagtail.models import Page, Revision

from courses.content_loader import load_content
from courses.models import CatalogPage, CoursePage, LessonPage
from tests.builders import ALL_LANGUAGES, make_course, write_course

pytestmark = pytest.mark.django_db
REPO_CONTENT = Path(settings.BASE_DIR) / "content"


def test_shipped_content_loads_in_six_languages_and_reloads_as_a_no_op(tmp_path):
    shutil.copytree(REPO_CONTENT, tmp_path / "content")
    first = load_content(tmp_path / "content")
    assert first.created and not first.aliased
    # A picture used by every language's lesson is one image, not one per language.
    images = get_image_model().objects.all()
    assert images.exists() and "" not in set(images.values_list("file_hash", flat=True))
    assert images.count() == images.values("file_hash").distinct().count()
    revisions = Revision.objects.count()
    second = load_content(tmp_path / "content")
    assert not second.changed
    assert Revision.objects.count() == revisions
    for code in ALL_LANGUAGES:
        course = CoursePage.objects.get(slug__startswith="first-steps-with-ai", locale__language_code=code)
        assert course.alias_of_id is None, f"the sample course is not translated into {code}"
        lessons = LessonPage.objects.descendant_of(course)
        assert lessons.count() == 4 and not lessons.filter(alias_of__isnull=False).exists()


def test_editing_one_file_updates_only_that_page(tmp_path):
    make_course(tmp_path, modules=2, lessons_per_module=2)
    before = {page.pk: page.latest_revision_id for page in Page.objects.all()}
    lesson_file = tmp_path / "courses/test-course/module-2/lesson-2-1/fr.md"
    lesson_file.write_text(lesson_file.read_text(encoding="utf-8") + "\nUne phrase de plus.\n", encoding="utf-8")

    report = load_content(tmp_path)

    assert report.updated == ["test-course/module-2/lesson-2-1 [fr]"] and not report.created
    changed = [pk for pk, revision in before.items() if Page.objects.get(pk=pk).latest_revision_id != revision]
    french = LessonPage.objects.get(locale__language_code="fr", slug="lesson-2-1")
    assert changed == [french.pk]
    assert "Une phrase de plus." in str(french.body)


def test_missing_translation_becomes_an_alias_then_a_translation_when_it_arrives(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en",))
    arabic = LessonPage.objects.get(locale__language_code="ar", slug="lesson-1-1")
    english = LessonPage.objects.get(locale__language_code="en", slug="lesson-1-1")
    assert arabic.alias_of_id == english.pk
    assert arabic.title == english.title  # the alias shows the source text

    write_course(tmp_path, modules=1, lessons_per_module=1, lesson_languages=("en", "ar"))
    report = load_content(tmp_path)

    arabic.refresh_from_db()
    assert arabic.alias_of_id is None and arabic.title == "lesson-1-1 [ar]"
    assert report.updated == ["test-course/module-1/lesson-1-1 [ar]"]


def test_catalog_is_the_site_root_in_every_language(tmp_path):
    make_course(tmp_path, modules=1, lessons_per_module=1)
    catalogs = CatalogPage.objects.all()
    assert sorted(c.locale.language_code for c in catalogs) == sorted(ALL_LANGUAGES)
    assert not Page.objects.filter(depth=2).exclude(pk__in=catalogs).exists()  # the placeholder page is gone


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: (d / "courses/test-course/course.yaml").write_text("slug: [", encoding="utf-8"), "not valid YAML"),
        (
            lambda d: (d / "courses/test-course/module-1/lesson-1-1/en.md").unlink(),
            "source-language lesson file is missing",
        ),
        (
            lambda d: (d / "courses/test-course/course.yaml").write_text(
                (d / "courses/test-course/course.yaml").read_text().replace("topic: ai-foundations", "topic: astrology")
            ),
            "unknown topic",
        ),
    ],
)
def test_bad_content_is_refused_by_the_command_and_nothing_half_loaded(tmp_path, change, message):
    write_course(tmp_path, modules=1, lessons_per_module=1)
    change(tmp_path)
    with pytest.raises(CommandError, match=message):
        call_command("load_content", content_dir=str(tmp_path))
    assert not CoursePage.objects.exists()
