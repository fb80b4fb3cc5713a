"""Exercise datasets: validation, content-addressed storage, and the directory the sandbox mounts.

Layout under ``settings.DATASETS_DIR``::

    files/ab/ab12…ef          the bytes of every dataset, named by their SHA-256, read-only
    mounts/<digest>/NAME.csv  one directory per set of (file name, content) an exercise reads:
                              hard links to files/, never changed once made; the sandbox binds
                              one of them read-only at /data (``mounts/`` is its datasets_root)
    tmp/                      uploads on their way into files/

Nothing here is served over HTTP. Writes are the ``dataset_*`` functions; reads that other parts
share (package export, the grading path) are ``exercise_datasets``, ``dataset_open`` and
``exercise_datasets_dir``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, pre_delete
from django.utils.translation import gettext as _

from courses.exercise_checks import exercises_check_after_datasets_change
from courses.models import Dataset, DatasetFormat, Exercise

EXTENSIONS = {".csv": DatasetFormat.CSV, ".parquet": DatasetFormat.PARQUET}
PARQUET_MAGIC = b"PAR1"
#: Learners type the name in code (/data/NAME), whatever their keyboard: plain ASCII only.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CHUNK = 1 << 20


class DatasetUnavailable(Exception):
    """A dataset's bytes are missing or damaged on this machine (grading cannot mount them)."""


@dataclass(frozen=True)
class InspectedFile:
    """What a valid dataset file is: its name, format, size and SHA-256."""

    file_name: str
    format: str
    size: int
    sha256: str


# -- paths ------------------------------------------------------------------------------------
def datasets_dir() -> Path:
    return Path(settings.DATASETS_DIR)


def mounts_root() -> Path:
    """The sandbox's ``datasets_root``: every directory an exercise's kernel may get at /data."""
    return datasets_dir() / "mounts"


def stored_path(sha256: str) -> Path:
    return datasets_dir() / "files" / sha256[:2] / sha256


# -- validation -------------------------------------------------------------------------------
def _chunks(content: BinaryIO) -> Iterator[bytes]:
    content.seek(0)
    while chunk := content.read(_CHUNK):
        yield chunk


def _file_name_check(file_name: str) -> str:
    """The format a file name stands for; ValidationError naming the file otherwise."""
    base = os.path.basename(file_name.replace("\\", "/"))
    extension = os.path.splitext(base)[1].lower()
    if extension not in EXTENSIONS:
        raise ValidationError(
            _("“%(name)s”: only CSV (.csv) and Parquet (.parquet) files can be attached as datasets.")
            % {"name": file_name[:200]},
            code="format",
        )
    if base != file_name or not FILE_NAME.fullmatch(file_name):
        raise ValidationError(
            _(
                "“%(name)s”: learners open a dataset as /data/<file name>, so its name may hold only "
                "letters a-z, digits, “.”, “-” and “_” (at most 100, not starting with “.”). "
                "Rename the file or enter another file name."
            )
            % {"name": file_name[:200]},
            code="file_name",
        )
    return EXTENSIONS[extension]


