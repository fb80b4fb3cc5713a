"""Course pages in wagtail-localize: content-loaded translations registered with their strings, PO
round trip, completeness and stale translations in the report, the machine-translation hook, and
exercise texts per language on the learner's page."""

import io
import json
import shutil
from pathlib import Path

import polib
import pytest
from allauth.mfa.models import Authenticator
from django.test import override_settings
from django.urls import reverse
from wagtail_localize.machine_translators import get_machine_translator
from wagtail_localize.machine_translators.base import BaseMachineTranslator
from wagtail_localize.models import StringSegment, StringTranslation, Translation, TranslationSource
from wagtail_localize.strings import StringValue

from courses.content_loader import load_content
from courses.models import CoursePage, Exercise, LessonPage
from courses.translation import CONTENT_FILES_TOOL
from courses.translation_status import course_translation_completeness
from lms.accounts import services
from lms.accounts.models import Role
from tests.builders import EXERCISE_NOTEBOOKS, quiz_fence, write_course

pytestmark = pytest.mark.django_db

TEXTS = {
    "en": ("Write `mean_square(xs)`.", "Add the squares first", "What is 2 + 2?"),
    "fr": ("Écrivez `mean_square(xs)`.", "Additionnez d’abord les carrés", "Combien font 2 + 2 ?"),
}


def lesson_extras(_lesson_slug: str, code: str) -> str:
    instructions, hint, question = TEXTS[code]
    return (
        f'\n```exercise\nnotebook: exercises/mean-square.ipynb\ntitle: "Mean square [{code}]"\n'
        f'instructions: "{instructions}"\nhints:\n  - "{hint}"\n```\n'
        + quiz_fence(id="sum", kind="numeric", question=question, answer=4)
    )


def build_course(content_dir: Path, lesson_languages: tuple[str, ...] = ("en", "fr")) -> Path:
    """One module, one lesson (text, code, maths, an exercise and a quiz), course texts in en, fr and ar."""
    course_dir = write_course(
        content_dir,
        modules=1,
        lessons_per_module=1,
        languages=("en", "fr", "ar"),
        lesson_languages=lesson_languages,
        extra_body=lesson_extras,
    )
    (course_dir / "exercises").mkdir(exist_ok=True)
    shutil.copy(EXERCISE_NOTEBOOKS / "mean-square-exercise.ipynb", course_dir / "exercises" / "mean-square.ipynb")
    load_content(content_dir)
    return course_dir


def lesson(code: str) -> LessonPage:
    return LessonPage.objects.get(locale__language_code=code)


def translation_of(page, code: str) -> Translation:
    return Translation.objects.get(
        source__object_id=page.translation_key, source__locale__language_code="en", target_locale__language_code=code
    )


def language(report, code: str):
    return next(item for item in report.languages if item.code == code)


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("translator", "translator@example.org", "x" * 12)
    services.profile_create(user=user, country="SN")
    services.role_assign(user=user, role=Role.NETWORK_ADMIN)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(user)
    client.user = user
    return client


# -- content files registered with wagtail-localize -----------------------------------------------------


def test_loaded_translations_are_registered_with_their_strings_and_reloading_changes_nothing(tmp_path):
    build_course(tmp_path)
    english, french = lesson("en"), lesson("fr")
    source = TranslationSource.objects.get(object_id=english.translation_key, locale__language_code="en")
    translation = translation_of(english, "fr")
    total, done = translation.get_progress()
    assert total == done and total >= 8  # title, slug, text, code, maths, exercise texts, quiz question
    # Quiz text and exercise texts are segments of the page, translated by the French file.
    question = StringSegment.objects.get(source=source, string__data="What is 2 + 2?")
    assert StringTranslation.objects.get(
        translation_of=question.string, context=question.context, locale__language_code="fr"
    ).data == ("Combien font 2 + 2 ?")
    hint = StringTranslation.objects.get(locale=french.locale, translation_of__data="Add the squares first")
    assert hint.data == "Additionnez d’abord les carrés" and hint.tool_name == CONTENT_FILES_TOOL
    # The exercise (code, tests, points) is one snippet that every language's block points at.
    assert not StringSegment.objects.filter(source=source, string__data__contains="def mean_square").exists()
    assert {
        block.value["exercise"].pk
        for page in (english, french)
        for block in page.body
        if block.block_type == "exercise"
    } == {Exercise.objects.get().pk}
    # Arabic has the course and module texts but no lesson file: the lesson is an alias, not a translation.
    assert not Translation.objects.filter(source=source, target_locale__language_code="ar").exists()

    counts = (TranslationSource.objects.count(), Translation.objects.count(), StringTranslation.objects.count())
    load_content(tmp_path)
    assert (TranslationSource.objects.count(), Translation.objects.count(), StringTranslation.objects.count()) == counts


