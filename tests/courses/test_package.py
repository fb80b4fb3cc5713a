"""Course packages (courses/packaging): export, import into an empty site, same pages and same grades;
and every kind of hostile or broken package refused with a message that names the file."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from wagtail.images import get_image_model
from wagtail.models import Locale, Page, Site

from courses.content_loader import load_content
from courses.datasets import stored_path
from courses.exercises import exercise_release, parse_instructor_notebook
from courses.models import CatalogPage, CoursePage, Dataset, Exercise, LessonPage
from courses.packaging import PackageError, archive, course_package_export, course_package_import
from courses.packaging.archive import MANIFEST, json_bytes, read_package, sha256, write_zip
from courses.translation import course_translations_sync
from courses.translation_status import course_translation_completeness
from tests.builders import quiz_fence, write_course

# Every test needs the database, if only for the package the module builds once: pytest-django
# sets up the test database only for a session that has a test marked so.
pytestmark = pytest.mark.django_db

REAL_COURSE = Path(__file__).resolve().parents[2] / "content" / "courses" / "first-steps-with-ai"
SLUG = "shared-course"


def _lesson_extras(lesson_slug: str, code: str) -> str:
    """An image and a quiz in the first lesson, an exercise in the second, in both languages."""
    if lesson_slug == "lesson-1-1":
        return f'\n![A line through points ({code})](images/line-fit.png "Caption ({code})")\n' + quiz_fence(
            id="q1",
            kind="single",
            question=f"Which? [{code}]",
            options=[{"text": f"Yes [{code}]", "correct": True}, {"text": f"No [{code}]"}],
        )
    return (
        "\n```exercise\nnotebook: exercises/mean-squared-error.ipynb\n"
        f'title: "MSE [{code}]"\ninstructions: "Write mse [{code}]"\nhints:\n  - "Square it [{code}]"\n```\n'
    )


def build_course(content_dir: Path, *, cities: bool = False) -> CoursePage:
    """A course in English and French (aliases in the other languages) with an image, a quiz and an
    exercise from the shipped course, and a link from one lesson to another; with `cities`, a second
    exercise that reads datasets and whose notebook text is translated (add_cities_exercise)."""
    course_dir = write_course(
        content_dir, slug=SLUG, modules=1, lessons_per_module=2, languages=("en", "fr"), extra_body=_lesson_extras
    )
    for folder in ("images", "exercises"):
        (course_dir / folder).mkdir(exist_ok=True)
    shutil.copy(REAL_COURSE / "images" / "line-fit.png", course_dir / "images")
    shutil.copy(REAL_COURSE / "exercises" / "mean-squared-error.ipynb", course_dir / "exercises")
    load_content(content_dir)
    first, second = LessonPage.objects.filter(locale__language_code="en").order_by("path")
    # An internal link, as the admin's editor stores it: the package must carry it by translation key.
    body = first.body.get_prep_value()
    body.append({"type": "text", "value": f'<p>Next: <a linktype="page" id="{second.pk}">lesson 2</a></p>'})
    first.body = body
    first.save_revision().publish()
    changed = [first.pk, *(add_cities_exercise() if cities else [])]
    course = CoursePage.objects.get(slug=SLUG, locale__language_code="en")
    # What "Sync translated pages" does after an editor changes a source page: wagtail-localize learns
    # of the new blocks (untranslated in French), so the report describes the course as it is.
    course_translations_sync(course=course, changed_page_ids=changed)
    return course


DATASET_SAMPLES = Path(__file__).resolve().parents[1] / "sandbox" / "datasets"
CITIES = f"{SLUG}--cities"
CITIES_TEXT_FR = "# Villes\nLes données sont dans `/data/cities.csv` et `/data/cities.parquet`."


def add_cities_exercise() -> list[int]:
    """An exercise that reads a CSV and a Parquet dataset at /data, in the second lesson in English and
    French with no instructions of its own (learners see the notebook's text cell in the page's
    language), its text translated into French with wagtail-localize. Returns the lessons changed.

    Needs settings.DATASETS_DIR pointed at a temporary directory (fixture `datasets_dir`).
    """
    from wagtail_localize.models import Translation, TranslationSource

    from courses.datasets import dataset_attach
    from courses.exercise_texts import ExerciseText
    from courses.exercises import exercise_create_or_update
    from tests.builders import exercise_notebook

    exercise = exercise_create_or_update(
        slug=CITIES, title="Cities", raw_notebook=json.dumps(exercise_notebook(name="dataset-exercise.ipynb"))
    )
    for name in ("cities.csv", "cities.parquet"):
        dataset_attach(
            exercise=exercise,
            file_name=name,
            content=(DATASET_SAMPLES / name).read_bytes(),
            source="https://example.org/cities",
            licence="CC BY 4.0",
        )
    lessons = list(LessonPage.objects.filter(slug="lesson-1-2", locale__language_code__in=["en", "fr"]))
    for lesson in lessons:
        lesson.body.append(("exercise", {"exercise": exercise, "title": "", "instructions": "", "hints": []}))
        lesson.save_revision().publish()
    text_source, _created = TranslationSource.get_or_create_from_instance(ExerciseText.objects.get(exercise=exercise))
    translation = Translation.objects.create(source=text_source, target_locale=Locale.objects.get(language_code="fr"))
    po = translation.export_po()
    for entry in po:
        entry.msgstr = "Villes" if entry.msgid == "Cities" else CITIES_TEXT_FR
    translation.import_po(po)
    translation.save_target(publish=True)
    return [lesson.pk for lesson in lessons]


@pytest.fixture
def datasets_dir(settings, tmp_path):
    """This site's datasets, in a directory of the test's own."""
    settings.DATASETS_DIR = tmp_path / "datasets"
    return settings.DATASETS_DIR


def empty_site(language: str = "en") -> None:
    """The database as `migrate` leaves it: a root, a welcome page, a default site, one language
    (with another `language`, the root keeps the English it was made with, as Wagtail's migration
    makes it; set settings.LANGUAGE_CODE to match)."""
    Site.objects.all().delete()
    for page in Page.objects.filter(depth=2):
        page.delete()
    Exercise.objects.all().delete()
    Dataset.objects.all().delete()
    get_image_model().objects.all().delete()
    keep = {"en", language}
    Locale.objects.exclude(language_code__in=keep).delete()
    locale, _created = Locale.objects.get_or_create(language_code=language)
    root = Page.get_first_root_node()
    welcome = root.add_child(instance=Page(title="Welcome to your new Wagtail site!", slug="home", locale=locale))
    Site.objects.create(hostname="localhost", port=80, root_page=welcome, is_default_site=True)


def snapshot() -> dict[tuple[str, str], dict[str, Any]]:
    """Every page of the course in every language, with StreamField content modulo block ids and
    with references by what they point at (exercise slug, image file digest, linked page's key)."""
    result = {}
    for course in CoursePage.objects.filter(slug=SLUG):
        for page in Page.objects.descendant_of(course, inclusive=True).specific():
            fields: dict[str, Any] = {
                "type": type(page).__name__,
                "title": page.title,
                "slug": page.slug,
                "depth": page.depth,
                "live": page.live,
                "is_alias": page.alias_of_id is not None,
                # The catalog is the site's own (an empty site gets a new one); the rest is the course's.
                "parent": "catalog" if page.depth == course.depth else str(page.get_parent().translation_key),
                "position": list(page.get_siblings().values_list("pk", flat=True)).index(page.pk),
            }
            for name in ("summary", "objectives", "topic", "level", "licence", "minutes"):
                if hasattr(page, name):
                    fields[name] = getattr(page, name)
            if isinstance(page, LessonPage):
                fields["body"] = [_normalised(block) for block in page.body.get_prep_value()]
            result[(page.locale.language_code, str(page.translation_key))] = fields
    return result


def _normalised(block: dict[str, Any]) -> dict[str, Any]:
    value = block["value"]
    if block["type"] == "exercise":
        value = {**value, "exercise": Exercise.objects.get(pk=value["exercise"]).slug}
    elif block["type"] == "image":
        with get_image_model().objects.get(pk=value["image"]).file.open("rb") as handle:
            value = {**value, "image": hashlib.sha256(handle.read()).hexdigest()}
    elif block["type"] == "text" and 'linktype="page"' in value:
        target_pk = int(value.split('id="')[1].split('"')[0])
        value = value.replace(str(target_pk), str(Page.objects.get(pk=target_pk).translation_key))
    return {"type": block["type"], "value": _without_ids(value)}


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items() if key != "id"}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return value


