"""Import a course package into this deployment, all or nothing.

The package is checked in full first (courses.packaging.archive.read_package); then one database
transaction creates the locales, catalog and site that are missing (as the content loader would on
an empty site), the images, exercises, datasets and the pages of every language, and registers the
pages with wagtail-localize as the content loader does. Any error rolls the transaction back and
deletes the files already written to media storage.

A site that already has the course (any page with one of the package's translation keys, a course
with the same slug, or an exercise with the same slug) is refused: an import never overwrites an
instructor's work. Delete the course first to replace it.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.images import ImageFile
from django.db import transaction
from django.utils.translation import gettext as _
from wagtail.images import get_image_model
from wagtail.models import Collection, Locale, Page

from courses.blocks import LessonStreamBlock
from courses.exercise_checks import exercise_check_request
from courses.exercise_texts import ExerciseText, exercise_text_refresh
from courses.models import CatalogPage, CoursePage, Exercise
from courses.packaging.archive import (
    PAGE_MODELS,
    CoursePackage,
    PackageError,
    PageEntry,
    read_package,
    stream_field_names,
    stream_references,
)
from courses.packaging.datasets import datasets_import
from courses.translation import course_translations_sync, exercise_texts_translations_sync

PACKAGE_LINK = re.compile(r'<a linktype="package-page" key="([0-9a-f-]{36})" locale="([a-z-]+)">')
#: Any other internal link or embed refers to an id of the exporting site: meaningless, or worse, here.
FOREIGN_REFERENCE = re.compile(r'<(?:a|embed)\b(?=[^>]*\b(?:linktype|embedtype)="(?!package-page")[^"]*")[^>]*>')


@dataclass
class ImportReport:
    course: CoursePage
    pages: int = 0
    aliases: int = 0
    exercises: list[str] = field(default_factory=list)
    images_created: int = 0
    images_reused: int = 0
    datasets: int = 0


def course_package_import(*, data: bytes, user: Any = None) -> ImportReport:
    """Import the package in `data`; PackageError (naming the file) leaves the site as it was."""
    package = read_package(data)
    importer = _Importer(package, user)
    try:
        with transaction.atomic():
            return importer.run()
    except BaseException:
        importer.delete_stored_files()
        raise


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "as_json_data"):
        return str(error.as_json_data())
    if hasattr(error, "message_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
    return " ".join(error.messages)


class _Importer:
    def __init__(self, package: CoursePackage, user: Any) -> None:
        self.package = package
        self.user = user
        #: What deletes each file written outside the database, should the import fail.
        self.undo: list[Callable[[], None]] = []
        self.catalogs: dict[str, Page] = {}
        self.locales: dict[str, Locale] = {}
        self.pages: dict[tuple[str, str], Page] = {}
        self.image_ids: dict[str, int] = {}
        self.exercises: dict[str, Exercise] = {}
        self.references = stream_references()

    def delete_stored_files(self) -> None:
        for undo in self.undo:
            undo()

    def run(self) -> ImportReport:
        self._prepare_site()
        self._refuse_conflicts()
        report = ImportReport(course=CoursePage())
        self._import_images(report)
        self._import_exercises(report)
        self._import_exercise_texts()
        datasets_import(package=self.package, exercises=self.exercises, undo=self.undo)
        report.datasets = len(self.package.datasets)
        # Once the datasets are attached: they are part of the version a check belongs to.
        for exercise in self.exercises.values():
            exercise_check_request(exercise=exercise, publish_when_passed=True)
        self._import_pages(report)
        course_key = self.package.course["translation_key"]
        report.course = self.pages[(course_key, self.package.source_locale)].specific
        # As the content loader does after loading a course: without wagtail-localize's records the
        # translated pages count as untranslated in the report and have no translation editor.
        course_translations_sync(course=report.course)
        exercise_texts_translations_sync(exercises=list(self.exercises.values()))
        return report

    # -- the site -----------------------------------------------------------------------------

    def _prepare_site(self) -> None:
        """Locales, a catalog in every language of the package and a site, as the content loader makes them."""
        from courses.content_loader import load_content

        catalog = CatalogPage.objects.filter(locale__language_code=settings.LANGUAGE_CODE, depth=2).first()
        if catalog is None:
            # An empty site: the loader, given no course files, builds exactly the catalogs and the site.
            with tempfile.TemporaryDirectory() as empty:
                load_content(Path(empty))
            catalog = CatalogPage.objects.get(locale__language_code=settings.LANGUAGE_CODE, depth=2)
        for code in self.package.pages:
            locale, _created = Locale.objects.get_or_create(language_code=code)
            self.locales[code] = locale
            existing = catalog.get_translation_or_none(locale)
            self.catalogs[code] = existing or catalog.copy_for_translation(locale, copy_parents=True, alias=True)

    def _refuse_conflicts(self) -> None:
        keys = {entry.key for entries in self.package.pages.values() for entry in entries}
        clash = Page.objects.filter(translation_key__in=keys).first()
        if clash is not None:
            raise PackageError(
                _(
                    "This site already has this course (page “%(title)s”, %(path)s). "
                    "Delete it first to import the package again."
                )
                % {"title": clash.title, "path": clash.url_path}
            )
        for code, entries in self.package.pages.items():
            slug = entries[0].slug
            if self.catalogs[code].get_children().filter(slug=slug).exists():
                raise PackageError(
                    _("pages/%(code)s.json: the catalog already has a course with the slug %(slug)r")
                    % {"code": code, "slug": slug}
                )
        for slug in sorted(self.package.exercises):
            if Exercise.objects.filter(slug=slug).exists():
                raise PackageError(
                    _("%(file)s: an exercise with the slug %(slug)r already exists on this site")
                    % {"file": self.package.exercises[slug][0]["notebook"], "slug": slug}
                )

    # -- files --------------------------------------------------------------------------------

    def _import_images(self, report: ImportReport) -> None:
        Image = get_image_model()
        for name, entry in sorted(self.package.images.items()):
            content = self.package.files[name]
            # Wagtail keeps a SHA-1 of every image: the same file is stored once per site.
            digest = hashlib.sha1(content).hexdigest()  # noqa: S324 - matches Wagtail's own field
            image = Image.objects.filter(file_hash=digest).first()
            if image is not None:
                report.images_reused += 1
            else:
                if not Collection.objects.exists():  # a flushed database has no root collection
                    Collection.add_root(name="Root")
                basename = posixpath.basename(name)
                # Exported names start with a digest ("3f2a...-line-fit.png"); keep the author's name.
                original = basename.split("-", 1)[1] if re.match(r"^[0-9a-f]{12}-.", basename) else basename
                image = Image(
                    title=entry["title"][:255] or original, file=ImageFile(io.BytesIO(content), name=original)
                )
                # Set as Wagtail's upload form sets them, so the next import of the same file reuses it.
                image.file_hash, image.file_size = digest, len(content)
                try:
                    image.save()
                finally:
                    if image.file.name:
                        self.undo.append(partial(image.file.storage.delete, image.file.name))
                report.images_created += 1
            self.image_ids[name] = image.pk

    def _import_exercises(self, report: ImportReport) -> None:
        for slug, (entry, notebook, fmt, max_score) in sorted(self.package.exercises.items()):
            # Unpublished until its self-check passes on this deployment, then published by the
            # check task: a package is not trusted to have been checked where it was made.
            # Its notebook speaks the language its texts were made in at home, which need not be this
            # site's default: its text in that language is made from the notebook when it is saved.
            texts = self.package.exercise_texts.get(slug)
            language = texts["source_locale"] if texts else self.package.source_locale
            notebook_locale, _created = Locale.objects.get_or_create(language_code=language)
            exercise = Exercise(
                slug=slug,
                title=entry["title"][:200],
                notebook=notebook,
                format=fmt,
                max_score=max_score,
                live=False,
                notebook_locale=notebook_locale,
            )
            try:
                exercise.full_clean()
            except ValidationError as error:
                raise PackageError(f"{entry['notebook']}: {_error_text(error)}") from error
            exercise.save()
            exercise.save_revision(user=self.user)
            self.exercises[slug] = exercise
            report.exercises.append(slug)

    def _import_exercise_texts(self) -> None:
        """The exercises' texts in every language of the package, with their translation key and block
        ids, so that each translated cell still translates its source cell.

        The text in the notebook's language is the one the exercise made from its notebook when it was
        saved (courses/exercise_texts.py): it takes the package's identity, not its words.
        """
        for slug, data in sorted(self.package.exercise_texts.items()):
            exercise = self.exercises[slug]
            name = self.package.exercises[slug][0]["texts"]
            texts = data["texts"]
            source = exercise.notebook_locale
            for code, text in sorted(texts.items()):
                if code == source.language_code:
                    continue
                locale, _created = Locale.objects.get_or_create(language_code=code)
                cells = [{"type": "markdown", "value": cell["value"], "id": cell["id"]} for cell in text["cells"]]
                self._save_exercise_text(
                    ExerciseText(exercise=exercise, locale=locale, title=text["title"], cells=cells),
                    data["translation_key"],
                    f"{name}: {code}",
                )
            own = ExerciseText.objects.filter(exercise=exercise, locale=source).first()
            own = own or exercise_text_refresh(exercise=exercise)
            ids = [cell["id"] for cell in texts[source.language_code]["cells"]]
            own.cells = [
                {"type": "markdown", "value": block.value, "id": ids[n] if n < len(ids) else block.id}
                for n, block in enumerate(own.cells)
            ]
            self._save_exercise_text(own, data["translation_key"], f"{name}: {source.language_code}")

    @staticmethod
    def _save_exercise_text(text: ExerciseText, translation_key: str, label: str) -> None:
        text.translation_key = translation_key
        try:
            # Lengths, and the translation key or language an exercise text of this site already has.
            text.full_clean()
        except ValidationError as error:
            raise PackageError(f"{label}: {_error_text(error)}") from error
        text.save()

    # -- pages --------------------------------------------------------------------------------

    def _import_pages(self, report: ImportReport) -> None:
        source = self.package.source_locale
        entries = [entry for entries in self.package.pages.values() for entry in entries]
        # Parents before children; in each level the originals before their aliases, the source
        # language first; siblings in their order, since add_child appends.
        entries.sort(key=lambda e: (e.depth, e.alias_of is not None, e.locale != source, e.locale, e.index))
        linked: list[tuple[PageEntry, Page]] = []
        for entry in entries:
            parent = self.catalogs[entry.locale] if entry.parent is None else self.pages[(entry.parent, entry.locale)]
            if entry.alias_of is not None:
                original = self.pages[(entry.key, entry.alias_of)]
                page = original.specific.create_alias(
                    parent=parent,
                    update_locale=self.locales[entry.locale],
                    update_slug=entry.slug if entry.slug != original.slug else None,
                    user=self.user,
                    reset_translation_key=False,
                )
                report.aliases += 1
            else:
                page = self._create_page(entry, parent)
                if any(PACKAGE_LINK.search(str(value)) for value in entry.fields.values()):
                    linked.append((entry, page))
                report.pages += 1
            self.pages[(entry.key, entry.locale)] = page
        # Links between the course's pages can only point at pages once they all exist.
        for entry, page in linked:
            for name, value in self._fields(entry, links=True).items():
                setattr(page, name, value)
            self._save(entry, page)

    def _create_page(self, entry: PageEntry, parent: Page) -> Page:
        model = PAGE_MODELS[entry.type]
        page = model(
            **self._fields(entry, links=False),
            locale=self.locales[entry.locale],
            translation_key=entry.key,
            live=entry.live,
            owner=self.user,
        )
        page.slug = entry.slug
        try:
            parent.add_child(instance=page)
        except ValidationError as error:
            raise PackageError(f"{entry.label}: {_error_text(error)}") from error
        except (TypeError, ValueError) as error:
            # A field of the wrong type that validation could not even compare ("ten" minutes).
            raise PackageError(
                _("%(page)s: a field has the wrong type (%(error)s)") % {"page": entry.label, "error": error}
            ) from error
        self._save(entry, page)
        return page

    def _save(self, entry: PageEntry, page: Page) -> None:
        try:
            revision = page.save_revision(user=self.user)
        except ValidationError as error:
            raise PackageError(f"{entry.label}: {_error_text(error)}") from error
        if entry.live:
            revision.publish(user=self.user)

    def _fields(self, entry: PageEntry, *, links: bool) -> dict[str, Any]:
        model = PAGE_MODELS[entry.type]
        streams = stream_field_names(model)
        fields: dict[str, Any] = {}
        for name, value in entry.fields.items():
            value = self._links(value, entry.locale) if links else self._links_dropped(value)
            if name in streams:
                value = self._stream(entry, name, value)
            fields[name] = value
        return fields

    def _stream(self, entry: PageEntry, name: str, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        blocks = []
        for block in raw:
            refs = self.references.get(block["type"])
            if refs and isinstance(block.get("value"), dict):
                value = dict(block["value"])
                for child, kind in refs.items():
                    value[child] = (
                        self.exercises[value[child]].pk if kind == "exercise" else self.image_ids[value[child]]
                    )
                block = {**block, "value": value}
            blocks.append(block)
        stream_block = LessonStreamBlock()
        try:
            # The same checks as the admin's editor: required fields, quiz rules, existing choices.
            stream_block.clean(stream_block.to_python(blocks))
        except ValidationError as error:
            raise PackageError(f"{entry.label}: {name}: {_error_text(error)}") from error
        except (TypeError, ValueError, KeyError, AttributeError) as error:
            # A block whose value has the wrong shape (a string where an object belongs, ...).
            raise PackageError(
                _("%(page)s: %(field)s: a block has the wrong shape (%(error)s)")
                % {"page": entry.label, "field": name, "error": error}
            ) from error
        return blocks

    def _links(self, value: Any, code: str) -> Any:
        if isinstance(value, str):
            return PACKAGE_LINK.sub(lambda match: self._link(match, code), FOREIGN_REFERENCE.sub("<a>", value))
        if isinstance(value, list):
            return [self._links(item, code) for item in value]
        if isinstance(value, dict):
            return {key: self._links(item, code) for key, item in value.items()}
        return value

    def _link(self, match: re.Match[str], code: str) -> str:
        target = self.pages.get((match.group(1), match.group(2))) or self.pages.get((match.group(1), code))
        return f'<a linktype="page" id="{target.pk}">' if target is not None else "<a>"

    def _links_dropped(self, value: Any) -> Any:
        """Until every page exists, a link to another page of the course is plain text."""
        if isinstance(value, str):
            return PACKAGE_LINK.sub("<a>", FOREIGN_REFERENCE.sub("<a>", value))
        if isinstance(value, list):
            return [self._links_dropped(item) for item in value]
        if isinstance(value, dict):
            return {key: self._links_dropped(item) for key, item in value.items()}
        return value