def test_completeness_per_language_counts_segments_of_every_page(tmp_path):
    build_course(tmp_path)
    course = CoursePage.objects.get(locale__language_code="en")
    report = course_translation_completeness(course=course)
    french, arabic, spanish = language(report, "fr"), language(report, "ar"), language(report, "es")
    sources = TranslationSource.objects.filter(locale__language_code="en").exclude(
        object_id=course.get_parent().translation_key
    )
    total = StringSegment.objects.filter(source__in=sources).count()
    lesson_total = StringSegment.objects.filter(source__object_id=lesson("en").translation_key).count()

    assert (french.segments, french.translated, french.percent) == (total, total, 100)
    assert (french.pages, french.pages_translated) == (3, 3)
    # Arabic: course and module translated, the lesson only an alias of the English one.
    assert (arabic.segments, arabic.translated, arabic.pages_translated) == (total, total - lesson_total, 2)
    assert arabic.percent == 100 * (total - lesson_total) // total < 100
    assert (spanish.translated, spanish.percent, spanish.pages_translated) == (0, 0, 0)
    assert not french.stale and not arabic.stale


def test_a_field_that_splits_differently_in_the_translation_is_left_to_translate(tmp_path):
    course_dir = build_course(tmp_path)
    french_file = course_dir / "module-1" / "lesson-1-1" / "fr.md"
    # The first paragraph becomes two in French: its segment cannot be paired, the rest still is.
    french_file.write_text(
        french_file.read_text(encoding="utf-8").replace("Text of lesson-1-1 in fr.", "Premier.\n\nSecond."),
        encoding="utf-8",
    )
    load_content(tmp_path)
    total, done = translation_of(lesson("en"), "fr").get_progress()
    assert done == total - 1


# -- PO download and upload ------------------------------------------------------------------------------


def test_po_download_then_upload_changes_the_translated_page(
    tmp_path, staff_client, django_capture_on_commit_callbacks
):
    build_course(tmp_path)
    translation = translation_of(lesson("en"), "fr")
    response = staff_client.get(reverse("wagtail_localize:download_pofile", args=[translation.pk]))
    assert response.status_code == 200
    po = polib.pofile(response.content.decode())
    entry = next(entry for entry in po if entry.msgid == "Add the squares first")
    assert entry.msgstr == "Additionnez d’abord les carrés"  # the file's translation, ready to be revised
    entry.msgstr = "Commencez par la somme des carrés"
    upload = tmp_path / "fr.po"
    po.save(str(upload))

    with upload.open("rb") as handle:
        response = staff_client.post(
            reverse("wagtail_localize:upload_pofile", args=[translation.pk]), {"file": handle, "next": "/cms/"}
        )
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):  # wagtail-localize publishes on commit
        translation.save_target(user=staff_client.user, publish=True)  # the editor's "Publish"

    french = lesson("fr")
    hints = next(block.value["hints"] for block in french.body if block.block_type == "exercise")
    assert [str(hint) for hint in hints] == ["<p>Commencez par la somme des carrés</p>"]
    assert "Combien font 2 + 2 ?" in str(french.body)  # the rest kept its translation
    assert french.live and not french.has_unpublished_changes


# -- stale translations ----------------------------------------------------------------------------------


def test_editing_the_source_page_flags_its_translations_until_they_are_updated(tmp_path, staff_client):
    build_course(tmp_path)
    course = CoursePage.objects.get(locale__language_code="en")
    english = lesson("en")
    english.body[0].value.source = english.body[0].value.source.replace("Text of", "New text of")
    english.save_revision().publish()

    french = language(course_translation_completeness(course=course), "fr")
    assert [item.target_title for item in french.stale] == ["lesson-1-1 [fr]"]
    assert french.stale[0].source_edited_at is not None and french.percent == 100  # translators not told yet

    # "Sync translated pages" takes the new texts: the changed paragraph is now outdated in French.
    source = TranslationSource.objects.get(object_id=english.translation_key, locale=english.locale)
    response = staff_client.post(reverse("wagtail_localize:update_translations", args=[source.pk]), {})
    assert response.status_code == 302
    french = language(course_translation_completeness(course=course), "fr")
    assert len(french.stale) == 1 and french.stale[0].source_edited_at is None
    assert french.stale[0].outdated_segments == 1 and french.translated == french.segments - 1