def grades() -> dict[str, list[tuple[str, float, float, list[tuple[str, bool]]]]]:
    """The solution and the released starter of every exercise, graded in the real sandbox with the
    exercise's datasets at /data, as a grading worker grades them."""
    from courses.datasets import exercise_datasets_dir, mounts_root
    from sandbox.grader import Grader
    from sandbox.pool import KernelPool
    from sandbox.settings import PoolSettings, SandboxSettings

    results = {}
    mounts_root().mkdir(parents=True, exist_ok=True)  # the fork server's zygote binds it at start
    sandbox = SandboxSettings(datasets_root=mounts_root())
    with KernelPool(PoolSettings(size=1, sandbox=sandbox, boot_nice=0)) as pool:
        grader = Grader(pool=pool)
        for exercise in Exercise.objects.order_by("slug"):
            _notebook, _fmt, parsed = parse_instructor_notebook(json.dumps(exercise.notebook), exercise.format)
            outcomes = []
            for submission in (json.dumps(exercise.notebook), exercise_release(exercise)):
                result = grader.grade(parsed, submission, datasets=exercise_datasets_dir(exercise))
                outcomes.append(
                    (result.status, result.score, result.max_score, [(t.name, t.passed) for t in result.tests])
                )
            results[exercise.slug] = outcomes
    return results


