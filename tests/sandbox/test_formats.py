"""sandbox/formats.py: every third-party notebook imports, or is refused with a clear reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.errors import ExerciseFormatError
from sandbox.formats import detect_format, load_notebook, parse_exercise, submission_answers

from .conftest import read

IMPORTS = {
    # path: (format, number of tests, max score, manual ids)
    "nbgrader/test.ipynb": ("nbgrader", 4, 6.0, {"sum_of_squares_equation", "sum_of_squares_application"}),
    "nbgrader/test-hidden-tests.ipynb": ("nbgrader", 4, 3.0, set()),
    "nbgrader/autotest-hidden.ipynb": ("nbgrader", 1, 1.0, set()),
    "nbgrader/timeout.ipynb": ("nbgrader", 1, 1.0, set()),
    "nbgrader/submitted-unchanged.ipynb": ("nbgrader", 2, 7.0, {"baz", "quux"}),
    "otter/example.ipynb": ("otter", 13, 145.5, {"q2", "q4", "question6", "q7"}),
    "otter/exception-example.ipynb": ("otter", 6, 11.0, {"q2", "q4", "question6", "q7"}),
    "otter/example-correct/autograder/example.ipynb": ("otter", 13, 45.5, {"manual-1", "manual-2", "manual-3"}),
}

REFUSED = {
    "nbgrader/test-v0-invalid.ipynb": "schema_version",
    "nbgrader/too-new.ipynb": "newer than the supported",
    "nbgrader/duplicate-grade-ids.ipynb": "duplicate nbgrader grade_id",
    "nbgrader/blank-points.ipynb": "needs points",
    "nbgrader/infinite-loop.ipynb": "cannot tell the notebook's format",
    "otter/network/network.ipynb": "cannot tell the notebook's format",
    # A learner's copy: tests, but nothing to answer.
    "otter/example-correct/student/example.ipynb": "no solution cell",
}


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_fixture_imports(fixture_notebooks: Path, name: str) -> None:
    fmt, count, max_score, manual = IMPORTS[name]
    exercise = parse_exercise((fixture_notebooks / name).read_bytes())
    assert exercise.format == fmt
    assert len(exercise.tests) == count
    assert exercise.max_score == max_score
    assert {m.id for m in exercise.manual} == manual


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_invalid_fixture_refused_with_reason(fixture_notebooks: Path, name: str) -> None:
    with pytest.raises(ExerciseFormatError, match=REFUSED[name]):
        parse_exercise((fixture_notebooks / name).read_bytes())


#: Refusals about the notebook as a whole, where no single cell is at fault.
NOTEBOOK_WIDE_REFUSALS = ("cannot tell the notebook's format", "no graded cells found", "but no solution cell")


def test_every_fixture_notebook_is_parsed_into_a_gradable_exercise_or_refused_naming_a_cell(
    fixture_notebooks: Path,
) -> None:
    # The file name is added by the import command and the upload (tests/courses covers that);
    # the parser's part is to name the cell, unless the fault is the notebook's as a whole.
    paths = sorted(fixture_notebooks.rglob("*.ipynb"))
    assert paths
    parsed = 0
    for path in paths:
        cell_count = len(load_notebook(path.read_bytes())["cells"])
        try:
            exercise = parse_exercise(path.read_bytes())
        except ExerciseFormatError as exc:
            message = str(exc)
            named = re.match(r"cell (\d+)\b", message)
            if named:
                assert int(named.group(1)) < cell_count, (path, message)
            else:
                assert any(reason in message for reason in NOTEBOOK_WIDE_REFUSALS), (path, message)
            continue
        parsed += 1
        assert exercise.format in ("nbgrader", "otter"), path
        assert exercise.tests and exercise.answer_cells(), path
        assert all(t.points >= 0 and t.code.strip() for t in exercise.tests), path
        assert sum(t.points for t in exercise.tests) > 0, path
        ids = [t.id for t in exercise.tests] + [m.id for m in exercise.manual]
        assert len(ids) == len(set(ids)), path
    assert parsed >= len(IMPORTS), "fewer fixture notebooks parse than the ones listed in IMPORTS"


def test_nbgrader_hidden_region_lines(fixture_notebooks: Path) -> None:
    exercise = parse_exercise((fixture_notebooks / "nbgrader/test-hidden-tests.ipynb").read_bytes())
    test = next(t for t in exercise.tests if t.id == "correct_squares")
    assert not test.hidden and test.hidden_lines
    assert "squares(11)" in test.code and "squares(11)" not in test.visible_code
    assert "squares(2)" in test.visible_code


def test_nbgrader_autotest_becomes_reference_check(fixture_notebooks: Path) -> None:
    exercise = parse_exercise((fixture_notebooks / "nbgrader/autotest-hidden.ipynb").read_bytes())
    assert "__autotest__('a')" in exercise.tests[0].code
    assert exercise.reference_code, "autotests need the instructor's solution in the judge"


def test_otter_points_follow_question_rules(fixture_notebooks: Path) -> None:
    exercise = parse_exercise((fixture_notebooks / "otter/example.ipynb").read_bytes())
    points = {t.id: t.points for t in exercise.tests}
    assert points["q1a-1"] == 2 and points["q1a-5"] == 0  # unspecified beside specified: 0
    assert [t.points for t in exercise.tests if t.question == "q8"] == [10, 2]  # list form
    assert [t.points for t in exercise.tests if t.question == "q9"] == [0.5, 0.5]  # split evenly
    assert {t.id for t in exercise.tests if t.hidden} >= {"q1a-4", "q1a-5", "q8a-2"}


def test_native_exercise() -> None:
    exercise = parse_exercise(read("mean-square-exercise.ipynb"))
    assert exercise.format == "native"
    assert [t.id for t in exercise.tests] == ["visible", "hidden-int", "hidden-float", "hidden-numpy"]
    assert [t.hidden for t in exercise.tests] == [False, True, True, True]
    assert exercise.max_score == 7
    assert "mean_square" in exercise.answer_names
    assert exercise.hints == ("Hint: `sum` and `len` are enough.",)
    assert "import math" in exercise.judge_setup


def test_detect_format_requires_markers() -> None:
    nb = load_notebook(b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    with pytest.raises(ExerciseFormatError):
        detect_format(nb)


@pytest.mark.parametrize("text", [b"not json", b"{}", b'{"cells": [], "nbformat": 3}'])
def test_malformed_notebooks_refused(text: bytes) -> None:
    with pytest.raises(ExerciseFormatError):
        parse_exercise(text)


def _native(*cells: dict) -> bytes:
    import json

    return json.dumps(
        {"cells": list(cells), "metadata": {"opencapacity": {"version": 1}}, "nbformat": 4, "nbformat_minor": 5}
    ).encode()


def _cell(source: str, role: str, cell_id: str, **extra: object) -> dict:
    return {
        "cell_type": "code",
        "metadata": {"opencapacity": {"role": role, "id": cell_id, **extra}},
        "source": source,
        "outputs": [],
        "execution_count": None,
    }


ANSWER = _cell("x = 1", "answer", "a")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_native(ANSWER, _cell("assert x", "test", "t"), _cell("assert x", "test", "t")), "cell 2: duplicate id 't'"),
        (_native(ANSWER, _cell("assert x", "test", "t", points="")), r"cell 1 \(t\): a graded cell needs points"),
        (_native(ANSWER, _cell("assert x", "test", "t", points=-2)), r"cell 1 \(t\): points must not be negative"),
        (_native(ANSWER, _cell("assert x", "test", "t", points="two")), "is not a number"),
        (
            _native(_cell("  ", "answer", "a"), _cell("assert x", "test", "t")),
            "cell 0: answer cell 'a' has no solution",
        ),
        (_native(_cell("x = 1", "", "c"), _cell("assert x", "test", "t")), "no solution cell"),
        (_native(ANSWER, _cell("assert x", "dessert", "t")), "cell 1: unknown role 'dessert'"),
    ],
)
def test_bad_native_notebooks_are_refused_naming_the_cell(text: bytes, message: str) -> None:
    with pytest.raises(ExerciseFormatError, match=message):
        parse_exercise(text)


def test_otters_generated_notebook_graded_as_its_own_source_gives_every_solution(fixture_notebooks: Path) -> None:
    # Otter tags only the markdown prompts of its generated notebook as answer cells; the code
    # answers must still come from the solutions, or the self-check would grade an empty solution.
    raw = (fixture_notebooks / "otter/example-correct/autograder/example.ipynb").read_bytes()
    exercise = parse_exercise(raw)
    answers = submission_answers(exercise, load_notebook(raw))
    assert set(answers) == {cell.key for cell in exercise.answer_cells()}
    assert "x = 2" in answers["code:0"]


def test_nbgrader_solution_cell_without_solution_is_refused(fixture_notebooks: Path) -> None:
    import json

    notebook = json.loads((fixture_notebooks / "nbgrader/test.ipynb").read_text())
    index = next(i for i, c in enumerate(notebook["cells"]) if c["metadata"].get("nbgrader", {}).get("solution"))
    notebook["cells"][index]["source"] = ""
    with pytest.raises(ExerciseFormatError, match=f"cell {index}: solution cell .* has no solution"):
        parse_exercise(json.dumps(notebook))


def test_otter_duplicate_test_names_are_refused(fixture_notebooks: Path) -> None:
    import json

    notebook = json.loads((fixture_notebooks / "otter/example.ipynb").read_text())
    # Cells 9 and 10 are the second and third tests of question q1; give them one name.
    for index in (9, 10):
        config, body = "".join(notebook["cells"][index]["source"]).split("# END TEST CONFIG", 1)
        config = "\n".join(line for line in config.splitlines() if not line.startswith("name:"))
        notebook["cells"][index]["source"] = (
            config.replace("CONFIG", "CONFIG\nname: same", 1) + "# END TEST CONFIG" + body
        )
    with pytest.raises(ExerciseFormatError, match="cell 10: duplicate test id 'same'"):
        parse_exercise(json.dumps(notebook))


def _otter_example_with(fixture_notebooks: Path, index: int, source: str) -> str:
    import json

    notebook = json.loads((fixture_notebooks / "otter/example.ipynb").read_text())
    notebook["cells"][index]["source"] = source
    return json.dumps(notebook)


# Cells of otter/example.ipynb: 2 opens q1 (autograded), 16 opens q2 (manual, 1.5 points),
# 61 opens q8 (autograded, a per-test points list for its two tests), 8 is q1's first test.
@pytest.mark.parametrize(
    ("index", "source", "message"),
    [
        (16, "# BEGIN QUESTION\nname: q2\nmanual: true\npoints: -2", r"cell 16 \(question q2\): .*negative"),
        (16, "# BEGIN QUESTION\nname: q2\nmanual: true\npoints: abc", r"cell 16 \(question q2\): .*not a number"),
        (16, "# BEGIN QUESTION\nname: q2\nmanual: true\npoints: ''", r"cell 16 \(question q2\): .*needs points"),
        (2, "# BEGIN QUESTION\nname: q1\npoints: -2", r"cell 2 \(question q1\): .*negative"),
        (2, "# BEGIN QUESTION\nname: q1\npoints: abc", r"cell 2 \(question q1\): .*not a number"),
        (61, "# BEGIN QUESTION\nname: q8\npoints: [-10, 20]", r"cell 61 \(question q8\): .*negative"),
        (61, "# BEGIN QUESTION\nname: q8\npoints: [ten, 2]", r"cell 61 \(question q8\): .*not a number"),
        (
            8,
            '""" # BEGIN TEST CONFIG\npoints: -1\nname: q1a-1\n""" # END TEST CONFIG\nisinstance(x, int)',
            r"cell 8 \(q1a-1\): .*negative",
        ),
        (
            8,
            '""" # BEGIN TEST CONFIG\npoints: [1\n""" # END TEST CONFIG\nisinstance(x, int)',
            "cell 8: the TEST CONFIG has invalid YAML",
        ),
    ],
)
def test_bad_otter_points_are_refused_naming_the_cell(
    fixture_notebooks: Path, index: int, source: str, message: str
) -> None:
    with pytest.raises(ExerciseFormatError, match=message):
        parse_exercise(_otter_example_with(fixture_notebooks, index, source))