def test_a_changed_source_file_flags_the_translations_that_did_not_change(tmp_path):
    course_dir = build_course(tmp_path)
    english_file = course_dir / "module-1" / "lesson-1-1" / "en.md"
    english_file.write_text(
        english_file.read_text(encoding="utf-8").replace("Add the squares first", "Square each number first"),
        encoding="utf-8",
    )
    load_content(tmp_path)
    french = language(course_translation_completeness(course=CoursePage.objects.get(locale__language_code="en")), "fr")
    assert [(item.target_title, item.outdated_segments) for item in french.stale] == [("lesson-1-1 [fr]", 1)]


def test_the_report_in_the_admin_lists_courses_in_english_and_arabic(tmp_path, staff_client):
    build_course(tmp_path)
    response = staff_client.get(reverse("translation_progress"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "test-course title [en]" in html and "Français" in html and "100 %" in html
    arabic = staff_client.get(reverse("translation_progress"), HTTP_ACCEPT_LANGUAGE="ar")
    assert arabic.status_code == 200


# -- machine translation -------------------------------------------------------------------------------


class FakeRemoteTranslator(BaseMachineTranslator):
    """A stand-in for a remote machine-translation service (DeepL, Google...), which cannot be reached
    from the test machine: it "translates" by tagging each string with the target language."""

    display_name = "Fake remote service"

    def translate(self, source_locale, target_locale, strings):
        return {string: StringValue(f"[{target_locale.language_code}] {string.data}") for string in strings}

    def can_translate(self, source_locale, target_locale):
        return source_locale != target_locale


def test_no_machine_translator_is_called_unless_a_deployment_names_one(tmp_path, staff_client):
    build_course(tmp_path)
    assert get_machine_translator() is None
    translation = translation_of(lesson("en"), "fr")
    response = staff_client.post(reverse("wagtail_localize:machine_translate", args=[translation.pk]), follow=True)
    assert response.status_code == 404  # wagtail-localize's "Machine translate" does not exist
    assert not StringTranslation.objects.filter(translation_type=StringTranslation.TRANSLATION_TYPE_MACHINE).exists()


@override_settings(WAGTAILLOCALIZE_MACHINE_TRANSLATOR={"CLASS": f"{__name__}.FakeRemoteTranslator"})
def test_the_machine_translator_a_deployment_names_fills_only_what_is_missing(tmp_path, staff_client):
    build_course(tmp_path, lesson_languages=("en",))
    english = lesson("en")
    # The French lesson is only an alias: submit it for translation, as "Translate this page" does.
    source = TranslationSource.objects.get(object_id=english.translation_key, locale=english.locale)
    translation = Translation.objects.create(source=source, target_locale=lesson("fr").locale)
    response = staff_client.post(
        reverse("wagtail_localize:machine_translate", args=[translation.pk]), {"next": "/cms/"}
    )
    assert response.status_code == 302
    total, done = translation.get_progress()
    assert total == done
    made = StringTranslation.objects.get(locale=translation.target_locale, translation_of__data="What is 2 + 2?")
    assert made.data == "[fr] What is 2 + 2?" and made.translation_type == StringTranslation.TRANSLATION_TYPE_MACHINE


# -- exercise texts per language on the learner's page ----------------------------------------------------


def test_the_exercise_shows_the_pages_language_and_falls_back_to_the_source_text(
    tmp_path, client, django_user_model, django_capture_on_commit_callbacks
):
    build_course(tmp_path)
    english, french, arabic = lesson("en"), lesson("fr"), lesson("ar")
    assert "Écrivez <code>mean_square(xs)</code>" in client.get(french.url).content.decode()
    assert "Write <code>mean_square(xs)</code>" in client.get(english.url).content.decode()
    assert (
        arabic.alias_of_id == english.pk
        and "Write <code>mean_square(xs)</code>" in client.get(arabic.url).content.decode()
    )

    # A translator translates the exercise's title and hint into Arabic (PO upload) but not yet its
    # instructions, and publishes: the untranslated instructions show in English.
    source = TranslationSource.objects.get(object_id=english.translation_key, locale=english.locale)
    translation = Translation.objects.create(source=source, target_locale=arabic.locale)
    po = translation.export_po()
    for entry in po:
        entry.msgstr = {"Mean square [en]": "متوسط المربعات", "Add the squares first": "اجمع المربعات أولا"}.get(
            entry.msgid, ""
        )
    translation.import_po(po)
    with django_capture_on_commit_callbacks(execute=True):  # wagtail-localize publishes on commit
        translation.save_target(publish=True)

    arabic = lesson("ar")
    assert arabic.alias_of_id is None
    page = client.get(arabic.url).content.decode()
    assert "متوسط المربعات" in page and "Write <code>mean_square(xs)</code>" in page
    # Code, tests and points are the one shared exercise; the hint comes in the page's language.
    exercise = Exercise.objects.get()
    assert {block.value["exercise"].pk for block in arabic.body if block.block_type == "exercise"} == {exercise.pk}
    learner = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    client.force_login(learner)
    reply = client.post(
        f"/ar/learning/exercises/{exercise.pk}/hints/", {"lesson": arabic.pk}, HTTP_ACCEPT="application/json"
    ).json()
    assert reply["html"] == ["<p>اجمع المربعات أولا</p>"]


def test_notebook_text_cells_are_translated_as_exercise_texts_and_shown_per_language(
    tmp_path, client, django_capture_on_commit_callbacks
):
    from courses.exercise_texts import ExerciseText
    from courses.exercises import exercise_create_or_update
    from tests.builders import exercise_notebook

    write_course(tmp_path, modules=1, lessons_per_module=1, languages=("en", "fr"))
    load_content(tmp_path)
    exercise = exercise_create_or_update(
        slug="mean-square", title="Mean square", raw_notebook=json.dumps(exercise_notebook())
    )
    source = ExerciseText.objects.get(exercise=exercise)  # made from the notebook when it was saved
    assert source.locale.language_code == "en" and source.title == "Mean square"
    assert next(block.value for block in source.cells).startswith("# Mean square\nWrite `mean_square(xs)`")
    # The lesson's block has no instructions of its own: the notebook's cells are shown.
    for page in LessonPage.objects.filter(locale__language_code__in=["en", "fr"]):
        page.body.append(("exercise", {"exercise": exercise, "title": "", "instructions": "", "hints": []}))
        page.save_revision().publish()

    # Translate the snippet with wagtail-localize: its first cell only (a PO file for its Translation).
    text_source, _created = TranslationSource.get_or_create_from_instance(source)
    course = CoursePage.objects.get(locale__language_code="en")
    before = language(course_translation_completeness(course=course), "fr")
    translation = Translation.objects.create(source=text_source, target_locale=lesson("fr").locale)
    po = translation.export_po()
    for entry in po:
        if entry.msgid.startswith("# Mean square"):
            entry.msgstr = "# Moyenne des carrés\nÉcrivez `mean_square(xs)`."
        elif entry.msgid == "Mean square":
            entry.msgstr = "Moyenne des carrés"
    translation.import_po(po)
    with django_capture_on_commit_callbacks(execute=True):
        translation.save_target(publish=True)
    assert ExerciseText.objects.get(exercise=exercise, locale__language_code="fr").exercise_id == exercise.pk
    # The report counts the exercise's texts with the course: title and first cell of three translated.
    after = language(course_translation_completeness(course=course), "fr")
    assert (after.segments, after.translated) == (before.segments, before.translated + 2)
    assert StringSegment.objects.filter(source=text_source).count() == 3

    french = client.get(lesson("fr").url).content.decode()
    assert "Moyenne des carrés" in french and "<h1>Moyenne des carrés</h1>" in french
    assert "sum</code> and <code>len</code> are enough" in french  # an untranslated cell: English
    english = client.get(lesson("en").url).content.decode()
    assert "Write <code>mean_square(xs)</code>" in english and "Moyenne" not in english


def test_sync_translations_registers_a_site_loaded_before_and_is_idempotent(tmp_path):
    from django.core.management import call_command

    from courses.exercise_texts import ExerciseText

    build_course(tmp_path)
    # As on a site whose courses were loaded before the loader registered anything.
    TranslationSource.objects.all().delete()
    ExerciseText.objects.all().delete()
    call_command("sync_translations", stdout=io.StringIO())
    french = language(course_translation_completeness(course=CoursePage.objects.get(locale__language_code="en")), "fr")
    assert french.percent == 100 and french.pages_translated == 3
    assert ExerciseText.objects.filter(exercise=Exercise.objects.get(), locale__language_code="en").exists()
    counts = (TranslationSource.objects.count(), Translation.objects.count(), StringTranslation.objects.count())
    call_command("sync_translations", stdout=io.StringIO())
    assert (TranslationSource.objects.count(), Translation.objects.count(), StringTranslation.objects.count()) == counts


def test_the_report_costs_the_same_queries_whatever_the_course_size(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        course = CoursePage.objects.get(locale__language_code="en")
        with CaptureQueriesContext(connection) as captured:
            course_translation_completeness(course=course)
        return len(captured)

    build_course(tmp_path)
    small = queries()
    write_course(tmp_path, modules=2, lessons_per_module=2, languages=("en", "fr", "ar"))
    load_content(tmp_path)
    assert LessonPage.objects.filter(locale__language_code="en").count() == 4
    assert queries() == small