@pytest.mark.kernel
def test_round_trip_into_an_empty_site_gives_the_same_pages_and_grades(tmp_path, datasets_dir, settings):
    course = build_course(tmp_path / "content", cities=True)
    before_pages, before_grades = snapshot(), grades()
    assert before_grades[f"{SLUG}--mean-squared-error"][0][1] > before_grades[f"{SLUG}--mean-squared-error"][1][1]
    # The solution of the exercise that reads /data/cities.csv and /data/cities.parquet passes in full.
    assert before_grades[CITIES][0][:3] == ("graded", 5.0, 5.0), before_grades[CITIES]

    package = course_package_export(course=course)
    # Deterministic: an unchanged course exports to the same bytes (centres compare packages).
    assert course_package_export(course=course) == package

    empty_site()
    # Another deployment: its own datasets directory, empty.
    settings.DATASETS_DIR = tmp_path / "another-site-datasets"
    assert not CoursePage.objects.exists() and not Exercise.objects.exists() and not Dataset.objects.exists()
    report = course_package_import(data=package)

    assert report.course.slug == SLUG and report.pages == 2 * 4 and report.aliases == 4 * 4
    assert report.datasets == 2 and Dataset.objects.count() == 2
    after_pages = snapshot()
    assert sorted(after_pages) == sorted(before_pages)
    for key in sorted(before_pages):
        assert (key, after_pages[key]) == (key, before_pages[key])
    assert grades() == before_grades
    assert CatalogPage.objects.filter(depth=2).count() == 6
    assert Site.objects.get(is_default_site=True).root_page.specific_class is CatalogPage
    # The imported course exports to the same package again: nothing was lost or added on the way.
    reimported = course_package_export(course=CoursePage.objects.get(slug=SLUG, locale__language_code="en"))
    assert _manifest(reimported)["files"] == _manifest(package)["files"]


def completeness() -> dict[str, tuple[int, int, int, int, int]]:
    """The translation report of the course, per language: segments, translated, pages, pages
    translated, stale translations."""
    report = course_translation_completeness(course=CoursePage.objects.get(slug=SLUG, locale__language_code="en"))
    return {
        language.code: (
            language.segments,
            language.translated,
            language.pages,
            language.pages_translated,
            len(language.stale),
        )
        for language in report.languages
    }


def test_an_imported_course_has_the_translation_state_it_had_at_home(tmp_path, datasets_dir, settings, client):
    from wagtail_localize.models import StringTranslation, Translation

    from courses.exercise_checks import exercise_check_finish, exercise_check_for, exercise_publish_checked
    from courses.exercise_texts import ExerciseText
    from courses.models import ExerciseCheckStatus

    course = build_course(tmp_path / "content", cities=True)
    before = completeness()
    assert 0 < before["fr"][1] < before["fr"][0] and before["es"][1] == 0  # partly translated; an alias
    package = course_package_export(course=course)

    empty_site()
    settings.DATASETS_DIR = tmp_path / "another-site-datasets"
    course_package_import(data=package)

    # The report counts the exercise's texts with the pages: the same numbers mean both arrived.
    assert completeness() == before
    # A translated page has its wagtail-localize records: translators carry on in its editor (PO files).
    french = LessonPage.objects.get(slug="lesson-1-1", locale__language_code="fr")
    translation = Translation.objects.get(source__object_id=french.translation_key, target_locale=french.locale)
    assert StringTranslation.objects.filter(context__object_id=french.translation_key, locale=french.locale).exists()
    assert "lesson-1-1 [fr]" in {entry.msgstr for entry in translation.export_po()}
    # So has the exercise's translated text, and the French lesson shows it.
    exercise = Exercise.objects.get(slug=CITIES)
    french_text = ExerciseText.objects.get(exercise=exercise, locale=french.locale)
    text_translation = Translation.objects.get(
        source__object_id=french_text.translation_key, target_locale=french.locale
    )
    assert {entry.msgid: entry.msgstr for entry in text_translation.export_po()}["Cities"] == "Villes"
    # As the check task does once the self-check passes here (a sandbox run, tested further down).
    check = exercise_check_finish(check_id=exercise_check_for(exercise=exercise).pk, status=ExerciseCheckStatus.PASSED)
    assert exercise_publish_checked(check=check)
    lesson = LessonPage.objects.get(slug="lesson-1-2", locale__language_code="fr")
    html = client.get(lesson.url).content.decode()
    assert "<h1>Villes</h1>" in html and "Les données sont dans" in html
    english = client.get(LessonPage.objects.get(slug="lesson-1-2", locale__language_code="en").url).content.decode()
    assert "<h1>Cities</h1>" in english and "Villes" not in english


