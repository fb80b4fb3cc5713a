"""Checks on what a learner hands in: code typed in the page and notebooks uploaded from Jupyter.

Learner input is hostile. Every refusal is a ValidationError whose message says what is wrong in
the learner's language (the same text on the web pages and in the API), raised before anything is
stored. The engine (sandbox.formats) does its own checks again when it grades.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from courses.models import Exercise
from sandbox import ExerciseFormatError
from sandbox.formats import parse_exercise, submission_answers


def _kib(size: int) -> int:
    return -(-size // 1024)  # rounded up: 1 byte over the limit must not read as "the limit"


def code_check(answers: dict[str, str]) -> None:
    """Refuse code larger than settings.SUBMISSION_MAX_CODE_BYTES (all answer cells together)."""
    size = sum(len(text.encode()) for text in answers.values())
    limit = settings.SUBMISSION_MAX_CODE_BYTES
    if size > limit:
        raise ValidationError(
            _("Your code is %(size)d KiB; the limit is %(limit)d KiB.") % {"size": _kib(size), "limit": limit // 1024},
            code="too_large",
        )


def notebook_read(raw: bytes) -> dict[str, Any]:
    """Parse an uploaded .ipynb: size, JSON, nbformat 4, well-formed cells, a Python kernel."""
    limit = settings.SUBMISSION_MAX_NOTEBOOK_BYTES
    if len(raw) > limit:
        raise ValidationError(
            _("The notebook is %(size)d KiB; the limit is %(limit)d KiB.")
            % {"size": _kib(len(raw)), "limit": limit // 1024},
            code="too_large",
        )
    if not raw.strip():
        raise ValidationError(_("The file is empty."), code="invalid")
    try:
        notebook = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise ValidationError(_("The file is not a notebook: it is not UTF-8 text."), code="invalid") from error
    except json.JSONDecodeError as error:
        raise ValidationError(
            _("The file is not a notebook: it is not valid JSON (line %(line)d, column %(column)d).")
            % {"line": error.lineno, "column": error.colno},
            code="invalid",
        ) from error
    except RecursionError as error:  # deeply nested arrays: hostile, not a notebook
        raise ValidationError(_("The file is not a notebook: it is nested too deeply."), code="invalid") from error
    if not isinstance(notebook, dict):
        raise ValidationError(_("The file is valid JSON but not a Jupyter notebook."), code="invalid")
    version = notebook.get("nbformat")
    if version != 4:
        if version is None and not isinstance(notebook.get("cells"), list):
            raise ValidationError(_("The file is valid JSON but not a Jupyter notebook."), code="invalid")
        raise ValidationError(
            _(
                "This notebook uses nbformat %(version)s; only nbformat 4 is accepted. Open it in a recent "
                "Jupyter and save it again, or run: jupyter nbconvert --to notebook --nbformat 4 FILE.ipynb"
            )
            % {"version": version if isinstance(version, int) else "?"},
            code="invalid",
        )
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise ValidationError(_("The notebook has no list of cells."), code="invalid")
    for number, cell in enumerate(cells, start=1):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if (
            not isinstance(cell, dict)
            or cell.get("cell_type") not in ("code", "markdown", "raw")
            or not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source)))
        ):
            message = _("Cell %(number)d of the notebook is malformed.") % {"number": number}
            raise ValidationError(message, code="invalid")
    language = notebook_language(notebook)
    if language and language != "python":
        raise ValidationError(
            _(
                "This notebook is for %(language)s; exercises are graded in Python. Choose a Python 3 kernel "
                "in Jupyter and save the notebook again."
            )
            % {"language": language[:40]},
            code="invalid",
        )
    return notebook


def notebook_language(notebook: dict[str, Any]) -> str:
    """The notebook's declared language, lower case ('' when it declares none)."""
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return ""
    kernelspec = metadata.get("kernelspec") if isinstance(metadata.get("kernelspec"), dict) else {}
    language_info = metadata.get("language_info") if isinstance(metadata.get("language_info"), dict) else {}
    for value in (kernelspec.get("language"), language_info.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip().lower()
    name = kernelspec.get("name")
    if isinstance(name, str) and name.strip():
        # A kernelspec without a language: python3, python, conda-env-*-py are Python; ir, julia-1.9 are not.
        lowered = name.strip().lower()
        return "python" if "python" in lowered or lowered.endswith("-py") else lowered
    return ""


def notebook_answers(exercise: Exercise, notebook: dict[str, Any]) -> dict[str, str]:
    """The learner's answer cells for this exercise, matched as the engine matches them."""
    try:
        parsed = parse_exercise(json.dumps(exercise.notebook), exercise.format)
        answers = submission_answers(parsed, notebook)
    except ExerciseFormatError as error:
        raise ValidationError(str(error), code="invalid") from error
    if not answers:
        raise ValidationError(
            _(
                "This notebook has none of this exercise's answer cells. Download the exercise's notebook from "
                "the lesson page and write your code in its answer cells."
            ),
            code="invalid",
        )
    return answers


def upload_bytes(upload: Any) -> bytes:
    """Read an uploaded file, never more than the limit plus one byte (so size is refused, not read)."""
    limit = settings.SUBMISSION_MAX_NOTEBOOK_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            _("The notebook is %(size)d KiB; the limit is %(limit)d KiB.")
            % {"size": _kib(upload.size), "limit": limit // 1024},
            code="too_large",
        )
    upload.seek(0)
    return upload.read(limit + 1)
