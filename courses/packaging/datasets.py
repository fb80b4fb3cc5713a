"""Datasets in course packages: the only module that knows how a deployment stores them.

The manifest's `datasets` section and the files under `datasets/<slug>/` are part of format
version 1 from the start. The Dataset model arrives separately; until then `dataset_model()`
returns None, exports carry no datasets, and an import of a package that has some is refused
(its exercises would fail without their data). Wiring the model means adjusting the three
functions below to its field names; nothing else in courses/packaging changes.

Assumed shape (to be checked against the model when it lands): `Dataset` in the courses app
with `slug`, `title`, `file` (a FileField), `source` and `licence`, and exercises reaching their
datasets through `exercise.datasets` (a many-to-many relation).
"""

from __future__ import annotations

import posixpath
from typing import Any

from django.apps import apps
from django.core.files.base import ContentFile
from django.db import models
from django.utils.translation import gettext as _

from courses.models import Exercise
from courses.packaging.archive import CoursePackage, PackageError


def dataset_model() -> type[models.Model] | None:
    try:
        return apps.get_model("courses", "Dataset")
    except LookupError:
        return None


def datasets_export(
    *, exercises: list[Exercise]
) -> tuple[list[dict[str, Any]], dict[str, bytes], dict[str, list[str]]]:
    """The manifest entries, the files and, per exercise slug, the dataset slugs it uses."""
    if dataset_model() is None:
        return [], {}, {}
    entries: dict[str, dict[str, Any]] = {}
    files: dict[str, bytes] = {}
    used: dict[str, list[str]] = {}
    for exercise in exercises:
        datasets = sorted(exercise.datasets.all(), key=lambda dataset: dataset.slug)  # type: ignore[attr-defined]
        used[exercise.slug] = [dataset.slug for dataset in datasets]
        for dataset in datasets:
            if dataset.slug in entries:
                continue
            name = f"datasets/{dataset.slug}/{posixpath.basename(dataset.file.name)}"
            with dataset.file.open("rb") as handle:
                files[name] = handle.read()
            entries[dataset.slug] = {
                "slug": dataset.slug,
                "title": dataset.title,
                "file": name,
                "source": dataset.source,
                "licence": dataset.licence,
            }
    return [entries[slug] for slug in sorted(entries)], files, used


def datasets_import(*, package: CoursePackage, exercises: dict[str, Exercise]) -> list[tuple[Any, str]]:
    """Create the package's datasets and attach them to their exercises; the (storage, name) of each stored file."""
    if not package.datasets:
        return []
    Dataset = dataset_model()
    if Dataset is None:
        first = next(iter(package.datasets.values()))
        raise PackageError(
            _("%(file)s: this site cannot store datasets yet, and the package's exercises need them")
            % {"file": first["file"]}
        )
    stored: list[tuple[Any, str]] = []
    by_slug = {}
    for slug, entry in sorted(package.datasets.items()):
        if Dataset.objects.filter(slug=slug).exists():
            raise PackageError(
                _("%(file)s: a dataset %(slug)r already exists on this site") % {"file": entry["file"], "slug": slug}
            )
        dataset = Dataset(
            slug=slug,
            title=entry.get("title") or slug,
            source=entry.get("source", ""),
            licence=entry.get("licence", ""),
        )
        dataset.file.save(posixpath.basename(entry["file"]), ContentFile(package.files[entry["file"]]), save=False)
        stored.append((dataset.file.storage, dataset.file.name))
        dataset.save()
        by_slug[slug] = dataset
    for exercise_slug, (entry, *_rest) in package.exercises.items():
        for slug in entry.get("datasets") or []:
            exercises[exercise_slug].datasets.add(by_slug[slug])  # type: ignore[attr-defined]
    return stored