def test_a_site_whose_default_language_is_another_keeps_the_exercise_texts_of_each_language(
    tmp_path, datasets_dir, settings, client
):
    """A French-speaking centre imports a course written in English: the exercise's English text is
    still the one made from its notebook, and its French translation is still French."""
    from courses.exercise_checks import exercise_check_finish, exercise_check_for, exercise_publish_checked
    from courses.exercise_texts import ExerciseText
    from courses.models import ExerciseCheckStatus

    course = build_course(tmp_path / "content", cities=True)
    before = completeness()
    package = course_package_export(course=course)

    empty_site(language="fr")
    settings.LANGUAGE_CODE = "fr"
    settings.DATASETS_DIR = tmp_path / "another-site-datasets"
    assert Locale.get_default().language_code == "fr"
    course_package_import(data=package)

    exercise = Exercise.objects.get(slug=CITIES)
    assert exercise.notebook_locale.language_code == "en"
    texts = {text.locale.language_code: text for text in ExerciseText.objects.filter(exercise=exercise)}
    assert (texts["en"].title, texts["fr"].title) == ("Cities", "Villes")
    assert texts["fr"].cells[0].value == CITIES_TEXT_FR
    assert completeness() == before
    check = exercise_check_finish(check_id=exercise_check_for(exercise=exercise).pk, status=ExerciseCheckStatus.PASSED)
    assert exercise_publish_checked(check=check)
    exercise.refresh_from_db()
    assert exercise.live and exercise.notebook_locale.language_code == "en"  # publishing keeps it
    french = client.get(LessonPage.objects.get(slug="lesson-1-2", locale__language_code="fr").url).content.decode()
    assert "<h1>Villes</h1>" in french and "Les données sont dans" in french
    # Saving the exercise here again refreshes its English text from the notebook, not a French one.
    exercise.save()
    assert ExerciseText.objects.get(exercise=exercise, locale__language_code="fr").title == "Villes"
    # And it travels on with its language: exported from here, it is English-sourced again.
    again = zipfile.ZipFile(
        io.BytesIO(course_package_export(course=CoursePage.objects.get(slug=SLUG, locale__language_code="en")))
    )
    texts_file = next(name for name in again.namelist() if name.endswith(".texts.json") and CITIES in name)
    assert json.loads(again.read(texts_file))["source_locale"] == "en"


def _manifest(data: bytes) -> dict[str, Any]:
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read(MANIFEST))


# -- hostile and broken packages ----------------------------------------------------------------


@pytest.fixture(scope="module")
def package_files(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, bytes]:
    """The files of one valid package, built once in a transaction that is rolled back."""
    with django_db_blocker.unblock(), transaction.atomic():
        data = course_package_export(course=build_course(tmp_path_factory.mktemp("content")))
        transaction.set_rollback(True)
    archive_ = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive_.read(name) for name in archive_.namelist()}


def repack(files: dict[str, bytes], changes: dict[str, bytes | None]) -> bytes:
    """The package with `changes` (name -> bytes, or None to drop), its manifest's checksums updated."""
    files = {**files}
    for name, content in changes.items():
        if content is None:
            files.pop(name)
        else:
            files[name] = content
    manifest = json.loads(files[MANIFEST])
    manifest["files"] = {name: sha256(content) for name, content in files.items() if name != MANIFEST}
    files[MANIFEST] = json_bytes(manifest)
    return write_zip(files)


def raw_zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zip_file:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name we write on purpose
        for info, content in entries:
            zip_file.writestr(info, content)
    return buffer.getvalue()


def _page_names(files: dict[str, bytes]) -> tuple[str, list[dict[str, Any]]]:
    return "pages/en.json", json.loads(files["pages/en.json"])


def _with_block(files: dict[str, bytes], block_type: str, child: str, value: str) -> bytes:
    name, pages = _page_names(files)
    for page in pages:
        for block in (page["fields"] or {}).get("body") or []:
            if block["type"] == block_type:
                block["value"][child] = value
    return repack(files, {name: json_bytes(pages)})


def _manifest_with(files: dict[str, bytes], **changes: Any) -> bytes:
    manifest = {**json.loads(files[MANIFEST]), **changes}
    return write_zip({**files, MANIFEST: json_bytes(manifest)})


def _symlink() -> bytes:
    info = zipfile.ZipInfo("images/link.png")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return raw_zip([(info, b"/etc/passwd")])


def _notebook_name(files: dict[str, bytes]) -> str:
    return next(name for name in files if name.startswith("exercises/"))


def _image_name(files: dict[str, bytes]) -> str:
    return next(name for name in files if name.startswith("images/"))


def _texts_in_german(files: dict[str, bytes]) -> bytes:
    name = f"exercises/{SLUG}--mean-squared-error.texts.json"
    texts = json.loads(files[name])
    texts["texts"]["de"] = texts["texts"]["en"]
    return repack(files, {name: json_bytes(texts)})


