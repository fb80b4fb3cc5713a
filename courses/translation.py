"""Writes that wire course pages into wagtail-localize's translation workflow.

Pages built from content/ files exist in every language before wagtail-localize hears of them. To make
"Translate this page", PO download and upload and the completeness report work on them, each
source-language page gets a ``TranslationSource`` (the texts to translate, as segments), each of its
translated pages a ``Translation``, and the translated page's own texts are imported as
``StringTranslation`` rows, segment by segment. Exercise texts translated elsewhere (a course package)
are registered the same way. Reads (completeness, stale translations) are in
courses/translation_status.py.
"""

from __future__ import annotations

import copy
import difflib
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from wagtail.models import Locale, Page
from wagtail_localize.models import StringSegment, StringTranslation, Translation, TranslationSource
from wagtail_localize.segments import StringSegmentValue
from wagtail_localize.segments.extract import extract_segments
from wagtail_localize.strings import StringValue, validate_translation_links

#: How imported translations are marked (StringTranslation.tool_name) in wagtail-localize's history.
CONTENT_FILES_TOOL = "content files"


@dataclass
class SyncReport:
    sources_created: int = 0
    sources_updated: int = 0
    translations_created: int = 0
    strings_imported: int = 0
    #: Source segments a translated page did not match (its structure differs there); left to translate.
    strings_unmatched: int = 0


def course_translations_sync(*, course: Page, changed_page_ids: Collection[int] = ()) -> SyncReport:
    """Register ``course`` (a source-language page) and every page below it with wagtail-localize."""
    pages = [course, *Page.objects.descendant_of(course).filter(locale_id=course.locale_id).specific()]
    return pages_translations_sync(pages=pages, changed_page_ids=changed_page_ids)


def pages_translations_sync(*, pages: list[Page], changed_page_ids: Collection[int] = ()) -> SyncReport:
    """Register source-language ``pages`` and their translated pages with wagtail-localize.

    A page or translated page without its records gets them. A source page in ``changed_page_ids``
    (its file changed) gets its segments refreshed; its translations keep what they had, so segments
    whose source text changed show as outdated until the translation is updated. A translated page in
    ``changed_page_ids`` gets its strings imported again. Everything else is left alone, so calling
    this after every load is cheap and changes nothing when nothing changed.
    """
    report = SyncReport()
    changed = set(changed_page_ids)
    if not pages:
        return report
    pages = [page.specific for page in pages]
    source_locale_id = pages[0].locale_id
    keys = [page.translation_key for page in pages]
    targets: dict[Any, list[Page]] = defaultdict(list)
    for target in (
        Page.objects.filter(translation_key__in=keys, alias_of__isnull=True)
        .exclude(locale_id=source_locale_id)
        .select_related("locale")
        .specific()
    ):
        targets[target.translation_key].append(target)
    sources = {
        source.object_id: source
        for source in TranslationSource.objects.filter(object_id__in=keys, locale_id=source_locale_id)
    }
    existing = {
        (translation.source_id, translation.target_locale_id): translation
        for translation in Translation.objects.filter(source__in=sources.values())
    }
    for page in pages:
        with transaction.atomic():
            source = sources.get(page.translation_key)
            if source is None:
                source, _created = TranslationSource.get_or_create_from_instance(page)
                report.sources_created += 1
            elif page.pk in changed:
                source.update_from_db()
                report.sources_updated += 1
            segments: list[StringSegment] | None = None
            for target in targets[page.translation_key]:
                translation = existing.get((source.pk, target.locale_id))
                if translation is None:
                    translation, _created = Translation.objects.get_or_create(
                        source=source, target_locale_id=target.locale_id
                    )
                    report.translations_created += 1
                elif target.pk not in changed:
                    continue
                if segments is None:
                    segments = translation_source_segments(source)
                imported, unmatched = translation_strings_import(
                    translation=translation, source_page=page, target_page=target, source_segments=segments
                )
                report.strings_imported += imported
                report.strings_unmatched += unmatched
    return report