def _csv_check(file_name: str, content: BinaryIO) -> None:
    """UTF-8 text whose first line names the columns."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    first_line = ""
    for chunk in _chunks(content):
        if b"\0" in chunk:
            raise ValidationError(
                _("“%(name)s” is not a CSV file: it holds binary data (a NUL byte near byte %(offset)d).")
                % {"name": file_name, "offset": offset + chunk.index(b"\0")},
                code="not_text",
            )
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as error:
            raise ValidationError(
                _("“%(name)s” is not UTF-8 text (undecodable byte at position %(offset)d); save it as UTF-8 CSV.")
                % {"name": file_name, "offset": offset + error.start},
                code="not_text",
            ) from error
        if len(first_line) < 64 * 1024 and "\n" not in first_line:
            first_line += text
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise ValidationError(
            _("“%(name)s” is not UTF-8 text: it ends in the middle of a character.") % {"name": file_name},
            code="not_text",
        ) from error
    header = next(csv.reader(io.StringIO(first_line.splitlines()[0] if first_line.strip() else "")), [])
    names = [name.strip() for name in header]
    if not any(names):
        raise ValidationError(
            _("“%(name)s” has no header row: its first line must name the columns.") % {"name": file_name},
            code="no_header",
        )
    if all(_is_number(name) for name in names if name):
        raise ValidationError(
            _(
                "“%(name)s” has no header row: its first line holds only numbers (%(line)s). "
                "Add a first line that names the columns."
            )
            % {"name": file_name, "line": ",".join(names)[:80]},
            code="no_header",
        )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parquet_check(file_name: str, content: BinaryIO, size: int) -> None:
    content.seek(0)
    head = content.read(4)
    content.seek(max(0, size - 4))
    tail = content.read(4)
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        raise ValidationError(
            _("“%(name)s” is not a Parquet file: it must begin and end with the bytes PAR1.") % {"name": file_name},
            code="not_parquet",
        )


def dataset_inspect(*, file_name: str, content: BinaryIO) -> InspectedFile:
    """Check an uploaded dataset (name, size, format) without storing it.

    Raises ValidationError whose message names the file: unknown extension, a name learners
    could not type, empty or larger than ``settings.DATASET_MAX_BYTES``, a CSV that is not
    UTF-8 text or has no header row, a Parquet file without its PAR1 magic at both ends.
    """
    fmt = _file_name_check(file_name)
    digest = hashlib.sha256()
    size = 0
    limit = settings.DATASET_MAX_BYTES
    for chunk in _chunks(content):
        size += len(chunk)
        if size > limit:
            break
        digest.update(chunk)
    if size > limit:
        content.seek(0, os.SEEK_END)
        total = content.tell()
        raise ValidationError(
            _("“%(name)s” is %(size)s; a dataset may be at most %(limit)s.")
            % {"name": file_name, "size": _size_text(total), "limit": _size_text(limit)},
            code="too_large",
        )
    if size == 0:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": file_name}, code="empty")
    if fmt == DatasetFormat.CSV:
        _csv_check(file_name, content)
    else:
        _parquet_check(file_name, content, size)
    return InspectedFile(file_name=file_name, format=fmt, size=size, sha256=digest.hexdigest())


def _size_text(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB" if size >= 1024**2 else f"{size / 1024:.1f} KiB"


def file_name_conflicts_check(*, file_name: str, exercises: Iterable[Exercise], dataset: Dataset | None) -> None:
    """Two datasets of one exercise would both be /data/<file name>: refuse, naming both."""
    others = Dataset.objects.filter(file_name=file_name, exercises__in=list(exercises))
    if dataset is not None and dataset.pk is not None:
        others = others.exclude(pk=dataset.pk)
    clash = others.prefetch_related("exercises").first()
    if clash is not None:
        exercise = next(e for e in clash.exercises.all() if e in set(exercises))
        raise ValidationError(
            _("“%(name)s”: the exercise “%(exercise)s” already has a dataset with this file name.")
            % {"name": file_name, "exercise": exercise.title},
            code="duplicate",
        )


# -- writes -----------------------------------------------------------------------------------
def _store(content: BinaryIO, inspected: InspectedFile) -> None:
    """Copy the bytes into files/ under their SHA-256 (once: an identical file is already there)."""
    target = stored_path(inspected.sha256)
    if target.exists():
        return
    tmp_dir = datasets_dir() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False) as handle:
        try:
            for chunk in _chunks(content):
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
            if digest.hexdigest() != inspected.sha256:
                raise ValidationError(
                    _("“%(name)s” changed while it was being stored; upload it again.") % {"name": inspected.file_name}
                )
            os.chmod(handle.name, 0o444)
            os.replace(handle.name, target)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise


@transaction.atomic
def dataset_save(
    *,
    dataset: Dataset,
    content: BinaryIO | bytes | None = None,
    file_name: str = "",
    exercises: Iterable[Exercise] | None = None,
) -> Dataset:
    """Save ``dataset`` (its source, licence and description already set) with new ``content``
    (required for a new dataset) named ``file_name``, used by ``exercises`` (None: unchanged).

    Everything is checked before anything is written; ValidationError names the file.
    """
    for field, label in (("source", _("source")), ("licence", _("licence"))):
        if not str(getattr(dataset, field, "")).strip():
            raise ValidationError(
                _("“%(name)s”: the %(field)s is required.") % {"name": file_name or dataset.file_name, "field": label},
                code="required",
            )
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    inspected: InspectedFile | None = None
    if stream is not None:
        inspected = dataset_inspect(file_name=file_name or dataset.file_name, content=stream)
    elif dataset.pk is None:
        raise ValidationError(_("Choose a CSV or Parquet file to upload."), code="required")
    elif file_name and file_name != dataset.file_name:
        _file_name_check(file_name)
        if EXTENSIONS[os.path.splitext(file_name)[1].lower()] != dataset.format:
            raise ValidationError(
                _("“%(name)s”: a new file name must keep the format of the file (%(format)s).")
                % {"name": file_name, "format": dataset.get_format_display()},
                code="format",
            )
    name, old_name = inspected.file_name if inspected else (file_name or dataset.file_name), dataset.file_name
    users = list(exercises) if exercises is not None else (list(dataset.exercises.all()) if dataset.pk else [])
    file_name_conflicts_check(file_name=name, exercises=users, dataset=dataset)
    if inspected is not None and stream is not None:
        _store(stream, inspected)
        dataset.format, dataset.size, dataset.sha256 = inspected.format, inspected.size, inspected.sha256
    dataset.file_name = name
    dataset.save()
    if exercises is not None:
        dataset.exercises.set(users)  # links added or removed: checked again by the signal below
    if inspected is not None or name != old_name:
        # New bytes or a new name change what the exercises it serves read at /data.
        exercises_check_after_datasets_change(exercise_ids=[e.pk for e in users])
    return dataset


def dataset_create(
    *,
    file_name: str,
    content: BinaryIO | bytes,
    source: str,
    licence: str,
    description: str = "",
    exercises: Iterable[Exercise] = (),
) -> Dataset:
    dataset = Dataset(source=source.strip(), licence=licence.strip(), description=description.strip())
    return dataset_save(dataset=dataset, content=content, file_name=file_name, exercises=exercises)


@transaction.atomic
def dataset_attach(
    *,
    exercise: Exercise,
    file_name: str,
    content: BinaryIO | bytes,
    source: str,
    licence: str,
    description: str = "",
) -> Dataset:
    """Attach a dataset given as bytes and metadata to ``exercise`` (the command line, course
    packages). The same file with the same name, source and licence is reused, not duplicated,
    so importing twice changes nothing."""
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    inspected = dataset_inspect(file_name=file_name, content=stream)
    same = Dataset.objects.filter(
        sha256=inspected.sha256, file_name=file_name, source=source.strip(), licence=licence.strip()
    ).first()
    if same is None:
        return dataset_create(
            file_name=file_name,
            content=stream,
            source=source,
            licence=licence,
            description=description,
            exercises=[exercise],
        )
    if not same.exercises.filter(pk=exercise.pk).exists():
        file_name_conflicts_check(file_name=same.file_name, exercises=[exercise], dataset=same)
        same.exercises.add(exercise)
    return same


def dataset_detach(*, exercise: Exercise, dataset: Dataset) -> None:
    dataset.exercises.remove(exercise)


# -- every change of what an exercise reads at /data checks it again -----------------------------
# Signals rather than calls in the functions above: links are also changed through the admin's
# bulk delete, `exercise.datasets.add()` in a shell, and cascades. dataset_save checks again itself
# for new bytes or a new name, which change no link.


def _exercise_ids_before_delete(sender: type, instance: Dataset, **kwargs: object) -> None:
    instance._exercise_ids_before_delete = list(instance.exercises.values_list("pk", flat=True))  # type: ignore[attr-defined]


def _exercises_check_after_delete(sender: type, instance: Dataset, **kwargs: object) -> None:
    # By post_delete the dataset's rows in the link table are gone.
    exercises_check_after_datasets_change(exercise_ids=getattr(instance, "_exercise_ids_before_delete", []))


def _exercises_check_after_link_change(
    sender: type, instance: Dataset | Exercise, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: object
) -> None:
    # reverse: the change came from the exercise's side (exercise.datasets.add(...)).
    if action == "pre_clear" and not reverse:
        instance._exercise_ids_before_clear = list(instance.exercises.values_list("pk", flat=True))  # type: ignore[union-attr]
    elif action in ("post_add", "post_remove", "post_clear"):
        if reverse:
            ids = [instance.pk]
        elif action == "post_clear":
            ids = getattr(instance, "_exercise_ids_before_clear", [])
        else:
            ids = list(pk_set or ())
        exercises_check_after_datasets_change(exercise_ids=ids)


def connect_signals() -> None:
    pre_delete.connect(_exercise_ids_before_delete, sender=Dataset, dispatch_uid="dataset_exercises_before_delete")
    post_delete.connect(_exercises_check_after_delete, sender=Dataset, dispatch_uid="dataset_exercises_recheck")
    m2m_changed.connect(
        _exercises_check_after_link_change, sender=Dataset.exercises.through, dispatch_uid="dataset_links_recheck"
    )


# -- reads ------------------------------------------------------------------------------------
def exercise_datasets(exercise: Exercise) -> list[Dataset]:
    """An exercise's datasets with their metadata (file name, format, size, SHA-256, source,
    licence, description), in file-name order."""
    return list(exercise.datasets.order_by("file_name", "pk"))


def exercise_datasets_listing(exercise: Exercise) -> list[tuple[str, str]]:
    """What an exercise's code sees at /data: sorted (file name, SHA-256) pairs. It names the
    mounted directory and enters the version of the exercise that a self-check belongs to."""
    return datasets_listing(exercise_datasets(exercise))


def datasets_listing(datasets: Iterable[Dataset]) -> list[tuple[str, str]]:
    return sorted((d.file_name, d.sha256) for d in datasets)


def dataset_open(dataset: Dataset) -> BinaryIO:
    """The dataset's bytes, for reading (course packages). DatasetUnavailable if missing here."""
    try:
        return open(stored_path(dataset.sha256), "rb")
    except FileNotFoundError as error:
        raise DatasetUnavailable(
            f"the file of dataset “{dataset.file_name}” ({dataset.sha256}) is missing from {datasets_dir()}"
        ) from error