HOSTILE = {
    "not a zip": (lambda files: b"PK\x03\x04 not really", "not a zip archive"),
    "path traversal": (lambda files: raw_zip([("../../etc/cron.d/evil", b"x")]), "../../etc/cron.d/evil: unsafe path"),
    "absolute path": (lambda files: raw_zip([("/etc/passwd", b"x")]), "/etc/passwd: unsafe path"),
    "windows path": (lambda files: raw_zip([("images\\..\\x.png", b"x")]), "unsafe path"),
    "symlink": (lambda files: _symlink(), "images/link.png: symbolic links"),
    "duplicate entry": (lambda files: raw_zip([(MANIFEST, b"{}"), (MANIFEST, b"{}")]), "manifest.json: appears twice"),
    "zip bomb": (
        lambda files: raw_zip([(MANIFEST, files[MANIFEST]), ("datasets/x/big.csv", bytes(64 * 1024 * 1024))]),
        "datasets/x/big.csv: compressed more than",
    ),
    "no manifest": (lambda files: raw_zip([("pages/en.json", b"[]")]), "manifest.json: missing"),
    "malformed manifest": (
        lambda files: write_zip({**files, MANIFEST: b'{"format": '}),
        "manifest.json: not valid JSON",
    ),
    "unknown version": (lambda files: _manifest_with(files, format_version=99), "unknown package version 99"),
    "missing file": (
        lambda files: write_zip({k: v for k, v in files.items() if not k.startswith("images/")}),
        "listed in the manifest but missing",
    ),
    "extra file": (lambda files: write_zip({**files, "notes.txt": b"hi"}), "notes.txt: in the package but not listed"),
    "sha256 mismatch": (
        lambda files: write_zip({**files, "pages/fr.json": files["pages/fr.json"].replace(b"[fr]", b"[FR]")}),
        "pages/fr.json: its sha256 does not match",
    ),
    "malformed pages": (lambda files: repack(files, {"pages/en.json": b"[{"}), "pages/en.json: not valid JSON"),
    "broken notebook": (
        lambda files: repack(files, {_notebook_name(files): b'{"cells": 3}'}),
        "exercises/shared-course--mean-squared-error.ipynb:",
    ),
    "notebook without tests": (
        lambda files: repack(
            files,
            {_notebook_name(files): json_bytes({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})},
        ),
        "exercises/shared-course--mean-squared-error.ipynb:",
    ),
    "unknown exercise": (
        lambda files: _with_block(files, "exercise", "exercise", "ghost"),
        "pages/en.json: page 4 (lesson-1-2): body: block 4 refers to exercise 'ghost'",
    ),
    "unknown image": (
        lambda files: _with_block(files, "image", "image", "images/ghost.png"),
        "pages/en.json: page 3 (lesson-1-1): body: block 4 refers to image 'images/ghost.png'",
    ),
    "exercise texts in a language the site does not offer": (
        _texts_in_german,
        f"exercises/{SLUG}--mean-squared-error.texts.json: texts in 'de', a language this site does not offer",
    ),
    "not an image": (
        lambda files: repack(files, {_image_name(files): b"GIF89a nope"}),
        "not a readable image",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_or_broken_package_is_refused_naming_the_file(case, package_files):
    make, message = HOSTILE[case]
    with pytest.raises(PackageError) as refused:
        read_package(make(package_files))
    assert message in str(refused.value)


def test_a_version_1_package_without_exercise_texts_still_imports(package_files):
    from courses.exercise_texts import ExerciseText

    manifest = json.loads(package_files[MANIFEST])
    manifest["format_version"] = 1
    for entry in manifest["exercises"]:
        del entry["texts"]
    files = {name: content for name, content in package_files.items() if not name.endswith(".texts.json")}
    report = course_package_import(data=repack({**files, MANIFEST: json_bytes(manifest)}, {}))
    # The exercise's text is made from its notebook here, in the site's language, as for any exercise.
    (text,) = ExerciseText.objects.filter(exercise__slug=report.exercises[0]).select_related("exercise")
    assert (text.locale.language_code, text.title) == ("en", text.exercise.title) and len(text.cells) > 0


def test_a_package_in_a_language_the_site_does_not_offer_is_refused(package_files):
    manifest = json.loads(package_files[MANIFEST])
    manifest["pages"]["de"] = "pages/de.json"
    data = repack({**package_files, MANIFEST: json_bytes(manifest)}, {"pages/de.json": package_files["pages/fr.json"]})
    with pytest.raises(PackageError, match=r"pages/de\.json: pages in 'de', a language this site does not offer"):
        read_package(data)


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [("MAX_FILES", 3, "files; the limit is 3"), ("MAX_UNCOMPRESSED_BYTES", 4096, "unpacks to more than")],
)
def test_too_many_files_or_too_large_unpacked_is_refused(package_files, monkeypatch, limit, value, message):
    monkeypatch.setattr(archive, limit, value)
    with pytest.raises(PackageError, match=message):
        read_package(write_zip(package_files))


def _quiz_without_options(page: dict[str, Any]) -> None:
    for block in (page["fields"] or {}).get("body") or []:
        if block["type"] == "quiz":
            block["value"]["options"] = []


def _code_block_as_text(page: dict[str, Any]) -> None:
    for block in (page["fields"] or {}).get("body") or []:
        if block["type"] == "code":
            block["value"] = "print('no language, no structure')"


#: Damage only the database can notice; each is found after the images and exercises were created.
DAMAGED_PAGES = {
    "invalid quiz": ("lesson-1-1", _quiz_without_options, r"pages/en.json: page 3 \(lesson-1-1\): body:"),
    "block of the wrong shape": (
        "lesson-1-1",
        _code_block_as_text,
        r"pages/en.json: page 3 \(lesson-1-1\): body: a block has the wrong shape",
    ),
    "field of the wrong type": (
        "lesson-1-2",
        lambda page: page["fields"].update(minutes="many"),
        r"pages/en.json: page 4 \(lesson-1-2\): .*minutes",
    ),
    "unknown choice": (
        SLUG,
        lambda page: page["fields"].update(topic="astrology"),
        r"pages/en.json: page 1 \(shared-course\): .*topic",
    ),
}


@pytest.mark.parametrize("case", list(DAMAGED_PAGES), ids=list(DAMAGED_PAGES))
def test_a_failure_while_importing_leaves_nothing_behind(package_files, case):
    slug, damage, message = DAMAGED_PAGES[case]
    pages = json.loads(package_files["pages/en.json"])
    damage(next(page for page in pages if page["slug"] == slug))
    data = repack(package_files, {"pages/en.json": json_bytes(pages)})
    storage = get_image_model()._meta.get_field("file").storage
    stored_before = set(storage.listdir("original_images")[1]) if storage.exists("original_images") else set()
    pages_before = Page.objects.count()

    with pytest.raises(PackageError, match=message):
        course_package_import(data=data)

    assert Page.objects.count() == pages_before and not Exercise.objects.exists()
    assert not get_image_model().objects.exists()
    # The image file written to media storage before the failure was deleted again.
    assert set(storage.listdir("original_images")[1]) == stored_before


def test_importing_a_course_the_site_already_has_is_refused(package_files, tmp_path):
    data = write_zip(package_files)
    course_package_import(data=data)
    pages = Page.objects.count()
    with pytest.raises(PackageError, match="This site already has this course"):
        course_package_import(data=data)
    assert Page.objects.count() == pages


def test_commands_export_and_import(package_files, tmp_path, client):
    path = tmp_path / "in.zip"
    path.write_bytes(write_zip(package_files))
    call_command("import_course", str(path), stdout=io.StringIO())
    course = CoursePage.objects.get(slug=SLUG, locale__language_code="fr")
    assert course.title == f"{SLUG} title [fr]" and course.get_parent().specific_class is CatalogPage
    # The imported course is served, with its licence.
    assert (
        'rel="license" href="https://creativecommons.org/licenses/by/4.0/"' in client.get(course.url).content.decode()
    )
    out = tmp_path / "out.zip"
    call_command("export_course", SLUG, "-o", str(out), stdout=io.StringIO())
    assert _manifest(out.read_bytes())["course"]["titles"]["fr"] == f"{SLUG} title [fr]"


def test_admin_downloads_a_course_package_and_imports_it_on_another_site(package_files, client, django_user_model):
    from allauth.mfa.models import Authenticator
    from django.urls import reverse
    from wagtail_localize.models import TranslationSource

    from lms.accounts import services
    from lms.accounts.models import Role

    admin = django_user_model.objects.create_user("netadmin", "netadmin@example.org", "x" * 12)
    services.profile_create(user=admin, country="KE")
    services.role_assign(user=admin, role=Role.NETWORK_ADMIN)
    Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(admin)

    form = client.get(reverse("course_package_import"))
    assert form.status_code == 200 and b'type="file"' in form.content
    upload = io.BytesIO(write_zip(package_files))
    upload.name = "shared-course.zip"
    response = client.post(reverse("course_package_import"), {"package": upload})
    course = CoursePage.objects.get(slug=SLUG, locale__language_code="en")
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_explore", args=[course.pk])

    edit_page = client.get(reverse("wagtailadmin_pages:edit", args=[course.pk]))
    export_url = reverse("course_package_export", args=[course.pk])
    assert export_url.encode() in edit_page.content
    # wagtail-localize's record of the source language travels in the manifest.
    TranslationSource.get_or_create_from_instance(course)
    download = client.get(export_url)
    assert download["Content-Type"] == "application/zip"
    assert _manifest(download.content)["course"]["source_recorded_by"] == "wagtail-localize"

    # The same package again: refused, with the reason shown on the form and nothing changed.
    upload.seek(0)
    pages = Page.objects.count()
    response = client.post(reverse("course_package_import"), {"package": upload})
    assert response.status_code == 200 and "This site already has this course" in response.content.decode()
    assert Page.objects.count() == pages

    learner = django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12)
    client.force_login(learner)
    assert client.get(export_url).status_code in (302, 403)


