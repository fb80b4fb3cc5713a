"""Writes and reads of exercises; the notebook is parsed by the Django-free engine (no code runs here)."""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from courses.models import Exercise
from sandbox import ExerciseFormatError, InvalidSubmission
from sandbox.formats import detect_format, load_notebook, parse_exercise

MAX_NOTEBOOK_BYTES = 5 * 1024 * 1024


def parse_instructor_notebook(raw: bytes | str, fmt: str = "auto") -> tuple[dict[str, Any], str, Any]:
    """The notebook as JSON, its format and the parsed exercise; ValidationError says what is wrong."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_NOTEBOOK_BYTES:
        raise ValidationError(f"The notebook is {size // 1024} KiB; the limit is {MAX_NOTEBOOK_BYTES // 1024} KiB.")
    try:
        notebook = load_notebook(raw, "instructor notebook")
        detected = detect_format(notebook) if fmt == "auto" else fmt
        exercise = parse_exercise(json.dumps(notebook), detected)
    except (ExerciseFormatError, InvalidSubmission) as error:
        raise ValidationError(str(error)) from error
    return notebook, detected, exercise


@transaction.atomic
def exercise_create_or_update(*, slug: str, title: str, raw_notebook: bytes | str, fmt: str = "auto") -> Exercise:
    """Write the live exercise at once, with no self-check: for tests and benchmarks only.

    Instructors' notebooks go through `exercise_import` (a draft, checked before it is published).
    """
    notebook, detected, parsed = parse_instructor_notebook(raw_notebook, fmt)
    exercise, _created = Exercise.objects.update_or_create(
        slug=slug,
        defaults={"title": title, "notebook": notebook, "format": detected, "max_score": parsed.max_score},
    )
    return exercise


@transaction.atomic
def exercise_import(
    *, slug: str, title: str = "", raw_notebook: bytes | str, fmt: str = "auto", user: Any = None
) -> tuple[Exercise, bool]:
    """Save an instructor notebook as a draft of the exercise ``slug`` and request its self-check.

    A new exercise stays unpublished; an existing one keeps serving its live version to learners
    until the draft passes the check and is published. Refused notebooks store nothing.
    """
    from courses.exercise_checks import exercise_check_request

    notebook, detected, parsed = parse_instructor_notebook(raw_notebook, fmt)
    exercise = Exercise.objects.filter(slug=slug).first()
    created = exercise is None
    # An existing exercise's draft builds on its latest revision, not on the live row.
    exercise = Exercise(slug=slug, live=False) if exercise is None else exercise.get_latest_revision_as_object()
    exercise.title = (title or parsed.title or exercise.title or slug)[:200]
    exercise.notebook = notebook
    exercise.format = detected
    exercise.max_score = parsed.max_score
    if created:
        exercise.save()
    exercise.save_revision(user=user)
    exercise_check_request(exercise=exercise)
    return exercise, created


def exercise_release(exercise: Exercise) -> dict[str, Any]:
    """The learner's notebook for an exercise: solutions stubbed, hidden tests gone (sandbox.release)."""
    from sandbox.release import release_notebook

    _notebook, _fmt, parsed = parse_instructor_notebook(json.dumps(exercise.notebook), exercise.format)
    return release_notebook(parsed, exercise.notebook.get("metadata"))


def answer_keys(release: dict[str, Any]) -> list[str]:
    return [key for cell in release["cells"] if (key := answer_key(cell))]


def answer_key(cell: dict[str, Any]) -> str:
    return str(cell.get("metadata", {}).get("opencapacity", {}).get("answer", ""))


def learner_notebook(release: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """The released notebook with the learner's text in its answer cells, as the engine expects it."""
    cells = []
    for cell in release["cells"]:
        key = answer_key(cell)
        cells.append({**cell, "source": answers[key]} if key in answers else cell)
    return {**release, "cells": cells}