@pytest.mark.parametrize(
    ("index", "source", "message"),
    [
        # q4 (cell 35) renamed to the earlier manual question q2: named at the second occurrence.
        (35, "# BEGIN QUESTION\nname: q2\nmanual: true", "cell 35: duplicate question name 'q2'"),
        # An autograded question reusing a manual question's name.
        (24, "# BEGIN QUESTION\nname: q2", "cell 24: duplicate question name 'q2'"),
        # A manual question whose id a test of q1 already has.
        (16, "# BEGIN QUESTION\nname: q1a-2\nmanual: true", "cell 16: duplicate id 'q1a-2'"),
    ],
)
def test_otter_duplicate_question_ids_name_the_cell(
    fixture_notebooks: Path, index: int, source: str, message: str
) -> None:
    with pytest.raises(ExerciseFormatError, match=message):
        parse_exercise(_otter_example_with(fixture_notebooks, index, source))


def test_otter_generated_notebook_points_are_validated(fixture_notebooks: Path) -> None:
    import json

    path = fixture_notebooks / "otter/example-correct/autograder/example.ipynb"
    notebook = json.loads(path.read_text())
    notebook["metadata"]["otter"]["tests"]["q1"]["suites"][0]["cases"][0]["points"] = -2
    with pytest.raises(ExerciseFormatError, match=r"question q1: points must not be negative"):
        parse_exercise(json.dumps(notebook))
    notebook = json.loads(path.read_text())
    notebook["cells"][2]["source"] = "<!-- BEGIN QUESTION -->\n\n_Points:_ 1.2.3"
    with pytest.raises(ExerciseFormatError, match=r"cell 2: points '1.2.3' is not a number"):
        parse_exercise(json.dumps(notebook))