HARVESTS = b"season,harvest\n1,2.5\n2,3.0\n"


def with_dataset(files: dict[str, bytes], *, listed: bool = True) -> bytes:
    """The package with a CSV dataset read by its exercise (or, `listed=False`, only referenced)."""
    manifest = json.loads(files[MANIFEST])
    entry = {
        "id": "harvests",
        "file": "datasets/harvests/harvests.csv",
        "file_name": "harvests.csv",
        "source": "Survey of six seasons, example.org",
        "licence": "CC BY 4.0",
        "description": "",
    }
    manifest["datasets"] = [entry] if listed else []
    manifest["exercises"][0]["datasets"] = ["harvests"]
    return repack({**files, MANIFEST: json_bytes(manifest)}, {entry["file"]: HARVESTS} if listed else {})


def test_an_exercise_reading_a_dataset_that_is_not_in_the_package_is_refused(package_files):
    with pytest.raises(PackageError, match="an exercise uses dataset 'harvests', which is not in the package"):
        read_package(with_dataset(package_files, listed=False))


def test_datasets_travel_with_their_exercises(package_files, datasets_dir):
    # A failed import takes back the dataset file it wrote to the content-addressed store.
    pages = json.loads(package_files["pages/en.json"])
    _quiz_without_options(next(page for page in pages if page["slug"] == "lesson-1-1"))
    stored = stored_path(hashlib.sha256(HARVESTS).hexdigest())
    stored.unlink(missing_ok=True)
    with pytest.raises(PackageError, match="lesson-1-1"):
        course_package_import(data=with_dataset({**package_files, "pages/en.json": json_bytes(pages)}))
    assert not stored.exists() and not Dataset.objects.exists()

    report = course_package_import(data=with_dataset(package_files))
    exercise = Exercise.objects.get(slug=report.exercises[0])
    (dataset,) = exercise.datasets.all()
    assert (dataset.file_name, dataset.licence) == ("harvests.csv", "CC BY 4.0")

    exported = zipfile.ZipFile(io.BytesIO(course_package_export(course=report.course)))
    manifest = json.loads(exported.read(MANIFEST))
    (entry,) = manifest["datasets"]
    assert manifest["exercises"][0]["datasets"] == [entry["id"]]
    assert exported.read(entry["file"]) == HARVESTS and entry["source"] == "Survey of six seasons, example.org"