def exercise_datasets_dir(exercise: Exercise, *, datasets: list[Dataset] | None = None) -> Path | None:
    """The directory to mount at /data when grading ``exercise`` (whose ``datasets`` the caller may
    have read already); None when it has no dataset.

    Made on first use and never changed afterwards: a different set of files gets a different
    directory, so a sandbox that already runs keeps the data it started with. Each file is
    checked against its SHA-256 once, when the directory is made.
    """
    if datasets is None:
        datasets = exercise_datasets(exercise)
    if not datasets:
        return None
    listing = datasets_listing(datasets)
    digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:32]
    target = mounts_root() / digest
    if target.is_dir():
        return target
    mounts_root().mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=mounts_root()))
    try:
        for dataset in datasets:
            _link_checked(dataset, building / dataset.file_name)
        # Readable by the worker's user whoever made it (the web process or another worker).
        os.chmod(building, 0o555)  # noqa: S103 - read-only data, never secret from the worker
        try:
            os.rename(building, target)
        except OSError:
            if not target.is_dir():  # not another worker that made it first
                raise
    finally:
        if building.exists():
            os.chmod(building, 0o700)
            shutil.rmtree(building, ignore_errors=True)
    return target


def _link_checked(dataset: Dataset, link: Path) -> None:
    source = stored_path(dataset.sha256)
    digest = hashlib.sha256()
    try:
        with open(source, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError as error:
        raise DatasetUnavailable(
            f"the file of dataset “{dataset.file_name}” ({dataset.sha256}) is missing from {datasets_dir()}"
        ) from error
    if digest.hexdigest() != dataset.sha256:
        raise DatasetUnavailable(f"the file of dataset “{dataset.file_name}” is damaged: its SHA-256 does not match")
    try:
        os.link(source, link)
    except OSError:  # another file system: a copy, read-only too
        shutil.copyfile(source, link)
        os.chmod(link, 0o444)
