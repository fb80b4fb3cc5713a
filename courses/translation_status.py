"""Reads for the translation report: per course and language, how much is translated and what is stale.

Counts are wagtail-localize's own: a source-language page's string segments, and the translations of
those segments into a language (``Translation.get_progress`` counts the same way, one page at a time).
One course costs a fixed number of queries whatever its size.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from wagtail.models import Locale, Page
from wagtail_localize.models import StringSegment, StringTranslation, Translation, TranslationSource
from wagtail_localize.segments import StringSegmentValue
from wagtail_localize.segments.extract import extract_segments


@dataclass(frozen=True)
class StaleTranslation:
    """A translated page whose source changed after it was translated."""

    source_title: str
    target_title: str
    #: The source page was published after wagtail-localize last took its texts: the translators
    #: have not seen the change yet ("Sync translated pages" brings it to them).
    source_edited_at: datetime | None
    #: Segments whose source text changed since they were translated (the old translation is kept).
    outdated_segments: int
    edit_url: str
    sync_url: str


@dataclass
class LanguageCompleteness:
    code: str
    name: str
    segments: int = 0
    translated: int = 0
    pages: int = 0
    pages_translated: int = 0
    stale: list[StaleTranslation] = field(default_factory=list)

    @property
    def percent(self) -> int:
        # Rounded down: 100 % only when nothing is left to translate.
        return 100 * self.translated // self.segments if self.segments else 100


@dataclass
class CourseCompleteness:
    course: Page
    source_language: str
    source_language_name: str
    languages: list[LanguageCompleteness]
    #: Source pages wagtail-localize has no texts of yet (made in the admin, never submitted for
    #: translation); their segments are counted, from the page itself.
    unregistered: list[Page] = field(default_factory=list)


def course_translation_completeness(*, course: Page) -> CourseCompleteness:
    """How complete each language of ``course`` (a source-language course page) is, and what is stale."""
    pages = [course, *Page.objects.descendant_of(course).filter(locale_id=course.locale_id).order_by("path")]
    keys = [page.translation_key for page in pages]
    sources = {
        source.object_id: source
        for source in TranslationSource.objects.filter(object_id__in=keys, locale_id=course.locale_id)
    }
    segments_by_source: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for source_id, string_id, context_id in StringSegment.objects.filter(source__in=sources.values()).values_list(
        "source_id", "string_id", "context_id"
    ):
        segments_by_source[source_id].append((string_id, context_id))
    translated: set[tuple[int, int, int]] = set()
    contexts_translated: set[tuple[int, int]] = set()
    for string_id, context_id, locale_id in StringTranslation.objects.filter(
        context__object_id__in=keys, has_error=False
    ).values_list("translation_of_id", "context_id", "locale_id"):
        translated.add((string_id, context_id, locale_id))
        contexts_translated.add((context_id, locale_id))
    targets: dict[tuple[uuid.UUID, int], dict[str, Any]] = {
        (row["translation_key"], row["locale_id"]): row
        for row in Page.objects.filter(translation_key__in=keys)
        .exclude(locale_id=course.locale_id)
        .values("id", "title", "translation_key", "locale_id", "alias_of_id")
    }
    translations = set(
        Translation.objects.filter(source__in=sources.values(), enabled=True).values_list(
            "source_id", "target_locale_id"
        )
    )
    locales = {locale.language_code: locale for locale in Locale.objects.all()}
    names = dict(settings.LANGUAGES)
    unregistered = [page for page in pages if page.translation_key not in sources]
    unregistered_counts = {page.pk: _count_string_segments(page) for page in unregistered}

    languages = []
    for code, _name in settings.LANGUAGES:
        locale = locales.get(code)
        if locale is None or locale.pk == course.locale_id:
            continue
        language = LanguageCompleteness(code=code, name=names[code])
        for page in pages:
            target = targets.get((page.translation_key, locale.pk))
            is_translated = target is not None and target["alias_of_id"] is None
            language.pages += 1
            language.pages_translated += int(is_translated)
            source = sources.get(page.translation_key)
            if source is None:
                language.segments += unregistered_counts[page.pk]
                continue
            segments = segments_by_source[source.pk]
            language.segments += len(segments)
            if not is_translated:
                continue
            done = sum(1 for string_id, context_id in segments if (string_id, context_id, locale.pk) in translated)
            language.translated += done
            outdated = sum(
                1
                for string_id, context_id in segments
                if (string_id, context_id, locale.pk) not in translated
                and (context_id, locale.pk) in contexts_translated
            )
            edited = page.last_published_at if _edited_after(page.last_published_at, source.last_updated_at) else None
            if (source.pk, locale.pk) in translations and (edited or outdated):
                language.stale.append(
                    StaleTranslation(
                        source_title=page.title,
                        target_title=target["title"],
                        source_edited_at=edited,
                        outdated_segments=outdated,
                        edit_url=reverse("wagtailadmin_pages:edit", args=[target["id"]]),
                        sync_url=reverse("wagtail_localize:update_translations", args=[source.pk]),
                    )
                )
        languages.append(language)
    return CourseCompleteness(
        course=course,
        source_language=course.locale.language_code,
        source_language_name=names.get(course.locale.language_code, course.locale.language_code),
        languages=languages,
        unregistered=unregistered,
    )


def translation_completeness() -> list[CourseCompleteness]:
    """Every course, in the language it is written in: a course is listed once, from its source page."""
    from courses.models import CoursePage

    source_ids = TranslationSource.objects.filter(
        specific_content_type__app_label="courses", specific_content_type__model="coursepage"
    ).values_list("object_id", "locale_id")
    source_locale = dict(source_ids)
    courses = []
    seen: set[uuid.UUID] = set()
    for course in CoursePage.objects.filter(alias_of__isnull=True).select_related("locale").order_by("path"):
        key = course.translation_key
        if key in seen:
            continue
        # The source is the locale wagtail-localize translates from; before that, the site's language.
        wanted = source_locale.get(key)
        is_source = course.locale_id == wanted if wanted else course.locale.language_code == settings.LANGUAGE_CODE
        if is_source:
            seen.add(key)
            courses.append(course_translation_completeness(course=course))
    return courses


def _edited_after(published_at: datetime | None, synced_at: datetime | None) -> bool:
    return bool(published_at and synced_at and published_at > synced_at)


def _count_string_segments(page: Page) -> int:
    return sum(1 for segment in extract_segments(page.specific) if isinstance(segment, StringSegmentValue))