def test_a_package_with_an_oversized_dataset_is_refused_and_leaves_nothing_behind(
    package_files, datasets_dir, settings
):
    settings.DATASET_MAX_BYTES = 1024
    big = b"season,harvest\n" + b"1,2.5\n" * 400  # 2.4 KiB
    manifest = json.loads(package_files[MANIFEST])
    entries = [
        # Attached first, so its file is written to the store before the big one is refused.
        {"id": "a-harvests", "file": "datasets/a-harvests/harvests.csv", "file_name": "harvests.csv"},
        {"id": "b-census", "file": "datasets/b-census/census.csv", "file_name": "census.csv"},
    ]
    manifest["datasets"] = [{**entry, "source": "example.org", "licence": "CC BY 4.0"} for entry in entries]
    manifest["exercises"][0]["datasets"] = [entry["id"] for entry in entries]
    data = repack(
        {**package_files, MANIFEST: json_bytes(manifest)}, {entries[0]["file"]: HARVESTS, entries[1]["file"]: big}
    )
    storage = get_image_model()._meta.get_field("file").storage
    images_before = set(storage.listdir("original_images")[1]) if storage.exists("original_images") else set()
    pages_before = Page.objects.count()

    with pytest.raises(PackageError) as refused:
        course_package_import(data=data)

    assert str(refused.value) == (
        "datasets/b-census/census.csv: “census.csv” is 2.4 KiB; a dataset may be at most 1.0 KiB."
    )
    assert Page.objects.count() == pages_before and not CoursePage.objects.exists()
    assert not Exercise.objects.exists() and not Dataset.objects.exists() and not get_image_model().objects.exists()
    # The image and the first dataset, written to storage before the refusal, were deleted again.
    assert set(storage.listdir("original_images")[1]) == images_before
    assert not stored_path(hashlib.sha256(HARVESTS).hexdigest()).exists()
    assert [path for path in datasets_dir.rglob("*") if path.is_file()] == []


