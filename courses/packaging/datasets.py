"""Datasets in course packages: the only module that knows how a deployment stores them.

The manifest's `datasets` section and the files under `datasets/<id>/` are part of format
version 1. Datasets are stored by courses/datasets.py (a `courses.Dataset` model, the bytes
content-addressed, attached to exercises); this module uses only its package-facing functions:
`exercise_datasets` and `dataset_open` to export, `dataset_attach` to import (which validates
the file and reuses an identical dataset instead of duplicating it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.text import slugify

from courses.datasets import DatasetUnavailable, dataset_attach, dataset_open, exercise_datasets, stored_path
from courses.models import Exercise
from courses.packaging.archive import CoursePackage, PackageError


def datasets_export(
    *, exercises: list[Exercise]
) -> tuple[list[dict[str, Any]], dict[str, bytes], dict[str, list[str]]]:
    """The manifest entries, the files and, per exercise slug, the ids of the datasets it reads."""
    entries: dict[int, dict[str, Any]] = {}
    files: dict[str, bytes] = {}
    used: dict[str, list[str]] = {}
    ids: set[str] = set()
    for exercise in sorted(exercises, key=lambda exercise: exercise.slug):
        used[exercise.slug] = []
        for dataset in exercise_datasets(exercise):
            if dataset.pk not in entries:
                try:
                    with dataset_open(dataset) as handle:
                        content = handle.read()
                except DatasetUnavailable as error:
                    raise PackageError(str(error)) from error
                # A package-local id, stable for the same file: its name and the start of its digest.
                base = f"{slugify(Path(dataset.file_name).stem) or 'data'}-{dataset.sha256[:8]}"
                dataset_id, n = base, 1
                while dataset_id in ids:
                    n += 1
                    dataset_id = f"{base}-{n}"
                ids.add(dataset_id)
                name = f"datasets/{dataset_id}/{dataset.file_name}"
                files[name] = content
                entries[dataset.pk] = {
                    "id": dataset_id,
                    "file": name,
                    "file_name": dataset.file_name,
                    "source": dataset.source,
                    "licence": dataset.licence,
                    "description": dataset.description,
                }
            used[exercise.slug].append(entries[dataset.pk]["id"])
    return sorted(entries.values(), key=lambda entry: entry["id"]), files, used


def datasets_import(*, package: CoursePackage, exercises: dict[str, Exercise], undo: list[Callable[[], None]]) -> None:
    """Attach the package's datasets to their exercises.

    What deletes each file newly written to the store goes into `undo` before the file is written,
    so that a dataset refused part-way (too large, not UTF-8) still takes back the ones before it.
    """
    for exercise_slug, (entry, *_rest) in sorted(package.exercises.items()):
        for dataset_id in entry.get("datasets") or []:
            dataset = package.datasets[dataset_id]
            content = package.files[dataset["file"]]
            # Storage is content-addressed: a file already there belongs to other datasets too.
            path = stored_path(hashlib.sha256(content).hexdigest())
            if not path.exists():
                undo.append(lambda path=path: path.unlink(missing_ok=True))
            try:
                dataset_attach(
                    exercise=exercises[exercise_slug],
                    file_name=str(dataset.get("file_name") or ""),
                    content=content,
                    source=str(dataset.get("source") or ""),
                    licence=str(dataset.get("licence") or ""),
                    description=str(dataset.get("description") or ""),
                )
            except ValidationError as error:
                raise PackageError(f"{dataset['file']}: {' '.join(error.messages)}") from error
