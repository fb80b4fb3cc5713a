"""The learner's version of an exercise: solutions stubbed, hidden tests and their traces gone.

The released notebook is rebuilt from the parsed exercise rather than edited in place, so no
instructor metadata (Otter's test table, nbgrader checksums), output or solution text can leak.
"""

from __future__ import annotations

from typing import Any

from .exercise import Exercise
from .formats import NATIVE_KEY


def release_notebook(exercise: Exercise, source_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    cells: list[dict[str, Any]] = []
    for cell in exercise.cells:
        text = cell.released
        if cell.role == "test" and not text.strip():
            continue
        metadata: dict[str, Any] = {}
        if cell.key:
            metadata[NATIVE_KEY] = {"answer": cell.key}
        elif cell.role == "test":
            metadata[NATIVE_KEY] = {"test": list(cell.test_ids)}
        if cell.role in ("test", "setup", "context"):
            metadata["editable"] = cell.role == "context"
        entry: dict[str, Any] = {
            "cell_type": cell.cell_type,
            "metadata": metadata,
            "source": text,
        }
        if cell.cell_type == "code":
            entry["execution_count"] = None
            entry["outputs"] = []
        cells.append(entry)
    kept = {key: value for key, value in (source_metadata or {}).items() if key in ("kernelspec", "language_info")}
    kept[NATIVE_KEY] = {"released": True, "format": exercise.format, "title": exercise.title}
    return {"cells": cells, "metadata": kept, "nbformat": 4, "nbformat_minor": 4}