def test_published_pages_travel_as_published_and_unpublished_ones_as_their_latest_draft(package_files):
    course_package_import(data=write_zip(package_files))
    published = LessonPage.objects.get(slug="lesson-1-1", locale__language_code="en")
    published.title = "A draft not ready to share"
    published.save_revision()
    unpublished = LessonPage.objects.get(slug="lesson-1-2", locale__language_code="fr")
    unpublished.unpublish()
    unpublished = LessonPage.objects.get(pk=unpublished.pk)
    unpublished.title = "Brouillon"
    unpublished.save_revision()

    data = course_package_export(course=CoursePage.objects.get(slug=SLUG, locale__language_code="en"))
    pages = {
        (code, page["slug"]): page
        for code in ("en", "fr")
        for page in json.loads(zipfile.ZipFile(io.BytesIO(data)).read(f"pages/{code}.json"))
    }
    assert pages[("en", "lesson-1-1")]["fields"]["title"] == "lesson-1-1 [en]"
    assert (pages[("fr", "lesson-1-2")]["live"], pages[("fr", "lesson-1-2")]["fields"]["title"]) == (False, "Brouillon")

    for course in CoursePage.objects.filter(slug=SLUG):
        course.delete()
    Exercise.objects.all().delete()
    course_package_import(data=data)
    imported = LessonPage.objects.get(slug="lesson-1-2", locale__language_code="fr")
    assert (imported.live, imported.get_latest_revision_as_object().title) == (False, "Brouillon")


def test_encrypted_entries_and_oversized_images_are_refused(package_files, settings):
    # zipfile cannot write an encrypted entry: set the "encrypted" bit in both of the entry's headers.
    data = bytearray(raw_zip([("pages/en.json", b"[]")]))
    data[6] |= 0x1  # the local file header's flags
    data[data.index(b"PK\x01\x02") + 8] |= 0x1  # the central directory's
    with pytest.raises(PackageError, match=r"pages/en\.json: encrypted entries are not allowed"):
        read_package(bytes(data))

    settings.WAGTAILIMAGES_MAX_IMAGE_PIXELS = 100
    with pytest.raises(PackageError, match=r"images/.*-line-fit\.png: \d+×\d+ pixels is more than this site accepts"):
        read_package(write_zip(package_files))


# -- the publish rule -----------------------------------------------------------------------------
@pytest.mark.kernel
def test_an_imported_exercise_is_served_only_once_its_self_check_passes_here(package_files, client, django_user_model):
    """The check task runs in this process, through the real sandbox, as a grading worker runs it."""
    from django.urls import reverse

    from courses.exercise_checks import exercise_check_for
    from courses.models import ExerciseCheckStatus
    from courses.tasks import check_exercise

    course_package_import(data=repack(package_files, {}))
    exercise = Exercise.objects.get()
    lesson = next(
        page
        for page in LessonPage.objects.filter(locale__language_code="en", alias_of=None)
        if any(block.block_type == "exercise" for block in page.body)
    )
    client.force_login(django_user_model.objects.create_user("learner", "learner@example.org", "x" * 12))
    check = exercise_check_for(exercise=exercise)
    assert (check.status, check.publish_when_passed, exercise.live) == (ExerciseCheckStatus.QUEUED, True, False)
    assert "This exercise is not available yet" in client.get(lesson.url).content.decode()
    assert client.get(reverse("exercise_notebook", args=[exercise.pk])).status_code == 404

    check_exercise.apply(args=[check.pk])

    check.refresh_from_db()
    exercise.refresh_from_db()
    assert check.status == ExerciseCheckStatus.PASSED, (check.problem, check.detail)
    assert exercise.live and not exercise.has_unpublished_changes
    html = client.get(lesson.url).content.decode()
    assert "This exercise is not available yet" not in html and "answer:" in html
    assert client.get(reverse("exercise_notebook", args=[exercise.pk])).status_code == 200


def test_an_imported_exercise_whose_check_fails_stays_unpublished(package_files):
    from courses.exercise_checks import (
        ExerciseNotChecked,
        exercise_check_finish,
        exercise_check_for,
        exercise_publish_checked,
    )
    from courses.models import ExerciseCheckStatus

    course_package_import(data=repack(package_files, {}))
    exercise = Exercise.objects.get()
    check = exercise_check_finish(
        check_id=exercise_check_for(exercise=exercise).pk, status=ExerciseCheckStatus.FAILED, problem="solution-fails"
    )
    # The task publishes only a passed check; called anyway, the publish rule itself refuses.
    with pytest.raises(ExerciseNotChecked, match="cannot be published until its self-check passes"):
        exercise_publish_checked(check=check)
    exercise.refresh_from_db()
    assert not exercise.live


def test_a_draft_saved_after_the_import_is_not_published_by_the_imports_check(package_files):
    from courses.exercise_checks import exercise_check_finish, exercise_check_for, exercise_publish_checked
    from courses.exercises import exercise_import
    from courses.models import ExerciseCheckStatus

    course_package_import(data=repack(package_files, {}))
    exercise = Exercise.objects.get()
    imported = exercise_check_for(exercise=exercise)
    edited = json.loads(json.dumps(exercise.notebook))
    edited["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "An instructor's note."})
    exercise_import(slug=exercise.slug, raw_notebook=json.dumps(edited))
    passed = exercise_check_finish(check_id=imported.pk, status=ExerciseCheckStatus.PASSED)
    # The instructor's newer draft waits for its own check and for the instructor to publish it.
    assert exercise_publish_checked(check=passed) is False
    exercise.refresh_from_db()
    assert not exercise.live