def exercise_texts_translations_sync(*, exercises: Collection[Any]) -> SyncReport:
    """Register the texts of ``exercises`` that have translations with wagtail-localize: the text in the
    notebook's language (made from the notebook) as a ``TranslationSource``, each translated text
    as a ``Translation`` with its strings imported. Texts nobody translated are left alone, as they are
    on a site where nobody has started translating them.
    """
    from courses.exercise_texts import ExerciseText

    report = SyncReport()
    default_locale_id = Locale.get_default().pk
    rows: dict[int, list[Any]] = defaultdict(list)
    texts_of = ExerciseText.objects.filter(exercise__in=exercises).annotate(
        notebook_locale_id=F("exercise__notebook_locale_id")
    )
    for row in texts_of.order_by("locale__language_code"):
        rows[row.exercise_id].append(row)
    for texts in rows.values():
        source_locale_id = texts[0].notebook_locale_id or default_locale_id
        source = next((row for row in texts if row.locale_id == source_locale_id), None)
        targets = [row for row in texts if row is not source]
        if source is None or not targets:
            continue
        with transaction.atomic():
            translation_source, created = TranslationSource.get_or_create_from_instance(source)
            report.sources_created += int(created)
            segments = translation_source_segments(translation_source)
            for target in targets:
                translation, created = Translation.objects.get_or_create(
                    source=translation_source, target_locale_id=target.locale_id
                )
                report.translations_created += int(created)
                imported, unmatched = translation_strings_import(
                    translation=translation, source_page=source, target_page=target, source_segments=segments
                )
                report.strings_imported += imported
                report.strings_unmatched += unmatched
    return report


def translation_strings_import(
    *,
    translation: Translation,
    source_page: Page,
    target_page: Page,
    source_segments: list[StringSegment] | None = None,
) -> tuple[int, int]:
    """Store the texts of ``target_page`` (a translated page made outside wagtail-localize) as the
    translations of ``translation``'s source segments. Returns (imported, unmatched). The "pages" may
    also be other translatable objects (an exercise's texts).

    Segments are matched by their place in the page: the same field, the same lesson block (blocks
    are paired by type in order, so one block added or left out in a translation shifts nothing), and
    the same position in that field. Where a field splits into a different number of segments in
    the translation (a paragraph merged, a list item added) its segments are left untranslated (and
    an earlier translation of them removed): a guess would mark wrong text as translated.
    ``source_segments`` saves a query when the caller has them.
    """
    if isinstance(source_page, Page):
        source_page, target_page = source_page.specific, target_page.specific
    found: dict[str, list[StringSegmentValue]] = defaultdict(list)
    for segment in extract_segments(_with_source_block_ids(source_page, target_page)):
        if isinstance(segment, StringSegmentValue):
            found[segment.path].append(segment)
    if source_segments is None:
        source_segments = translation_source_segments(translation.source)
    expected: dict[str, list[StringSegment]] = defaultdict(list)
    for segment in source_segments:
        expected[segment.context.path].append(segment)
    locale_id = translation.target_locale_id
    stored = {
        (item.translation_of_id, item.context_id): item
        for item in StringTranslation.objects.filter(
            locale_id=locale_id, context_id__in={segment.context_id for segment in source_segments}
        )
    }
    now = timezone.now()
    new: list[StringTranslation] = []
    stale: list[int] = []
    imported = unmatched = 0
    for path, segments in expected.items():
        candidates = found.get(path, [])
        if len(candidates) != len(segments):
            unmatched += len(segments)
            # What an earlier version of the page said there no longer is what the page says.
            stale.extend(stored[key].pk for key in ((s.string_id, s.context_id) for s in segments) if key in stored)
            continue
        for segment, candidate in zip(segments, candidates, strict=True):
            imported += 1
            data = candidate.string.data
            existing = stored.get((segment.string_id, segment.context_id))
            if existing is None:
                new.append(
                    StringTranslation(
                        translation_of_id=segment.string_id,
                        locale_id=locale_id,
                        context_id=segment.context_id,
                        data=data,
                        translation_type=StringTranslation.TRANSLATION_TYPE_MANUAL,
                        tool_name=CONTENT_FILES_TOOL,
                        has_error=not _is_valid_translation(segment.string.data, data),
                    )
                )
            elif existing.data != data:
                # save() checks the text the way the translation editor does.
                existing.data, existing.tool_name, existing.has_error, existing.field_error = (
                    data,
                    CONTENT_FILES_TOOL,
                    False,
                    "",
                )
                existing.translation_type = StringTranslation.TRANSLATION_TYPE_MANUAL
                existing.save()
    # Many strings per page and language: one insert (StringTranslation.save()'s checks are made above).
    StringTranslation.objects.bulk_create(new)
    StringTranslation.objects.filter(pk__in=stale).delete()
    translation.translations_last_updated_at = now
    translation.destination_last_updated_at = now
    translation.save(update_fields=["translations_last_updated_at", "destination_last_updated_at"])
    return imported, unmatched


