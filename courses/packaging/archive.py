"""The package format: writing a deterministic zip, and reading one that may be hostile.

`read_package` checks everything that can be checked without the database (zip structure, sizes,
paths, checksums, JSON shape, notebooks, references between files) and returns a `CoursePackage`;
whatever it refuses is refused with a message that names the file. Nothing here writes anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
import stat
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from wagtail.fields import StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import Page
from wagtail.snippets.blocks import SnippetChooserBlock

from courses.blocks import LessonStreamBlock
from courses.models import CoursePage, LessonPage, Licence, ModulePage

FORMAT_NAME = "opencapacity-course-package"
#: The version exports write. Version 2 added exercise texts; a site reads every version up to its own.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"

#: A zip's entries all carry this timestamp (the earliest a zip can hold), so exporting the same
#: course twice gives the same bytes.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# Limits against hostile packages. A real course (six languages, a dozen notebooks, images and
# a few datasets) is a few megabytes; these leave room for large datasets.
MAX_PACKAGE_BYTES = 256 * 1024 * 1024
MAX_FILES = 2000
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Deflate rarely shrinks real files more than ~20 times; a zip bomb shrinks them a thousand times.
MAX_COMPRESSION_RATIO = 100
#: Small files may compress well (a JSON file of repeated keys); the ratio is checked above this size.
RATIO_CHECK_MIN_BYTES = 1024 * 1024

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$")

#: The page types a package holds, in the order they nest (a course's tree).
PAGE_MODELS: dict[str, type[Page]] = {
    "courses.coursepage": CoursePage,
    "courses.modulepage": ModulePage,
    "courses.lessonpage": LessonPage,
}
PARENT_TYPE = {"courses.modulepage": "courses.coursepage", "courses.lessonpage": "courses.modulepage"}
#: Page fields every page type shares; the type's own fields are added by page_field_names.
COMMON_PAGE_FIELDS = ("title", "slug", "seo_title", "search_description")
#: Fields that describe one deployment's state, not the course.
LOCAL_FIELDS = {"page_ptr", "content_source_hash"}


class PackageError(Exception):
    """A package that cannot be exported or imported; the message names the file and what is wrong."""


def page_field_names(model: type[Page]) -> list[str]:
    own = [
        model_field.name
        for model_field in model._meta.local_concrete_fields
        if model_field.name not in LOCAL_FIELDS and not model_field.is_relation
    ]
    return [*COMMON_PAGE_FIELDS, *own]


def stream_field_names(model: type[Page]) -> list[str]:
    return [f.name for f in model._meta.local_concrete_fields if isinstance(f, StreamField)]


def stream_references() -> dict[str, dict[str, str]]:
    """For each lesson block type, its child fields that point at an image or an exercise.

    Only top-level blocks are scanned: LessonStreamBlock nests no chooser deeper than that.
    """
    found: dict[str, dict[str, str]] = {}
    for name, block in LessonStreamBlock().child_blocks.items():
        for child_name, child in getattr(block, "child_blocks", {}).items():
            if isinstance(child, ImageChooserBlock):
                found.setdefault(name, {})[child_name] = "image"
            elif isinstance(child, SnippetChooserBlock):
                found.setdefault(name, {})[child_name] = "exercise"
    return found


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_bytes(value: Any) -> bytes:
    """JSON as packages store it: sorted keys, UTF-8, one trailing newline (stable, readable diffs)."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def write_zip(files: dict[str, bytes]) -> bytes:
    """A zip of `files`, byte-identical for identical input: sorted names, fixed times and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode below means a regular file
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


# -- reading -----------------------------------------------------------------------------------


@dataclass
class PageEntry:
    locale: str
    index: int
    key: str
    type: str
    parent: str | None
    slug: str
    alias_of: str | None
    live: bool
    fields: dict[str, Any]

    @property
    def depth(self) -> int:
        return list(PAGE_MODELS).index(self.type)

    @property
    def label(self) -> str:
        return f"pages/{self.locale}.json: page {self.index + 1} ({self.slug})"


@dataclass
class CoursePackage:
    manifest: dict[str, Any]
    files: dict[str, bytes]
    pages: dict[str, list[PageEntry]]
    #: Exercise slug -> (manifest entry, notebook JSON, format, max score).
    exercises: dict[str, tuple[dict[str, Any], dict[str, Any], str, float]] = field(default_factory=dict)
    #: Exercise slug -> its texts file: translation key, source language, title and text cells per language.
    exercise_texts: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def course(self) -> dict[str, Any]:
        return self.manifest["course"]

    @property
    def source_locale(self) -> str:
        return str(self.course["source_locale"])


def _fail(where: str, message: str) -> PackageError:
    return PackageError(f"{where}: {message}")


def _safe_name(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts) or ":" in parts[0]:
        return False
    return posixpath.normpath(name.rstrip("/")) == name.rstrip("/")


def _open_zip(data: bytes) -> dict[str, bytes]:
    """Every regular file of the zip, after the structural checks (paths, links, sizes, bombs)."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageError(
            _("The package is %(size)d MiB; the limit is %(limit)d MiB.")
            % {"size": len(data) // 2**20, "limit": MAX_PACKAGE_BYTES // 2**20}
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise PackageError(_("The file is not a zip archive (%(error)s).") % {"error": error}) from error
    if len(infos) > MAX_FILES:
        raise PackageError(
            _("The package has %(count)d files; the limit is %(limit)d.") % {"count": len(infos), "limit": MAX_FILES}
        )
    total = 0
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if not _safe_name(name):
            raise _fail(name, _("unsafe path (absolute, outside the package or not normalised)"))
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _fail(name, _("symbolic links are not allowed in a package"))
        if name in seen:
            raise _fail(name, _("appears twice in the zip"))
        seen.add(name)
        if info.flag_bits & 0x1:
            raise _fail(name, _("encrypted entries are not allowed"))
        total += info.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise _fail(
                name,
                _("the package unpacks to more than %(limit)d MiB") % {"limit": MAX_UNCOMPRESSED_BYTES // 2**20},
            )
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise _fail(
                name,
                _("compressed more than %(ratio)d times: refused as a zip bomb") % {"ratio": MAX_COMPRESSION_RATIO},
            )
    files: dict[str, bytes] = {}
    for info in infos:
        if info.is_dir():
            continue
        try:
            with archive.open(info) as handle:
                # Never trust the sizes in the zip's headers: read at most one byte more than declared.
                content = handle.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
            raise _fail(info.filename, _("cannot be read (%(error)s)") % {"error": error}) from error
        if len(content) != info.file_size:
            raise _fail(info.filename, _("its size does not match the zip's header"))
        files[info.filename] = content
    return files


def _load_json(files: dict[str, bytes], name: str) -> Any:
    if name not in files:
        raise _fail(name, _("missing from the package"))
    if len(files[name]) > MAX_JSON_BYTES:
        raise _fail(name, _("larger than %(limit)d MiB") % {"limit": MAX_JSON_BYTES // 2**20})
    try:
        return json.loads(files[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(name, _("not valid JSON (%(error)s)") % {"error": error}) from error


def _require(mapping: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(mapping, dict):
        raise _fail(where, _("expected a JSON object"))
    value = mapping.get(key)
    # bool is an int in Python; a JSON true is never a number here.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _fail(where, _("%(key)s is missing or has the wrong type") % {"key": key})
    return value


def _require_key(value: Any, where: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError as error:
        raise _fail(where, _("%(value)r is not a translation key (a UUID)") % {"value": value}) from error


def read_package(data: bytes) -> CoursePackage:
    """Open and check a package; PackageError names the first file that is wrong."""
    files = _open_zip(data)
    manifest = _load_json(files, MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise _fail(MANIFEST, _("not an OpenCapacity course package"))
    version = manifest.get("format_version")
    # type(): a JSON true is a Python 1.
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise _fail(
            MANIFEST,
            _("unknown package version %(version)r; this site reads versions 1 to %(supported)d")
            % {"version": version, "supported": FORMAT_VERSION},
        )

    checksums = _require(manifest, "files", dict, MANIFEST)
    listed, present = set(checksums), set(files) - {MANIFEST}
    for name in sorted(listed - present):
        raise _fail(name, _("listed in the manifest but missing from the package"))
    for name in sorted(present - listed):
        raise _fail(name, _("in the package but not listed in the manifest"))
    for name in sorted(listed):
        if sha256(files[name]) != checksums[name]:
            raise _fail(name, _("its sha256 does not match the manifest: the file was changed or damaged"))

    course = _require(manifest, "course", dict, MANIFEST)
    slug = _require(course, "slug", str, MANIFEST)
    if not SLUG.match(slug):
        raise _fail(MANIFEST, _("course slug %(slug)r is not a slug") % {"slug": slug})
    course_key = _require_key(_require(course, "translation_key", str, MANIFEST), MANIFEST)
    if course.get("licence") not in Licence.values:
        raise _fail(
            MANIFEST,
            _("unknown licence %(licence)r; use one of %(choices)s")
            % {"licence": course.get("licence"), "choices": ", ".join(Licence.values)},
        )
    site_languages = [code for code, _name in settings.LANGUAGES]
    page_files = _require(manifest, "pages", dict, MANIFEST)
    for code in page_files:
        if code not in site_languages:
            raise _fail(
                str(page_files[code]),
                _("pages in %(code)r, a language this site does not offer (%(languages)s)")
                % {"code": code, "languages": ", ".join(site_languages)},
            )
    source_locale = _require(course, "source_locale", str, MANIFEST)
    if source_locale not in page_files:
        raise _fail(MANIFEST, _("the source language %(code)r has no pages") % {"code": source_locale})

    package = CoursePackage(manifest=manifest, files=files, pages={})
    referenced = {MANIFEST}
    _read_exercises(package, referenced)
    _read_images(package, referenced)
    _read_datasets(package, referenced)
    for code in sorted(page_files):
        name = page_files[code]
        if name != f"pages/{code}.json":
            raise _fail(MANIFEST, _("the pages of %(code)r must be in pages/%(code)s.json") % {"code": code})
        referenced.add(name)
        package.pages[code] = _read_pages(package, code, _load_json(files, name))
    types: dict[str, str] = {}
    for code, entries in package.pages.items():
        for entry in entries:
            # A page and its translations are the same kind of page in every language.
            if types.setdefault(entry.key, entry.type) != entry.type:
                raise _fail(
                    entry.label,
                    _("a %(type)s here but a %(other)s in another language")
                    % {"type": entry.type, "other": types[entry.key]},
                )
        if not entries or entries[0].key != course_key or entries[0].type != "courses.coursepage":
            raise _fail(f"pages/{code}.json", _("the first page must be the course (%(key)s)") % {"key": course_key})
        for entry in entries:
            if entry.alias_of is not None:
                original = next((e for e in package.pages.get(entry.alias_of, []) if e.key == entry.key), None)
                if original is None or original.alias_of is not None:
                    raise _fail(
                        entry.label,
                        _("an alias of a page that is not in pages/%(code)s.json") % {"code": entry.alias_of},
                    )
    for name in sorted(set(files) - referenced):
        raise _fail(name, _("not referenced by the manifest"))
    return package


def _read_exercises(package: CoursePackage, referenced: set[str]) -> None:
    from courses.exercises import parse_instructor_notebook

    for position, entry in enumerate(_require(package.manifest, "exercises", list, MANIFEST)):
        where = f"{MANIFEST}: exercises[{position}]"
        slug = _require(entry, "slug", str, where)
        if not SLUG.match(slug) or slug in package.exercises:
            raise _fail(where, _("exercise slug %(slug)r is not a slug or appears twice") % {"slug": slug})
        _require(entry, "title", str, where)
        name = _require(entry, "notebook", str, where)
        if name not in package.files or not name.startswith("exercises/"):
            raise _fail(name, _("the notebook of exercise %(slug)s is missing") % {"slug": slug})
        referenced.add(name)
        try:
            notebook, fmt, parsed = parse_instructor_notebook(package.files[name], str(entry.get("format") or "auto"))
        except ValidationError as error:
            # The engine's messages name the cell ("cell 3: ...").
            raise _fail(name, " ".join(error.messages)) from error
        if not parsed.tests:
            raise _fail(name, _("the notebook has no autograded test"))
        datasets = entry.get("datasets") or []
        if not isinstance(datasets, list) or not all(isinstance(dataset, str) for dataset in datasets):
            raise _fail(where, _("datasets must be a list of dataset ids"))
        package.exercises[slug] = (entry, notebook, fmt, float(parsed.max_score))
        texts_name = entry.get("texts")
        if texts_name is not None:  # from format version 2
            if texts_name != f"exercises/{slug}.texts.json":
                raise _fail(
                    where, _("the texts of exercise %(slug)s must be in exercises/%(slug)s.texts.json") % {"slug": slug}
                )
            referenced.add(texts_name)
            package.exercise_texts[slug] = _read_exercise_texts(package.files, texts_name)


def _read_exercise_texts(files: dict[str, bytes], name: str) -> dict[str, Any]:
    data = _load_json(files, name)
    _require_key(_require(data, "translation_key", str, name), name)
    texts = _require(data, "texts", dict, name)
    source_locale = _require(data, "source_locale", str, name)
    if source_locale not in texts:
        raise _fail(name, _("the source language %(code)r has no texts") % {"code": source_locale})
    site_languages = [code for code, _name in settings.LANGUAGES]
    for code, text in texts.items():
        if code not in site_languages:
            raise _fail(
                name,
                _("texts in %(code)r, a language this site does not offer (%(languages)s)")
                % {"code": code, "languages": ", ".join(site_languages)},
            )
        where = f"{name}: {code}"
        _require(text, "title", str, where)
        for position, cell in enumerate(_require(text, "cells", list, where)):
            _require(cell, "id", str, f"{where}: cells[{position}]")
            _require(cell, "value", str, f"{where}: cells[{position}]")
    return data


def _read_images(package: CoursePackage, referenced: set[str]) -> None:
    from PIL import Image as PillowImage

    for position, entry in enumerate(_require(package.manifest, "images", list, MANIFEST)):
        where = f"{MANIFEST}: images[{position}]"
        name = _require(entry, "file", str, where)
        _require(entry, "title", str, where)
        if not name.startswith("images/") or not name.lower().endswith(IMAGE_EXTENSIONS) or name in package.images:
            raise _fail(name, _("images are .png, .jpg, .gif or .webp files under images/, each listed once"))
        if name not in package.files:
            raise _fail(name, _("listed as an image but missing from the package"))
        try:
            with PillowImage.open(io.BytesIO(package.files[name])) as image:
                width, height = image.size
                image.verify()
        except Exception as error:
            raise _fail(name, _("not a readable image (%(error)s)") % {"error": error}) from error
        # Wagtail's own limit for uploads: decoding a larger image for a rendition could exhaust memory.
        max_pixels = getattr(settings, "WAGTAILIMAGES_MAX_IMAGE_PIXELS", 128_000_000)
        if width * height > max_pixels:
            raise _fail(
                name,
                _("%(width)d×%(height)d pixels is more than this site accepts") % {"width": width, "height": height},
            )
        referenced.add(name)
        package.images[name] = entry


def _read_datasets(package: CoursePackage, referenced: set[str]) -> None:
    used = {dataset for entry, *_rest in package.exercises.values() for dataset in entry.get("datasets") or []}
    for position, entry in enumerate(_require(package.manifest, "datasets", list, MANIFEST)):
        where = f"{MANIFEST}: datasets[{position}]"
        dataset_id = _require(entry, "id", str, where)
        if not SLUG.match(dataset_id) or dataset_id in package.datasets:
            raise _fail(where, _("dataset id %(id)r is not a slug or appears twice") % {"id": dataset_id})
        file_name = _require(entry, "file_name", str, where)
        name = _require(entry, "file", str, where)
        if name != f"datasets/{dataset_id}/{file_name}" or name not in package.files:
            raise _fail(
                name,
                _("the file of dataset %(id)s is missing (expected datasets/%(id)s/<file name>)") % {"id": dataset_id},
            )
        for key in ("source", "licence"):
            _require(entry, key, str, where)
        if dataset_id not in used:
            raise _fail(name, _("no exercise of the package reads this dataset"))
        referenced.add(name)
        package.datasets[dataset_id] = entry
    for dataset_id in sorted(used - set(package.datasets)):
        raise _fail(MANIFEST, _("an exercise uses dataset %(id)r, which is not in the package") % {"id": dataset_id})


def _read_pages(package: CoursePackage, code: str, pages: Any) -> list[PageEntry]:
    where = f"pages/{code}.json"
    if not isinstance(pages, list):
        raise _fail(where, _("expected a list of pages"))
    entries: list[PageEntry] = []
    types_by_key: dict[str, str] = {}
    references = stream_references()
    for index, raw in enumerate(pages):
        label = f"{where}: page {index + 1}"
        page_type = _require(raw, "type", str, label)
        if page_type not in PAGE_MODELS:
            raise _fail(label, _("unknown page type %(type)r") % {"type": page_type})
        key = _require_key(raw.get("key"), label)
        slug = _require(raw, "slug", str, label)
        if not SLUG.match(slug):
            raise _fail(label, _("%(slug)r is not a slug") % {"slug": slug})
        label = f"{label} ({slug})"
        parent = raw.get("parent")
        if index == 0:
            if parent is not None:
                raise _fail(label, _("the course page has no parent in the package"))
        elif types_by_key.get(str(parent)) != PARENT_TYPE.get(page_type):
            raise _fail(
                label, _("its parent must be an earlier page of type %(type)s") % {"type": PARENT_TYPE.get(page_type)}
            )
        if key in types_by_key:
            raise _fail(label, _("translation key %(key)s appears twice") % {"key": key})
        types_by_key[key] = page_type
        alias_of = raw.get("alias_of")
        if alias_of is not None and (
            alias_of == code or alias_of not in _require(package.manifest, "pages", dict, MANIFEST)
        ):
            raise _fail(label, _("alias_of must name another language of the package"))
        fields = raw.get("fields") or {}
        if not isinstance(fields, dict):
            raise _fail(label, _("fields must be a JSON object"))
        if alias_of is None:
            known = page_field_names(PAGE_MODELS[page_type])
            for name in fields:
                if name not in known:
                    raise _fail(label, _("unknown field %(field)r for %(type)s") % {"field": name, "type": page_type})
            if not isinstance(fields.get("title"), str) or not fields["title"].strip():
                raise _fail(label, _("the page has no title"))
            for stream_name in stream_field_names(PAGE_MODELS[page_type]):
                _check_stream(package, f"{label}: {stream_name}", fields.get(stream_name) or [], references)
        entries.append(
            PageEntry(
                locale=code,
                index=index,
                key=key,
                type=page_type,
                parent=str(parent) if parent is not None else None,
                slug=slug,
                alias_of=alias_of,
                live=bool(raw.get("live", True)),
                fields=fields,
            )
        )
    return entries


def _check_stream(package: CoursePackage, label: str, stream: Any, references: dict[str, dict[str, str]]) -> None:
    if not isinstance(stream, list):
        raise _fail(label, _("expected a list of blocks"))
    for position, block in enumerate(stream):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _fail(label, _("block %(n)d is not a block") % {"n": position + 1})
        for child, kind in references.get(block["type"], {}).items():
            value = block.get("value", {}).get(child) if isinstance(block.get("value"), dict) else None
            known = package.exercises if kind == "exercise" else package.images
            if value not in known:
                raise _fail(
                    label,
                    _("block %(n)d refers to %(kind)s %(ref)r, which is not in the package")
                    % {"n": position + 1, "kind": kind, "ref": value},
                )
