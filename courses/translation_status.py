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
    #: Source pages (and exercise texts) wagtail-localize has no texts of yet (made in the admin, never
    #: submitted for translation); their segments are counted from the objects themselves.
    unregistered: list[Any] = field(default_factory=list)


@dataclass
class _Translatable:
    """A page or exercise text of the course, in its source language."""

    key: uuid.UUID
    title: str
    instance: Any
    #: When the source last changed as learners see it (published; the notebook saved).
    changed_at: datetime | None
    is_page: bool


@dataclass
class _Target:
    title: str
    edit_url: str
    #: False for an alias, which shows the source text.
    is_translated: bool


def course_translation_completeness(*, course: Page) -> CourseCompleteness:
    """How complete each language of ``course`` (a source-language course page) is, and what is stale.

    Counts every page of the course and the texts of the exercises its lessons show from the notebook
    (an exercise block without instructions of its own).
    """
    pages = [course, *Page.objects.descendant_of(course).filter(locale_id=course.locale_id).order_by("path")]
    items = [_Translatable(page.translation_key, page.title, page, page.last_published_at, True) for page in pages]
    targets: dict[tuple[uuid.UUID, int], _Target] = {
        (row["translation_key"], row["locale_id"]): _Target(
            row["title"], reverse("wagtailadmin_pages:edit", args=[row["id"]]), row["alias_of_id"] is None
        )
        for row in Page.objects.filter(translation_key__in=[item.key for item in items])
        .exclude(locale_id=course.locale_id)
        .values("id", "title", "translation_key", "locale_id", "alias_of_id")
    }
    for text in _exercise_texts(course, pages):
        if text.locale_id == course.locale_id:
            items.append(_Translatable(text.translation_key, text.title, text, text.exercise.updated_at, False))
        else:
            edit_url = reverse("wagtailsnippets_courses_exercisetext:edit", args=[text.pk])
            targets[(text.translation_key, text.locale_id)] = _Target(text.title, edit_url, True)
    keys = [item.key for item in items]
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
    translations = set(
        Translation.objects.filter(source__in=sources.values(), enabled=True).values_list(
            "source_id", "target_locale_id"
        )
    )
    locales = {locale.language_code: locale for locale in Locale.objects.all()}
    names = dict(settings.LANGUAGES)
    unregistered_counts = {item.key: _count_string_segments(item.instance) for item in items if item.key not in sources}

    languages = []
    for code, _name in settings.LANGUAGES:
        locale = locales.get(code)
        if locale is None or locale.pk == course.locale_id:
            continue
        language = LanguageCompleteness(code=code, name=names[code])
        for item in items:
            target = targets.get((item.key, locale.pk))
            is_translated = target is not None and target.is_translated
            if item.is_page:
                language.pages += 1
                language.pages_translated += int(is_translated)
            source = sources.get(item.key)
            if source is None:
                language.segments += unregistered_counts[item.key]
                continue
            segments = segments_by_source[source.pk]
            language.segments += len(segments)
            if target is None or not is_translated:
                continue
            done = sum(1 for string_id, context_id in segments if (string_id, context_id, locale.pk) in translated)
            language.translated += done
            outdated = sum(
                1
                for string_id, context_id in segments
                if (string_id, context_id, locale.pk) not in translated
                and (context_id, locale.pk) in contexts_translated
            )
            edited = item.changed_at if _edited_after(item.changed_at, source.last_updated_at) else None
            if (source.pk, locale.pk) in translations and (edited or outdated):
                language.stale.append(
                    StaleTranslation(
                        source_title=item.title,
                        target_title=target.title,
                        source_edited_at=edited,
                        outdated_segments=outdated,
                        edit_url=target.edit_url,
                        sync_url=reverse("wagtail_localize:update_translations", args=[source.pk]),
                    )
                )
        languages.append(language)
    return CourseCompleteness(
        course=course,
        source_language=course.locale.language_code,
        source_language_name=names.get(course.locale.language_code, course.locale.language_code),
        languages=languages,
        unregistered=[item.instance for item in items if item.key not in sources],
    )


def _exercise_texts(course: Page, pages: list[Page]) -> list[Any]:
    """The ExerciseText rows (every language) of the exercises whose notebook text the course's lessons
    show: those in an exercise block without instructions of its own. Two queries."""
    from courses.exercise_texts import ExerciseText
    from courses.models import LessonPage

    exercise_ids = set()
    lessons = LessonPage.objects.filter(pk__in=[page.pk for page in pages], locale_id=course.locale_id)
    for body in lessons.values_list("body", flat=True):
        for block in body.raw_data:
            if block["type"] == "exercise" and not block["value"].get("instructions"):
                exercise_ids.add(block["value"].get("exercise"))
    if not exercise_ids:
        return []
    return list(ExerciseText.objects.filter(exercise_id__in=exercise_ids).select_related("exercise"))


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


def _count_string_segments(instance: Any) -> int:
    instance = instance.specific if isinstance(instance, Page) else instance
    return sum(1 for segment in extract_segments(instance) if isinstance(segment, StringSegmentValue))