def translation_source_segments(source: TranslationSource) -> list[StringSegment]:
    return list(StringSegment.objects.filter(source=source).select_related("context", "string").order_by("order"))


def _is_valid_translation(source_data: str, data: str) -> bool:
    """What StringTranslation.save() checks: well-formed segment HTML whose links exist in the source."""
    try:
        StringValue.from_translated_html(data)
        validate_translation_links(source_data, data)
    except ValueError:
        return False
    return True


def _with_source_block_ids(source_page: Page, target_page: Page) -> Page:
    """An unsaved copy of ``target_page`` whose StreamField blocks carry the ids of the source page's
    blocks they translate, so that segment paths (which name block ids) match the source's."""
    aligned = copy.copy(target_page)
    for field in target_page._meta.get_fields():
        if field.__class__.__name__ != "StreamField":
            continue
        source_raw = getattr(source_page, field.name).get_prep_value()
        target_raw = copy.deepcopy(getattr(target_page, field.name).get_prep_value())
        _align_blocks(source_raw, target_raw)
        setattr(aligned, field.name, target_raw)
    return aligned


def stream_with_block_ids_of(reference: list[dict[str, Any]], stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of raw StreamField data ``stream`` whose blocks take the ids of their counterparts in
    ``reference`` (paired by block type in order).

    Segment paths name block ids: a page rebuilt with the ids it had keeps its translations, and a
    translated page with its source's ids lines up with it, as wagtail-localize's own translations do.
    """
    aligned = copy.deepcopy(stream)
    _align_blocks(reference, aligned)
    return aligned


def _is_block(value: Any) -> bool:
    return isinstance(value, dict) and "type" in value and "value" in value


def _align_blocks(source: Any, target: Any) -> None:
    """Give the blocks of ``target`` (raw StreamField data) the ids of their counterparts in ``source``,
    in place: streams and lists are paired by block type in order, structs by child name."""
    if isinstance(source, list) and isinstance(target, list):
        source_blocks = [item for item in source if _is_block(item)]
        target_blocks = [item for item in target if _is_block(item)]
        matcher = difflib.SequenceMatcher(
            None, [block["type"] for block in source_blocks], [block["type"] for block in target_blocks], autojunk=False
        )
        for match in matcher.get_matching_blocks():
            for offset in range(match.size):
                source_block, target_block = source_blocks[match.a + offset], target_blocks[match.b + offset]
                if "id" in source_block:
                    target_block["id"] = source_block["id"]
                _align_blocks(source_block["value"], target_block["value"])
    elif isinstance(source, dict) and isinstance(target, dict):
        for name in source.keys() & target.keys():
            _align_blocks(source[name], target[name])
