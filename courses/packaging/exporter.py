"""Export one course, in every language it has, as a package (docs/course-packages.md).

Only the course's own content goes in: page fields, lesson bodies, exercises (instructor
notebooks and their texts in every language), images and datasets. Learner data (enrollments,
submissions, scores, certificates) never does.
"""

from __future__ import annotations

import posixpath
import re
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils.text import slugify
from django.utils.translation import gettext as _
from wagtail.images import get_image_model
from wagtail.models import Page, Site

from courses.models import CoursePage, Exercise
from courses.packaging.archive import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    PAGE_MODELS,
    PackageError,
    json_bytes,
    page_field_names,
    sha256,
    stream_field_names,
    stream_references,
    write_zip,
)
from courses.packaging.datasets import datasets_export

#: Internal links in rich text, as Wagtail stores them: <a linktype="page" id="42">.
DUPLICATE_SUFFIX = re.compile(r"_[A-Za-z0-9]{7}$")
PAGE_LINK = re.compile(r'<a\b(?=[^>]*\blinktype="page")[^>]*\bid="(\d+)"[^>]*>')


def course_translations(course: CoursePage) -> list[CoursePage]:
    """The course in every language of this site, ordered by language code."""
    return list(
        CoursePage.objects.filter(translation_key=course.translation_key)
        .select_related("locale")
        .order_by("locale__language_code")
    )


def source_locale_of(translations: list[CoursePage]) -> tuple[str, bool]:
    """The language the course is translated from, and whether wagtail-localize recorded it."""
    from wagtail_localize.models import TranslationSource

    recorded = (
        TranslationSource.objects.filter(object_id=translations[0].translation_key).select_related("locale").first()
    )
    if recorded is not None:
        return recorded.locale.language_code, True
    originals = [page for page in translations if page.alias_of_id is None]
    for page in originals:
        if page.locale.language_code == settings.LANGUAGE_CODE:
            return page.locale.language_code, False
    if not originals:
        raise PackageError(
            _("The course %(slug)s has no language that is not an alias.") % {"slug": translations[0].slug}
        )
    return originals[0].locale.language_code, False


def exercise_texts_export(exercise: Exercise) -> dict[str, Any] | None:
    """The exercise's title and notebook text cells in every language it has them (courses/exercise_texts.py),
    with their block ids (a translated cell has its source cell's id); None before it has any."""
    from courses.exercise_texts import ExerciseText, source_text

    rows = list(ExerciseText.objects.filter(exercise=exercise).select_related("locale"))
    source = source_text(exercise, rows)
    if source is None:
        return None
    return {
        "translation_key": str(source.translation_key),
        "source_locale": source.locale.language_code,
        "texts": {
            row.locale.language_code: {
                "title": row.title,
                "cells": [{"id": block.id, "value": block.value} for block in row.cells],
            }
            for row in rows
        },
    }


def course_package_export(*, course: CoursePage) -> bytes:
    """The course as a package; exporting an unchanged course twice gives the same bytes."""
    translations = course_translations(course)
    source_locale, recorded = source_locale_of(translations)
    exporter = _Exporter(translations)
    page_files: dict[str, str] = {}
    for translation in translations:
        code = translation.locale.language_code
        name = f"pages/{code}.json"
        exporter.files[name] = json_bytes(exporter.pages(translation))
        page_files[code] = name
    dataset_entries, dataset_files, used = datasets_export(exercises=list(exporter.exercises.values()))
    exporter.files.update(dataset_files)
    source = next(page for page in translations if page.locale.language_code == source_locale)
    site = Site.objects.filter(is_default_site=True).first()
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "course": {
            "slug": source.slug,
            "translation_key": str(source.translation_key),
            "titles": {page.locale.language_code: page.title for page in translations},
            "locales": sorted(page_files),
            "source_locale": source_locale,
            "source_recorded_by": "wagtail-localize" if recorded else None,
            "licence": source.licence,
            "authors": source.authors,
        },
        "source": {
            "platform": "OpenCapacity",
            "deployment": site.site_name if site else "",
            "url": settings.WAGTAILADMIN_BASE_URL,
        },
        # The time of the content's last change, not of the export: the same course gives the same bytes.
        "created_at": exporter.last_change.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "pages": page_files,
        "exercises": [
            {**entry, "datasets": used.get(entry["slug"], [])}
            for _slug, entry in sorted(exporter.exercise_entries.items())
        ],
        "images": [exporter.image_entries[name] for name in sorted(exporter.image_entries)],
        "datasets": dataset_entries,
    }
    manifest["files"] = {name: sha256(content) for name, content in sorted(exporter.files.items())}
    return write_zip({**exporter.files, MANIFEST: json_bytes(manifest)})


