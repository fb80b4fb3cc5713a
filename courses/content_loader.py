"""Build or update the Wagtail page tree from the files in content/, idempotently.

Every page built from a file remembers a hash of what it was built from (content_source_hash). A
page is saved and published only when that hash changes, so loading twice changes nothing and
editing one file changes one page. A language with no file for a page gets an alias of the
source-language page, which the page templates mark as not translated yet.

After each course is built, its pages are registered with wagtail-localize (courses/translation.py),
so the translations made as files can be completed, updated and checked in the admin.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.images import ImageFile
from django.db import transaction
from wagtail.images import get_image_model
from wagtail.models import Collection, Locale, Page, Site

from courses.content_format import (
    ContentError,
    ExerciseRef,
    ImageRef,
    QuizRef,
    load_yaml,
    markdown_to_html,
    parse_lesson,
)
from courses.models import CatalogPage, CoursePage, Exercise, LessonPage, Level, ModulePage, Topic
from courses.translation import course_translations_sync, pages_translations_sync, stream_with_block_ids_of

logger = logging.getLogger(__name__)

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
# Part of every lesson's hash: a change in how lessons are stored rebuilds them once on the next load.
# 2: exercise hints stored as ListBlock items with ids (translatable in wagtail-localize).
LESSON_STORAGE_VERSION = 2


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    aliased: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.aliased)


def _hash(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def _hint_items(ref: ExerciseRef) -> list[dict[str, Any]]:
    """An exercise block's hints in Wagtail's ListBlock storage format, with ids: wagtail-localize offers
    list items for translation only in this format. The ids derive from the notebook and the position,
    so each hint has the same id in every language, as a translation made in the admin would."""
    return [
        {"type": "item", "value": hint, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"hint:{ref.notebook.name}:{n}"))}
        for n, hint in enumerate(ref.hints)
    ]


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ContentLoader:
    def __init__(self, content_dir: Path) -> None:
        self.content_dir = content_dir
        self.report = LoadReport()
        self.locales = {code: Locale.objects.get_or_create(language_code=code)[0] for code in LANGUAGE_CODES}
        self._quiz_ids: dict[str, str] = {}
        #: Exercises imported in this run, by notebook path: every language refers to the same one.
        self.exercises: dict[Path, Exercise] = {}
        #: Pages saved in this run: their wagtail-localize records are refreshed from them.
        self.changed_page_ids: set[int] = set()

    # -- pages -------------------------------------------------------------------------------

    def _publish(self, page: Page, label: str, created: bool) -> None:
        page.save_revision().publish()
        self.changed_page_ids.add(page.pk)
        (self.report.created if created else self.report.updated).append(label)

    def _upsert_child(
        self, parent: Page, model: type[Page], slug: str, fields: dict[str, Any], source_hash: str, label: str
    ) -> Page:
        """The source-language page `slug` under `parent`, created or updated to `fields`."""
        page = model.objects.child_of(parent).filter(slug=slug).first()
        if page is not None and page.content_source_hash == source_hash:
            self.report.unchanged += 1
            return page
        created = page is None
        if page is None:
            page = model(slug=slug, locale=parent.locale, **fields)
            page.content_source_hash = source_hash
            parent.add_child(instance=page)
        else:
            fields = self._with_block_ids_of(page, fields)
            for name, value in fields.items():
                setattr(page, name, value)
            page.content_source_hash = source_hash
        self._publish(page, label, created)
        return page

    def _upsert_translation(
        self, source: Page, code: str, fields: dict[str, Any] | None, source_hash: str, label: str
    ) -> None:
        """The `code` version of `source`: a translation when `fields` is given, else an alias."""
        locale = self.locales[code]
        existing = source.get_translation_or_none(locale)
        if fields is None:
            if existing is None:
                source.copy_for_translation(locale, copy_parents=True, alias=True)
                self.report.aliased.append(label)
            else:
                self.report.unchanged += 1
            return
        if existing is not None:
            existing = existing.specific
            if existing.alias_of_id is None and existing.content_source_hash == source_hash:
                self.report.unchanged += 1
                return
        created = existing is None
        fields = self._with_block_ids_of(source, fields)
        page = existing or source.copy_for_translation(locale, copy_parents=True)
        # An alias becomes a page of its own the first time its translation arrives.
        page.alias_of = None
        for name, value in fields.items():
            setattr(page, name, value)
        page.content_source_hash = source_hash
        self._publish(page, label, created)

    @staticmethod
    def _with_block_ids_of(page: Page, fields: dict[str, Any]) -> dict[str, Any]:
        """`fields` with the lesson body's blocks keeping the ids of `page`'s blocks (as stored), so the
        translations wagtail-localize keeps per block survive a reload, and match across languages."""
        if "body" not in fields:
            return fields
        stored = type(page).objects.get(pk=page.pk).body.get_prep_value()
        return {**fields, "body": stream_with_block_ids_of(stored, fields["body"])}

    # -- the tree ----------------------------------------------------------------------------

    def load(self) -> LoadReport:
        site_file = self.content_dir / "site.yaml"
        site = load_yaml(site_file) if site_file.exists() else {}
        catalog = self._load_catalog(site.get("catalog", {}))
        courses_dir = self.content_dir / "courses"
        for course_dir in (
            sorted(path for path in courses_dir.iterdir() if path.is_dir()) if courses_dir.exists() else []
        ):
            with transaction.atomic():
                course = self._load_course(course_dir, catalog)
                course_translations_sync(course=course, changed_page_ids=self.changed_page_ids)
        return self.report

    def _load_catalog(self, texts: dict[str, Any]) -> CatalogPage:
        source_code = settings.LANGUAGE_CODE
        en = texts.get(source_code, {"title": "Courses", "intro": ""})
        # Wagtail's migrations create the tree's root; a flushed database (tests) has none.
        root = Page.get_first_root_node() or Page.add_root(
            instance=Page(title="Root", slug="root", locale=self.locales[source_code])
        )
        catalog = CatalogPage.objects.filter(locale=self.locales[source_code], depth=2).first()
        fields = {"title": en["title"], "intro": markdown_to_html(en.get("intro", ""))}
        source_hash = _hash(fields)
        if catalog is None:
            catalog = CatalogPage(
                slug="courses", locale=self.locales[source_code], content_source_hash=source_hash, **fields
            )
            root.add_child(instance=catalog)
            self._publish(catalog, "catalog", created=True)
        elif catalog.content_source_hash != source_hash:
            for name, value in fields.items():
                setattr(catalog, name, value)
            catalog.content_source_hash = source_hash
            self._publish(catalog, "catalog", created=False)
        self._point_site_at(catalog)
        for code in LANGUAGE_CODES:
            if code == source_code:
                continue
            text = texts.get(code)
            fields = {"title": text["title"], "intro": markdown_to_html(text.get("intro", ""))} if text else None
            self._upsert_translation(catalog, code, fields, _hash(fields), f"catalog [{code}]")
        pages_translations_sync(pages=[catalog], changed_page_ids=self.changed_page_ids)
        return catalog

    @staticmethod
    def _point_site_at(catalog: CatalogPage) -> None:
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(
                hostname="localhost", port=80, root_page=catalog, is_default_site=True, site_name="OpenCapacity"
            )
            return
        if site.root_page_id != catalog.pk:
            old_root = site.root_page
            site.root_page = catalog
            site.site_name = "OpenCapacity"
            site.save(update_fields=["root_page", "site_name"])
            # Wagtail's placeholder welcome page has no use once the catalog is the home page.
            if old_root.content_type.model == "page" and old_root.depth == 2 and not old_root.get_children().exists():
                old_root.delete()

    def _load_course(self, course_dir: Path, catalog: CatalogPage) -> CoursePage:
        spec = load_yaml(course_dir / "course.yaml")
        slug = spec.get("slug") or course_dir.name
        source_code = spec.get("source_language", settings.LANGUAGE_CODE)
        translations = spec.get("translations") or {}
        if source_code not in translations:
            raise ContentError(f"{course_dir / 'course.yaml'}: no translation for the source language {source_code}")
        for code in translations:
            if code not in LANGUAGE_CODES:
                raise ContentError(
                    f"{course_dir / 'course.yaml'}: unknown language {code!r}; use one of {LANGUAGE_CODES}"
                )
        topic, level = spec.get("topic", Topic.AI_FOUNDATIONS), spec.get("level", Level.BEGINNER)
        if topic not in Topic.values:
            raise ContentError(f"{course_dir / 'course.yaml'}: unknown topic {topic!r}; use one of {Topic.values}")
        if level not in Level.values:
            raise ContentError(f"{course_dir / 'course.yaml'}: unknown level {level!r}; use one of {Level.values}")
        shared = {
            "topic": topic,
            "level": level,
            "duration_hours": int(spec.get("duration_hours", 1)),
            **self._completion_fields(course_dir / "course.yaml", spec.get("completion")),
        }
        # Quiz ids are unique within a course: attempts are recorded against (course, quiz id).
        self._quiz_ids = {}

        def course_fields(code: str) -> dict[str, Any]:
            text = translations[code]
            objectives = "".join(f"<li>{item}</li>" for item in text.get("objectives", []))
            return {
                "title": text["title"],
                "summary": text.get("summary", ""),
                "objectives": f"<ul>{objectives}</ul>" if objectives else "",
                **shared,
            }

        source_catalog = (
            catalog if source_code == settings.LANGUAGE_CODE else catalog.get_translation(self.locales[source_code])
        )
        fields = course_fields(source_code)
        course = self._upsert_child(source_catalog, CoursePage, slug, fields, _hash(fields), slug)
        for code in LANGUAGE_CODES:
            if code != source_code:
                text_fields = course_fields(code) if code in translations else None
                self._upsert_translation(course, code, text_fields, _hash(text_fields), f"{slug} [{code}]")

        for module_spec in spec.get("modules") or []:
            self._load_module(course_dir, course, module_spec, source_code)
        return course

    @staticmethod
    def _completion_fields(path: Path, completion: Any) -> dict[str, Any]:
        """The `completion:` rule of course.yaml (content/README.md, "course.yaml") as CoursePage fields."""
        completion = completion or {}
        if not isinstance(completion, dict):
            raise ContentError(f"{path}: completion must be a mapping of conditions")
        keys = {
            "lessons_viewed_percent": "completion_lessons_percent",
            "exercise_points_percent": "completion_exercise_points_percent",
            "quiz_points_percent": "completion_quiz_points_percent",
        }
        for key in completion:
            if key not in keys:
                raise ContentError(f"{path}: unknown completion condition {key!r}; use {', '.join(keys)}")
        fields: dict[str, Any] = {"completion_lessons_percent": 100}
        for key, name in keys.items():
            value = completion.get(key)
            if value is None:
                fields.setdefault(name, None)
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                raise ContentError(f"{path}: completion {key} must be a whole number from 0 to 100")
            fields[name] = value
        return fields

    def _check_quizzes(self, path: Path, quizzes: list[QuizRef], source: list[QuizRef] | None) -> None:
        """Ids unique in the course; a translation has the same quizzes, sharing all but their texts."""
        if source is None:
            for quiz in quizzes:
                where = f"{path}:{quiz.line}"
                if quiz.quiz_id in self._quiz_ids:
                    raise ContentError(
                        f"{where}: quiz id {quiz.quiz_id!r} is already used in this course "
                        f"({self._quiz_ids[quiz.quiz_id]})"
                    )
                self._quiz_ids[quiz.quiz_id] = where
            return
        expected = [quiz.quiz_id for quiz in source]
        found = [quiz.quiz_id for quiz in quizzes]
        if found != expected:
            line = next((q.line for q, e in zip(quizzes, expected, strict=False) if q.quiz_id != e), 1)
            raise ContentError(
                f"{path}:{line}: the quizzes must be the same in every language, in the same order: "
                f"expected {expected}, found {found}"
            )
        for quiz, original in zip(quizzes, source, strict=True):
            for key, value in original.signature.items():
                if quiz.signature[key] != value:
                    raise ContentError(
                        f"{path}:{quiz.line}: quiz {quiz.quiz_id}: {key} differs from the source language "
                        f"({quiz.signature[key]!r} here, {value!r} there); only texts are translated"
                    )

    def _load_module(self, course_dir: Path, course: CoursePage, spec: dict[str, Any], source_code: str) -> None:
        slug = spec["slug"]
        texts = spec.get("translations") or {}
        if source_code not in texts:
            raise ContentError(f"{course_dir / 'course.yaml'}: module {slug} has no {source_code} title")

        def module_fields(code: str) -> dict[str, Any]:
            return {"title": texts[code]["title"], "summary": texts[code].get("summary", "")}

        fields = module_fields(source_code)
        module = self._upsert_child(course, ModulePage, slug, fields, _hash(fields), f"{course.slug}/{slug}")
        for code in LANGUAGE_CODES:
            if code != source_code:
                text_fields = module_fields(code) if code in texts else None
                self._upsert_translation(
                    module, code, text_fields, _hash(text_fields), f"{course.slug}/{slug} [{code}]"
                )
        for lesson_slug in spec.get("lessons") or []:
            self._load_lesson(course_dir, course_dir / slug / lesson_slug, module, source_code)

    def _load_lesson(self, course_dir: Path, lesson_dir: Path, module: ModulePage, source_code: str) -> None:
        course_slug = module.get_parent().slug
        label = f"{course_slug}/{module.slug}/{lesson_dir.name}"
        source_file = lesson_dir / f"{source_code}.md"
        if not source_file.exists():
            raise ContentError(f"{source_file}: the source-language lesson file is missing")
        fields, source_hash, source_quizzes, notebooks = self._lesson_fields(source_file, course_dir, course_slug)
        self._check_quizzes(source_file, source_quizzes, None)
        lesson = self._upsert_child(module, LessonPage, lesson_dir.name, fields, source_hash, label)
        for code in LANGUAGE_CODES:
            if code == source_code:
                continue
            path = lesson_dir / f"{code}.md"
            if path.exists():
                fields, source_hash, quizzes, translated = self._lesson_fields(path, course_dir, course_slug)
                self._check_quizzes(path, quizzes, source_quizzes)
                if translated != notebooks:
                    # Code, tests and points are shared: only the texts around them are translated.
                    raise ContentError(
                        f"{path}: its exercise blocks must import the same notebooks, in the same order, as "
                        f"{source_file.name} ({', '.join(p.name for p in notebooks) or 'none'})"
                    )
                self._upsert_translation(lesson, code, fields, source_hash, f"{label} [{code}]")
            else:
                self._upsert_translation(lesson, code, None, "", f"{label} [{code}]")

    def _lesson_fields(
        self, path: Path, course_dir: Path, course_slug: str
    ) -> tuple[dict[str, Any], str, list[QuizRef], list[Path]]:
        parsed = parse_lesson(path, course_dir)
        image_hashes = [_file_hash(ref.path) for ref in parsed.images]
        exercises = {id(ref): self._exercise(ref, course_slug) for ref in parsed.exercises}
        # The exercises' ids are part of the hash: a re-created exercise re-links the lesson.
        source_hash = _hash(
            path.read_text(encoding="utf-8"), image_hashes, [e.pk for e in exercises.values()], LESSON_STORAGE_VERSION
        )
        body = []
        for block in parsed.blocks:
            if block["type"] == "image":
                block = {"type": "image", "value": self._image_value(block["value"])}
            elif block["type"] == "exercise":
                ref = block["value"]
                value = {
                    "exercise": exercises[id(ref)].pk,
                    "title": ref.title,
                    "instructions": ref.instructions,
                    "hints": _hint_items(ref),
                }
                block = {"type": "exercise", "value": value}
            body.append(block)
        fields = {"title": parsed.title, "summary": parsed.summary, "minutes": parsed.minutes, "body": body}
        return fields, source_hash, parsed.quizzes, [ref.notebook for ref in parsed.exercises]

    def _exercise(self, ref: ExerciseRef, course_slug: str) -> Exercise:
        """The Exercise snippet for a notebook, imported once per run and only when the file changed.

        Its identity is `<course-slug>/<notebook stem>`, stored as the slug `<course-slug>--<stem>`
        (stems never contain `--`, so the two parts stay apart).
        """
        if ref.notebook in self.exercises:
            return self.exercises[ref.notebook]
        from django.core.exceptions import ValidationError

        from courses.exercises import parse_instructor_notebook

        slug = f"{course_slug}--{ref.notebook.stem}"
        label = f"exercise {course_slug}/{ref.notebook.stem}"
        raw = ref.notebook.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        exercise = Exercise.objects.filter(slug=slug).first()
        if exercise is not None and exercise.content_source_hash == digest:
            self.report.unchanged += 1
        else:
            try:
                notebook, fmt, parsed = parse_instructor_notebook(raw)
            except ValidationError as error:
                # The engine's messages name the notebook cell ("cell 3: ...").
                raise ContentError(
                    f"{ref.where}: exercise notebook {ref.notebook.name}: {' '.join(error.messages)}"
                ) from error
            if not parsed.tests:
                raise ContentError(f"{ref.where}: exercise notebook {ref.notebook.name}: it has no autograded test")
            fields = {
                "title": (parsed.title or ref.title)[:200],
                "notebook": notebook,
                "format": fmt,
                "max_score": parsed.max_score,
                "content_source_hash": digest,
            }
            created = exercise is None
            exercise = exercise or Exercise(slug=slug)
            for name, value in fields.items():
                setattr(exercise, name, value)
            exercise.save()
            # tests/content grades every content notebook in the sandbox, so the load records that
            # coverage instead of grading here, and publishes (docs/authoring.md).
            from courses.exercise_checks import exercise_check_record_covered

            exercise_check_record_covered(exercise=exercise)
            exercise.save_revision().publish()
            (self.report.created if created else self.report.updated).append(label)
        self.exercises[ref.notebook] = exercise
        return exercise

    def _image_value(self, ref: ImageRef) -> dict[str, Any]:
        Image = get_image_model()
        # Wagtail keeps a SHA-1 of every image file; the same file is imported once.
        digest = hashlib.sha1(ref.path.read_bytes()).hexdigest()  # noqa: S324 - matches Wagtail's own field
        image = Image.objects.filter(file_hash=digest).first()
        if image is None:
            if not Collection.objects.exists():  # a flushed database has no root collection either
                Collection.add_root(name="Root")
            with ref.path.open("rb") as handle:
                image = Image(title=ref.path.stem.replace("-", " "), file=ImageFile(handle, name=ref.path.name))
                # Only Wagtail's upload form fills file_hash and file_size; without them the lookup
                # above never matches and every language's lesson adds the same picture again.
                image._set_image_file_metadata()
                image.save()
        return {"image": image.pk, "alt_text": ref.alt_text, "caption": ref.caption}


def load_content(content_dir: Path) -> LoadReport:
    return ContentLoader(content_dir).load()
