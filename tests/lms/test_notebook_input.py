"""Checks on uploaded notebooks and typed code (lms.progress.notebooks): each refusal says what is wrong."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from lms.progress import notebooks
from tests.lms import exercise_fixtures
from tests.lms.exercise_fixtures import RIGHT, released_with

pytestmark = pytest.mark.django_db
lesson_with_exercise = exercise_fixtures.lesson_with_exercise
exercise = exercise_fixtures.exercise
NOTEBOOKS = Path(__file__).resolve().parents[1] / "sandbox" / "notebooks"


def refusal(raw: bytes) -> ValidationError:
    with translation.override("en"), pytest.raises(ValidationError) as error:
        notebooks.notebook_read(raw)
    return error.value


def nb(**overrides) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [], **overrides}).encode()


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "The file is empty."),
        (b"   \n", "The file is empty."),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'{"cells": [', "not valid JSON (line 1, column 12)"),
        (b'{\n  "cells": [],\n  oops\n}', "not valid JSON (line 3, column 3)"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"[]", "not a Jupyter notebook"),
        (b'"text"', "not a Jupyter notebook"),
        (b'{"hello": 1}', "not a Jupyter notebook"),
        (json.dumps({"nbformat": 3, "worksheets": [{"cells": []}]}).encode(), "nbformat 3; only nbformat 4"),
        (json.dumps({"nbformat": "4", "cells": []}).encode(), "nbformat ?"),
        (nb(cells={}), "no list of cells"),
        (nb(cells=[1]), "Cell 1 of the notebook is malformed"),
        (nb(cells=[{"cell_type": "markdown", "source": "a"}, {"cell_type": "code", "source": 5}]), "Cell 2"),
        (nb(cells=[{"cell_type": "code", "source": ["a", None]}]), "Cell 1"),
        (nb(metadata={"kernelspec": {"name": "ir", "language": "R"}}), "This notebook is for r;"),
        (nb(metadata={"language_info": {"name": "julia"}}), "This notebook is for julia;"),
        (nb(metadata={"kernelspec": {"name": "javascript"}}), "This notebook is for javascript;"),
    ],
)
def test_each_malformed_notebook_is_refused_with_its_reason(raw, says):
    error = refusal(raw)
    assert says in " ".join(error.messages)
    assert error.code == "invalid"


def test_size_is_checked_before_parsing(settings):
    settings.SUBMISSION_MAX_NOTEBOOK_BYTES = 2048
    error = refusal(b"{" + b" " * 2048 + b"}")
    assert error.code == "too_large"
    assert error.messages == ["The notebook is 3 KiB; the limit is 2 KiB."]


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        {"kernelspec": {"name": "conda-env-ml-py", "display_name": "ml"}},
        {"language_info": {"name": "Python", "version": "3.11"}},
    ],
)
def test_python_notebooks_are_read(metadata):
    assert notebooks.notebook_read(nb(metadata=metadata))["nbformat"] == 4


def test_a_bom_and_list_sources_as_jupyter_writes_them_are_fine():
    raw = "\ufeff".encode() + nb(cells=[{"cell_type": "code", "source": ["x = 1\n", "y = 2"], "metadata": {}}])
    assert notebooks.notebook_read(raw)["cells"][0]["source"] == ["x = 1\n", "y = 2"]


def test_answers_are_matched_as_the_engine_matches_them(exercise):
    notebook = notebooks.notebook_read(json.dumps(released_with(RIGHT, exercise)).encode())
    assert notebooks.notebook_answers(exercise, notebook) == {"answer": RIGHT}
    # The instructor's own notebook format (tags, no released metadata) is matched too.
    learner_copy = json.loads((NOTEBOOKS / "correct-answer.ipynb").read_text())
    assert "answer" in notebooks.notebook_answers(exercise, learner_copy)


def test_a_notebook_of_another_exercise_is_refused(exercise):
    other = json.loads((NOTEBOOKS / "reference-exercise.ipynb").read_text())
    for cell in other["cells"]:
        cell.get("metadata", {}).pop("opencapacity", None)
        cell.pop("id", None)
        cell.get("metadata", {}).pop("tags", None)
    with translation.override("en"), pytest.raises(ValidationError, match="none of this exercise's answer cells"):
        notebooks.notebook_answers(exercise, other)


def test_code_size_counts_bytes_of_all_answer_cells(settings):
    settings.SUBMISSION_MAX_CODE_BYTES = 1024
    notebooks.code_check({"a": "x" * 512, "b": "y" * 512})
    with translation.override("en"), pytest.raises(ValidationError) as error:
        notebooks.code_check({"a": "x" * 512, "b": "é" * 257})  # 514 bytes
    assert error.value.code == "too_large"
    assert error.value.messages == ["Your code is 2 KiB; the limit is 1 KiB."]