class _Exporter:
    def __init__(self, translations: list[CoursePage]) -> None:
        self.files: dict[str, bytes] = {}
        self.exercises: dict[int, Exercise] = {}
        self.exercise_entries: dict[str, dict[str, Any]] = {}
        self.image_entries: dict[str, dict[str, Any]] = {}
        self._image_names: dict[int, str] = {}
        self._image_names_by_digest: dict[str, str] = {}
        self._references = stream_references()
        # Every page of the course in every language, so that links between them survive the move.
        self._pages_by_id = {
            page.pk: (str(page.translation_key), page.locale.language_code)
            for translation in translations
            for page in Page.objects.descendant_of(translation, inclusive=True).select_related("locale")
        }
        self.last_change = datetime(2000, 1, 1, tzinfo=UTC)

    def pages(self, course: CoursePage) -> list[dict[str, Any]]:
        tree = list(Page.objects.descendant_of(course, inclusive=True).order_by("path").specific())
        keys_by_path = {page.path: str(page.translation_key) for page in tree}
        entries = []
        for page in tree:
            type_name = f"{page._meta.app_label}.{page._meta.model_name}"
            if type_name not in PAGE_MODELS:
                raise PackageError(
                    _("%(page)s: pages of type %(type)s cannot go into a course package")
                    % {"page": page.url_path, "type": type_name}
                )
            for changed_at in (page.last_published_at, page.latest_revision_created_at):
                if changed_at is not None:
                    self.last_change = max(self.last_change, changed_at)
            alias_of = None
            if page.alias_of_id is not None:
                original = Page.objects.select_related("locale").get(pk=page.alias_of_id)
                if original.translation_key != page.translation_key:
                    raise PackageError(
                        _("%(page)s is an alias of a page outside this course's translations") % {"page": page.url_path}
                    )
                alias_of = original.locale.language_code
            entries.append(
                {
                    "key": str(page.translation_key),
                    "type": type_name,
                    "parent": keys_by_path.get(page.path[: -Page.steplen]) if page.pk != course.pk else None,
                    "slug": page.slug,
                    "alias_of": alias_of,
                    "live": page.live,
                    # An alias shows its original's content; the importer makes it an alias again.
                    "fields": None if alias_of else self._fields(self._shared_version(page)),
                }
            )
        return entries

    @staticmethod
    def _shared_version(page: Page) -> Page:
        """What learners see for a published page (drafts stay home); the latest draft of one never published."""
        if page.live or page.latest_revision_id is None:
            return page
        return page.get_latest_revision_as_object()

    def _fields(self, page: Page) -> dict[str, Any]:
        model = type(page)
        streams = stream_field_names(model)
        fields: dict[str, Any] = {}
        for name in page_field_names(model):
            value = getattr(page, name)
            if name in streams:
                value = [self._block(page, block) for block in value.get_prep_value()]
            fields[name] = self._links(value)
        return fields

    def _block(self, page: Page, block: dict[str, Any]) -> dict[str, Any]:
        refs = self._references.get(block["type"])
        if not refs:
            return block
        value = dict(block["value"])
        for child, kind in refs.items():
            pk = value.get(child)
            value[child] = self._exercise(page, pk) if kind == "exercise" else self._image(page, pk)
        return {**block, "value": value}

    def _exercise(self, page: Page, pk: Any) -> str:
        exercise = Exercise.objects.filter(pk=pk).first()
        if exercise is None:
            raise PackageError(_("%(page)s: an exercise block points at a deleted exercise") % {"page": page.url_path})
        if exercise.pk not in self.exercises:
            self.exercises[exercise.pk] = exercise
            name = f"exercises/{exercise.slug}.ipynb"
            self.files[name] = json_bytes(exercise.notebook)
            self.exercise_entries[exercise.slug] = {
                "slug": exercise.slug,
                "title": exercise.title,
                "format": exercise.format,
                "max_score": exercise.max_score,
                "notebook": name,
            }
            texts = exercise_texts_export(exercise)
            if texts is not None:
                texts_name = f"exercises/{exercise.slug}.texts.json"
                self.files[texts_name] = json_bytes(texts)
                self.exercise_entries[exercise.slug]["texts"] = texts_name
            self.last_change = max(self.last_change, exercise.updated_at)
        return exercise.slug

    def _image(self, page: Page, pk: Any) -> str:
        if pk in self._image_names:
            return self._image_names[pk]
        image = get_image_model().objects.filter(pk=pk).first()
        if image is None:
            raise PackageError(_("%(page)s: an image block points at a deleted image") % {"page": page.url_path})
        with image.file.open("rb") as handle:
            content = handle.read()
        digest = sha256(content)
        name = self._image_names_by_digest.get(digest)
        if name is None:
            stem, extension = posixpath.splitext(posixpath.basename(image.file.name))
            # Storage adds "_AbCdEf1" to a name already taken: not part of the author's name.
            stem = DUPLICATE_SUFFIX.sub("", stem)
            # The digest keeps two different files with the same name apart; the same file is packed once.
            name = f"images/{digest[:12]}-{slugify(stem) or 'image'}{extension.lower()}"
            self.files[name] = content
            self.image_entries[name] = {"file": name, "title": image.title}
            self._image_names_by_digest[digest] = name
        self._image_names[pk] = name
        return name

    def _links(self, value: Any) -> Any:
        """Internal page links point at translation keys (ids mean nothing on another site)."""
        if isinstance(value, str) and 'linktype="page"' in value:
            return PAGE_LINK.sub(self._link, value)
        if isinstance(value, list):
            return [self._links(item) for item in value]
        if isinstance(value, dict):
            return {key: self._links(item) for key, item in value.items()}
        return value

    def _link(self, match: re.Match[str]) -> str:
        pk = int(match.group(1))
        if pk in self._pages_by_id:
            key, code = self._pages_by_id[pk]
            return f'<a linktype="package-page" key="{key}" locale="{code}">'
        # A page outside the course: link to where it lives on this deployment.
        target = Page.objects.filter(pk=pk).first()
        url = target.full_url if target is not None else None
        return f'<a href="{url}">' if url else "<a>"
