"""Read instructor notebooks in the three supported dialects into one :class:`Exercise`.

- native: OpenCapacity's own cell tags and ``opencapacity`` metadata (docs/grading.md)
- nbgrader: cell metadata ``nbgrader`` (schema 3) and ``### BEGIN SOLUTION`` / ``HIDDEN TESTS``
- otter: Otter-Grader master notebooks (``# BEGIN QUESTION`` ... raw cells) and the autograder
  notebooks Otter generates (tests in ``metadata.otter.tests``)
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from typing import Any, Literal

import yaml  # type: ignore[import-untyped]

from .errors import ExerciseFormatError
from .exercise import CellRole, Exercise, ExerciseCell, ManualQuestion, Question, Test, TestKind

Format = Literal["auto", "native", "nbgrader", "otter"]
FORMATS: tuple[str, ...] = ("auto", "native", "nbgrader", "otter")
NBGRADER_SCHEMA = 3
NATIVE_KEY = "opencapacity"


# -- notebook helpers ---------------------------------------------------------------------------
def load_notebook(text: str | bytes, what: str = "notebook") -> dict[str, Any]:
    try:
        nb = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExerciseFormatError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", nb.get("worksheets")), list):
        raise ExerciseFormatError(f"{what} is not a Jupyter notebook (no cells)")
    major = nb.get("nbformat")
    if major != 4:
        raise ExerciseFormatError(
            f"{what} uses nbformat {major}; only nbformat 4 is supported "
            "(upgrade it with `jupyter nbconvert --to notebook`)"
        )
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ExerciseFormatError.from_cell(index, f"{what} has a malformed cell")
    return nb


def source_of(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def metadata_of(cell: dict[str, Any]) -> dict[str, Any]:
    md = cell.get("metadata")
    return md if isinstance(md, dict) else {}


def tags_of(cell: dict[str, Any]) -> set[str]:
    tags = metadata_of(cell).get("tags")
    return {str(t) for t in tags} if isinstance(tags, list) else set()


def _python_only(code: str) -> str:
    """Drop IPython magics and shell escapes so ``ast`` can read the rest."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())


def bound_names(code: str) -> set[str]:
    """Top-level names a cell binds (assignments, defs, imports, loops, with-targets)."""
    try:
        tree = ast.parse(_python_only(code))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def import_statements(code: str) -> list[str]:
    try:
        tree = ast.parse(_python_only(code))
    except SyntaxError:
        return []
    return [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def _replace_regions(
    text: str, begin: re.Pattern[str], end: re.Pattern[str], stub: list[str] | None
) -> tuple[str, list[tuple[int, int]]]:
    """Remove begin/end regions (markers included); return new text and removed line ranges."""
    out: list[str] = []
    ranges: list[tuple[int, int]] = []
    start = 0
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not inside and begin.match(line):
            inside = True
            start = number
            if stub is not None:
                indent = line[: len(line) - len(line.lstrip())]
                out += [indent + s for s in stub]
            continue
        if inside and end.match(line):
            inside = False
            ranges.append((start, number))
            continue
        if not inside:
            out.append(line)
    if inside:
        raise ExerciseFormatError(f"unterminated region starting at line {start}")
    return "\n".join(out), ranges


_NBG_BEGIN_SOL = re.compile(r"^\s*#+\s*BEGIN SOLUTION\s*$")
_NBG_END_SOL = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
_NBG_BEGIN_HIDDEN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
_NBG_END_HIDDEN = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")
_AUTOTEST = re.compile(r"^(\s*)###\s*(?:HASHED\s+)?AUTOTEST\s+(.*)$")
_CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
_MD_STUB = ["YOUR ANSWER HERE"]


def _stub_solutions(text: str, cell_type: str) -> str:
    stub = _CODE_STUB if cell_type == "code" else _MD_STUB
    released, ranges = _replace_regions(text, _NBG_BEGIN_SOL, _NBG_END_SOL, stub)
    # Without markers the whole cell is the solution (as nbgrader's ClearSolutions does).
    return released if ranges else "\n".join(stub)


def _expand_autotests(code: str) -> tuple[str, bool]:
    """``### AUTOTEST a; b`` becomes checks against the instructor's own value of ``a``, ``b``."""
    found = False
    lines = []
    for line in code.splitlines():
        match = _AUTOTEST.match(line)
        if match:
            found = True
            exprs = [e.strip() for e in match.group(2).split(";") if e.strip()]
            lines.append(match.group(1) + "; ".join(f"__autotest__({e!r})" for e in exprs))
        else:
            lines.append(line)
    return "\n".join(lines), found


def _hidden_region_test(code: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Hidden line ranges of a test marked with ``### BEGIN HIDDEN TESTS``."""
    ranges: list[tuple[int, int]] = []
    start = 0
    for number, line in enumerate(code.splitlines(), start=1):
        if _NBG_BEGIN_HIDDEN.match(line):
            start = number
        elif _NBG_END_HIDDEN.match(line) and start:
            ranges.append((start, number))
            start = 0
    if start:
        raise ExerciseFormatError("unterminated ### BEGIN HIDDEN TESTS region")
    return code, tuple(ranges)


def _released_test(code: str) -> str:
    released, _ = _replace_regions(code, _NBG_BEGIN_HIDDEN, _NBG_END_HIDDEN, None)
    return released


def _points(value: Any, where: str) -> float:
    if value is None or value == "":
        raise ExerciseFormatError(f"{where}: a graded cell needs points")
    try:
        points = float(value)
    except (TypeError, ValueError):
        raise ExerciseFormatError(f"{where}: points {value!r} is not a number") from None
    if points < 0:
        raise ExerciseFormatError(f"{where}: points must not be negative")
    return points


def _finish(
    fmt: str,
    cells: list[ExerciseCell],
    tests: list[Test],
    manual: list[ManualQuestion],
    *,
    questions: Iterable[Question] = (),
    title: str = "",
    hints: Iterable[str] = (),
    limits: dict[str, float] | None = None,
    extra_setup: Iterable[str] = (),
) -> Exercise:
    if not tests and not manual:
        raise ExerciseFormatError(
            f"no graded cells found for the {fmt} format: a source notebook needs tests or "
            "manually graded questions (is this a learner's copy rather than the instructor's?)"
        )
    ids = [t.id for t in tests] + [m.id for m in manual]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ExerciseFormatError(f"duplicate test or question ids: {', '.join(duplicates)}")
    keys = [c.key for c in cells if c.key]
    if tests and not any(c.role in ("answer", "manual") for c in cells):
        raise ExerciseFormatError(
            f"the {fmt} notebook has tests but no solution cell: mark the cells learners complete"
        )
    if len(keys) != len(set(keys)):
        raise ExerciseFormatError("two answer cells share one id")
    for test in tests:
        try:
            ast.parse(_python_only(test.code))
        except SyntaxError as exc:
            if test.kind != "doctest":
                raise ExerciseFormatError(f"test {test.id}: syntax error: {exc.msg}") from None
    imports: list[str] = []
    setup: list[str] = []
    answer_names: set[str] = set()
    for cell in cells:
        if cell.cell_type != "code":
            continue
        if cell.role in ("context", "setup"):
            imports += import_statements(cell.source)
        if cell.role == "setup":
            setup.append(_python_only(cell.source))
        if cell.role in ("answer", "manual"):
            answer_names |= bound_names(cell.source)
    needs_reference = any(t.kind == "output" or "__autotest__(" in t.code for t in tests)
    reference = tuple(
        _python_only(c.source)
        for c in cells
        if c.cell_type == "code" and c.role in ("context", "setup", "answer", "manual")
    )
    return Exercise(
        format=fmt,
        cells=tuple(cells),
        tests=tuple(tests),
        manual=tuple(manual),
        questions=tuple(questions),
        title=title,
        hints=tuple(hints),
        limits=limits or {},
        judge_setup="\n".join(list(dict.fromkeys(imports)) + list(extra_setup) + setup),
        answer_names=frozenset(answer_names),
        reference_code=reference if needs_reference else (),
    )


# -- detection ----------------------------------------------------------------------------------
def detect_format(nb: dict[str, Any]) -> str:
    if isinstance(nb.get("metadata", {}).get(NATIVE_KEY), dict):
        return "native"
    if isinstance(nb.get("metadata", {}).get("otter"), dict) and nb["metadata"]["otter"].get("tests"):
        return "otter"
    for cell in nb["cells"]:
        if "nbgrader" in metadata_of(cell):
            return "nbgrader"
    for index, cell in enumerate(nb["cells"]):
        if _otter_directive(cell, index) is not None:
            return "otter"
    for cell in nb["cells"]:
        if NATIVE_KEY in metadata_of(cell) or tags_of(cell) & {"test", "hidden-test", "answer"}:
            return "native"
    raise ExerciseFormatError("cannot tell the notebook's format: no OpenCapacity, nbgrader or Otter markers")


def parse_exercise(text: str | bytes, fmt: str = "auto") -> Exercise:
    nb = load_notebook(text, "source notebook")
    if fmt == "auto":
        fmt = detect_format(nb)
    if fmt == "native":
        return parse_native(nb)
    if fmt == "nbgrader":
        return parse_nbgrader(nb)
    if fmt == "otter":
        return parse_otter(nb)
    raise ExerciseFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


# -- native -------------------------------------------------------------------------------------
def parse_native(nb: dict[str, Any]) -> Exercise:
    meta = nb.get("metadata", {}).get(NATIVE_KEY, {})
    if not isinstance(meta, dict):
        raise ExerciseFormatError("notebook metadata 'opencapacity' must be an object")
    version = meta.get("version", 1)
    if version != 1:
        raise ExerciseFormatError(f"OpenCapacity exercise version {version} is not supported")
    limits = meta.get("limits", {})
    if not isinstance(limits, dict) or not all(isinstance(v, (int, float)) for v in limits.values()):
        raise ExerciseFormatError("metadata opencapacity.limits must map names to numbers")
    cells: list[ExerciseCell] = []
    tests: list[Test] = []
    manual: list[ManualQuestion] = []
    hints: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(nb["cells"]):
        text = source_of(cell)
        md = metadata_of(cell).get(NATIVE_KEY, {})
        if not isinstance(md, dict):
            raise ExerciseFormatError.from_cell(index, "metadata 'opencapacity' must be an object")
        tags = tags_of(cell)
        role_name = str(md.get("role", ""))
        for tag in ("setup", "answer", "test", "hidden-test", "manual", "hint"):
            if not role_name and tag in tags:
                role_name = tag
        cell_id = str(md.get("id") or cell.get("id") or f"cell-{index}")
        kind = cell["cell_type"]
        where = f"cell {index} ({cell_id})"
        if role_name in ("answer", "manual", "test", "hidden-test"):
            if cell_id in seen:
                raise ExerciseFormatError.from_cell(index, f"duplicate id {cell_id!r}: each graded cell needs its own")
            seen.add(cell_id)
        if role_name in ("answer", "manual") and not text.strip():
            raise ExerciseFormatError.from_cell(index, f"answer cell {cell_id!r} has no solution")
        if role_name == "hint":
            hints.append(text)
            cells.append(ExerciseCell("text", kind, text, text, metadata={"hint": True}))
        elif role_name == "setup":
            cells.append(ExerciseCell("setup", kind, text, text))
        elif role_name == "answer":
            released = str(md["stub"]) if "stub" in md else _stub_solutions(text, kind)
            cells.append(ExerciseCell("answer", kind, text, released, key=cell_id))
        elif role_name == "manual":
            points = _points(md.get("points"), where)
            manual.append(ManualQuestion(cell_id, str(md.get("name", cell_id)), points, cell_id))
            released = str(md["stub"]) if "stub" in md else _stub_solutions(text, kind)
            cells.append(ExerciseCell("manual", kind, text, released, key=cell_id))
        elif role_name in ("test", "hidden-test"):
            if kind != "code":
                raise ExerciseFormatError.from_cell(index, "a test must be a code cell")
            hidden = role_name == "hidden-test" or bool(md.get("hidden", False))
            code, ranges = _hidden_region_test(text)
            code, _ = _expand_autotests(code)
            test = Test(
                id=cell_id,
                name=str(md.get("name", cell_id)),
                points=_points(md.get("points", 1), where),
                hidden=hidden,
                code=code,
                hidden_lines=ranges,
                success_message=str(md.get("success_message", "")),
                failure_message=str(md.get("failure_message", "")),
            )
            tests.append(test)
            released = "" if hidden else _released_test(text)
            cells.append(ExerciseCell("test", kind, text, released, test_ids=(cell_id,)))
        elif role_name:
            raise ExerciseFormatError.from_cell(index, f"unknown role {role_name!r}")
        else:
            role: CellRole = "context" if kind == "code" else "text"
            cells.append(ExerciseCell(role, kind, text, text))
    return _finish(
        "native",
        cells,
        tests,
        manual,
        title=str(meta.get("title", "")),
        hints=hints,
        limits={str(k): float(v) for k, v in limits.items()},
    )


# -- nbgrader -----------------------------------------------------------------------------------
def parse_nbgrader(nb: dict[str, Any]) -> Exercise:
    cells: list[ExerciseCell] = []
    tests: list[Test] = []
    manual: list[ManualQuestion] = []
    seen: set[str] = set()
    for index, cell in enumerate(nb["cells"]):
        text = source_of(cell)
        kind = cell["cell_type"]
        md = metadata_of(cell).get("nbgrader")
        if md is None:
            role: CellRole = "context" if kind == "code" else "text"
            cells.append(ExerciseCell(role, kind, text, text))
            continue
        if not isinstance(md, dict):
            raise ExerciseFormatError.from_cell(index, "nbgrader metadata must be an object")
        schema = md.get("schema_version")
        if schema is None:
            raise ExerciseFormatError.from_cell(
                index,
                "nbgrader metadata without schema_version (version 0) is not supported; "
                "upgrade the notebook with `nbgrader update`",
            )
        if not isinstance(schema, int) or schema > NBGRADER_SCHEMA:
            raise ExerciseFormatError.from_cell(
                index,
                f"nbgrader metadata schema {schema} is newer than the supported {NBGRADER_SCHEMA}",
            )
        grade, solution = bool(md.get("grade")), bool(md.get("solution"))
        locked, task = bool(md.get("locked")), bool(md.get("task"))
        grade_id = md.get("grade_id")
        if not (grade or solution or locked or task):
            role = "context" if kind == "code" else "text"
            cells.append(ExerciseCell(role, kind, text, text))
            continue
        if not isinstance(grade_id, str) or not grade_id:
            raise ExerciseFormatError.from_cell(index, "nbgrader cell without a grade_id")
        if grade_id in seen:
            raise ExerciseFormatError.from_cell(index, f"duplicate nbgrader grade_id {grade_id!r}")
        seen.add(grade_id)
        where = f"cell {index} ({grade_id})"
        if task or (grade and (solution or kind != "code")):
            points = _points(md.get("points"), where)
            manual.append(ManualQuestion(grade_id, grade_id, points, grade_id if solution else ""))
            released = _stub_solutions(text, kind) if solution else text
            cells.append(ExerciseCell("manual", kind, text, released, key=grade_id if solution else ""))
        elif solution:
            if not text.strip():
                raise ExerciseFormatError.from_cell(index, f"solution cell {grade_id!r} has no solution")
            cells.append(ExerciseCell("answer", kind, text, _stub_solutions(text, kind), key=grade_id))
        elif grade:
            points = _points(md.get("points"), where)
            code, ranges = _hidden_region_test(text)
            code, _ = _expand_autotests(code)
            fully_hidden = bool(ranges) and not _released_test(text).strip()
            tests.append(Test(grade_id, grade_id, points, fully_hidden, code, hidden_lines=ranges))
            cells.append(ExerciseCell("test", kind, text, _released_test(text), test_ids=(grade_id,)))
        else:
            role = "setup" if kind == "code" else "text"
            cells.append(ExerciseCell(role, kind, text, text, key=""))
    return _finish("nbgrader", cells, tests, manual)


# -- otter --------------------------------------------------------------------------------------
_OTTER_DIRECTIVES = (
    "ASSIGNMENT CONFIG",
    "BEGIN QUESTION",
    "END QUESTION",
    "BEGIN SOLUTION",
    "END SOLUTION",
    "BEGIN TESTS",
    "END TESTS",
    "BEGIN PROMPT",
    "END PROMPT",
)
_FENCE = re.compile(r"^\s*```otter\s*\n(.*?)\n\s*```\s*$", re.S)
_TEST_CONFIG = re.compile(r'^\s*"""\s*#\s*BEGIN TEST CONFIG\s*\n(.*?)\n\s*"""\s*#\s*END TEST CONFIG\s*\n?', re.S)


def _otter_directive(cell: dict[str, Any], index: int) -> tuple[str, dict[str, Any]] | None:
    text = source_of(cell)
    if cell["cell_type"] == "markdown":
        fenced = _FENCE.match(text)
        if not fenced:
            return None
        text = fenced.group(1)
    elif cell["cell_type"] != "raw":
        return None
    first, _, rest = text.strip().partition("\n")
    first = first.strip().lstrip("#").strip().upper()
    if first not in _OTTER_DIRECTIVES:
        return None
    try:
        config = yaml.safe_load(rest) if rest.strip() else {}
    except yaml.YAMLError as exc:
        raise ExerciseFormatError.from_cell(index, f"Otter {first} cell has invalid YAML: {exc}") from None
    return first, config if isinstance(config, dict) else {}


def _otter_release(code: str) -> str:
    out: list[str] = []
    skip = 0  # 1 inside BEGIN SOLUTION, 2 inside BEGIN IGNORE
    prompt = False
    for line in code.splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if re.match(r"#\s*BEGIN SOLUTION", stripped):
            if "NO PROMPT" not in stripped:
                out.append(indent + "...")
            skip = 1
            continue
        if re.match(r"#\s*END SOLUTION", stripped) or re.match(r"#\s*END IGNORE", stripped):
            skip = 0
            continue
        if re.match(r"#\s*BEGIN IGNORE", stripped):
            skip = 2
            continue
        if re.match(r'^"""\s*#\s*BEGIN PROMPT', stripped):
            prompt = True
            continue
        if re.match(r'^"""\s*;?\s*#\s*END PROMPT', stripped):
            prompt = False
            continue
        if skip:
            continue
        if prompt:
            out.append(line)
            continue
        if stripped.endswith("# IGNORE") or stripped.endswith("# SEED"):
            continue
        if re.search(r"#\s*SOLUTION NO PROMPT\s*$", line):
            continue
        match = re.match(r"^(\s*)(.+?)\s*=\s*.+#\s*SOLUTION\s*$", line)
        if match and not match.group(2).lstrip().startswith(("return", "if ", "for ")):
            out.append(f"{match.group(1)}{match.group(2)} = ...")
            continue
        if re.search(r"#\s*SOLUTION\s*$", line):
            out.append(indent + "...")
            continue
        out.append(line)
    return "\n".join(out)


def _otter_source(code: str) -> str:
    """The instructor's code as run: IGNORE lines and prompt blocks dropped."""
    out: list[str] = []
    ignore = prompt = False
    for line in code.splitlines():
        stripped = line.strip()
        if re.match(r"#\s*BEGIN IGNORE", stripped):
            ignore = True
            continue
        if re.match(r"#\s*END IGNORE", stripped):
            ignore = False
            continue
        if re.match(r'^"""\s*#\s*BEGIN PROMPT', stripped):
            prompt = True
            continue
        if re.match(r'^"""\s*;?\s*#\s*END PROMPT', stripped):
            prompt = False
            continue
        if ignore or prompt or stripped.endswith("# IGNORE"):
            continue
        out.append(line)
    return "\n".join(out)


def _is_otter_infrastructure(code: str) -> bool:
    lines = [ln.strip() for ln in code.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return bool(lines) and all(ln.startswith(("import otter", "grader = otter.", "grader.")) for ln in lines)


def _split_points(where: str, total: Any, declared: list[float | None]) -> list[float]:
    """Each test's share of a question's ``points`` (a total, a per-test list, or absent).

    ``where`` names the question's cell, or the question alone when it has none (metadata tests).
    """
    if isinstance(total, list):
        if len(total) != len(declared):
            raise ExerciseFormatError(f"{where}: points list does not match its tests")
        return [_points(p, where) for p in total]
    missing = [p for p in declared if p is None]
    given = sum(p for p in declared if p is not None)
    if total is None:
        if len(missing) == len(declared):
            return [1.0 / len(declared)] * len(declared) if declared else []
        return [p if p is not None else 0.0 for p in declared]
    share = (_points(total, where) - given) / len(missing) if missing else 0.0
    if share < 0:
        raise ExerciseFormatError(f"{where}: tests declare more points than it has")
    return [p if p is not None else share for p in declared]


def parse_otter(nb: dict[str, Any]) -> Exercise:
    if isinstance(nb.get("metadata", {}).get("otter"), dict) and nb["metadata"]["otter"].get("tests"):
        return _parse_otter_generated(nb)
    cells: list[ExerciseCell] = []
    tests: list[Test] = []
    manual: list[ManualQuestion] = []
    questions: list[Question] = []
    question: dict[str, Any] | None = None
    pending: list[tuple[dict[str, Any], float | None]] = []
    state = ""
    slots = {"code": 0, "markdown": 0}
    question_where = ""  # the BEGIN QUESTION cell, named in errors about the question's config
    # Test ids and manual question ids share one namespace (as in _finish), checked here to name the cell.
    ids_seen: set[str] = set()
    question_names: set[str] = set()

    def close_question() -> None:
        nonlocal pending
        assert question is not None
        name = str(question["name"])
        if question.get("manual"):
            # A manual question that declares no points counts for 1; a declared 0 stays 0.
            points = question.get("points")
            manual.append(ManualQuestion(name, name, 1.0 if points is None else _points(points, question_where)))
        elif pending:
            points = _split_points(question_where, question.get("points"), [p for _, p in pending])
            for (test, _), share in zip(pending, points, strict=True):
                tests.append(Test(**{**test, "points": round(share, 6)}))
        questions.append(Question(name, bool(question.get("all_or_nothing", False))))
        pending = []

    for index, cell in enumerate(nb["cells"]):
        kind = cell["cell_type"]
        text = source_of(cell)
        directive = _otter_directive(cell, index)
        if directive is not None:
            name, config = directive
            if name == "BEGIN QUESTION":
                if question is not None:
                    raise ExerciseFormatError.from_cell(index, "BEGIN QUESTION inside a question")
                if not config.get("name"):
                    raise ExerciseFormatError.from_cell(index, "a question needs a name")
                qname = str(config["name"])
                if qname in question_names:
                    raise ExerciseFormatError.from_cell(index, f"duplicate question name {qname!r}")
                question_names.add(qname)
                if config.get("manual"):
                    if qname in ids_seen:
                        raise ExerciseFormatError.from_cell(index, f"duplicate id {qname!r}: a test already has it")
                    ids_seen.add(qname)
                question = config
                question_where = f"cell {index} (question {qname})"
            elif name == "END QUESTION":
                if question is None:
                    raise ExerciseFormatError.from_cell(index, "END QUESTION without BEGIN")
                close_question()
                question = None
            elif name.startswith("BEGIN "):
                state = name[6:]
            elif name.startswith("END "):
                state = ""
            continue
        if state == "SOLUTION":
            if question is None:
                raise ExerciseFormatError.from_cell(index, "a solution outside a question")
            if kind == "code":
                key = f"code:{slots['code']}"
                slots["code"] += 1
                role: CellRole = "manual" if question.get("manual") else "answer"
                cells.append(ExerciseCell(role, kind, _otter_source(text), _otter_release(text), key=key))
            elif kind == "markdown" and "otter_include" not in tags_of(cell):
                key = f"markdown:{slots['markdown']}"
                slots["markdown"] += 1
                released = "_Type your answer here, replacing this text._"
                cells.append(ExerciseCell("manual", kind, text, released, key=key))
            else:
                cells.append(ExerciseCell("text", kind, text, text))
        elif state == "PROMPT":
            key = f"{kind}:{slots.get(kind, 0)}"
            if kind in slots:
                slots[kind] += 1
            cells.append(ExerciseCell("manual", kind, "", text, key=key))
        elif state == "TESTS":
            if question is None or kind != "code":
                raise ExerciseFormatError.from_cell(index, "tests must be code cells in a question")
            config_match = _TEST_CONFIG.match(text)
            test_config: dict[str, Any] = {}
            body = text
            if config_match:
                try:
                    loaded = yaml.safe_load(config_match.group(1)) or {}
                except yaml.YAMLError as exc:
                    raise ExerciseFormatError.from_cell(index, f"the TEST CONFIG has invalid YAML: {exc}") from None
                test_config = loaded if isinstance(loaded, dict) else {}
                body = text[config_match.end() :]
            hidden = bool(test_config.get("hidden", False))
            if body.lstrip().upper().startswith("# HIDDEN"):
                hidden = True
            qname = str(question["name"])
            number = len(pending) + 1
            test_id = str(test_config.get("name") or f"{qname}-{number}")
            if test_id in ids_seen:
                raise ExerciseFormatError.from_cell(index, f"duplicate test id {test_id!r}")
            ids_seen.add(test_id)
            kind_of: TestKind = "assert" if re.search(r"^def test_", body, re.M) else "output"
            points = test_config.get("points")
            pending.append(
                (
                    {
                        "id": test_id,
                        "name": test_id,
                        "hidden": hidden,
                        "code": body.strip("\n"),
                        "kind": kind_of,
                        "question": qname,
                        "success_message": str(test_config.get("success_message", "")),
                        "failure_message": str(test_config.get("failure_message", "")),
                    },
                    None if points is None else _points(points, f"cell {index} ({test_id})"),
                )
            )
            cells.append(ExerciseCell("test", kind, text, "" if hidden else body, test_ids=(test_id,)))
        elif kind == "code":
            role = "text" if _is_otter_infrastructure(text) else "context"
            cells.append(ExerciseCell(role, kind, text, text))
        else:
            cells.append(ExerciseCell("text", kind, text, text))
    if question is not None:
        raise ExerciseFormatError(f"question {question.get('name')} has no END QUESTION")
    return _finish("otter", cells, tests, manual, questions=questions)


def _parse_otter_generated(nb: dict[str, Any]) -> Exercise:
    """Autograder notebooks written by ``otter assign`` (doctest cases in metadata)."""
    spec = nb["metadata"]["otter"]["tests"]
    cells: list[ExerciseCell] = []
    tests: list[Test] = []
    manual: list[ManualQuestion] = []
    questions: list[Question] = []
    slots = {"code": 0, "markdown": 0}
    region_points: float | None = None
    region_checked = False
    region_open = False
    for index, cell in enumerate(nb["cells"]):
        kind = cell["cell_type"]
        text = source_of(cell)
        tags = tags_of(cell)
        if kind == "markdown" and "<!-- BEGIN QUESTION -->" in text:
            found = re.search(r"_Points:_\s*([0-9.]+)", text)
            region_points = _points(found.group(1), f"cell {index}") if found else 1.0
            region_checked = False
            region_open = True
        elif kind == "markdown" and "<!-- END QUESTION -->" in text and region_open:
            if not region_checked:
                name = f"manual-{len(manual) + 1}"
                manual.append(ManualQuestion(name, name, region_points or 1.0))
            region_open = False
        if kind == "code" and "grader.check(" in text:
            region_checked = True
        if "otter_assign_solution_cell" in tags:
            key = f"{kind}:{slots[kind]}"
            slots[kind] += 1
            role: CellRole = "answer" if kind == "code" else "manual"
            released = _otter_release(text) if kind == "code" else "_Type your answer here, replacing this text._"
            cells.append(ExerciseCell(role, kind, text, released, key=key))
        elif "otter_answer_cell" in tags:
            continue
        elif kind == "code":
            role = "text" if _is_otter_infrastructure(text) else "context"
            cells.append(ExerciseCell(role, kind, text, text))
        else:
            cells.append(ExerciseCell("text", kind, text, text))
    for qname, question in spec.items():
        cases = [case for suite in question.get("suites", []) for case in suite.get("cases", [])]
        # Generated tests live in the notebook's metadata, not in a cell: the question is named.
        where = f"question {qname}"
        declared = [None if c.get("points") is None else _points(c["points"], where) for c in cases]
        shares = _split_points(where, question.get("points"), declared)
        for number, (case, share) in enumerate(zip(cases, shares, strict=True), start=1):
            test_id = f"{qname}-{number}"
            tests.append(
                Test(
                    id=test_id,
                    name=test_id,
                    points=round(share, 6),
                    hidden=bool(case.get("hidden")),
                    code=str(case.get("code", "")),
                    kind="doctest",
                    question=qname,
                    success_message=str(case.get("success_message", "")),
                    failure_message=str(case.get("failure_message", "")),
                )
            )
        questions.append(Question(qname, bool(question.get("all_or_nothing", False))))
    return _finish("otter", cells, tests, manual, questions=questions)


# -- submissions --------------------------------------------------------------------------------
def submission_answers(exercise: Exercise, nb: dict[str, Any]) -> dict[str, str]:
    """Map the exercise's answer keys to the learner's text. Nothing else is taken."""
    wanted = {c.key: c for c in exercise.answer_cells()}
    found: dict[str, str] = {}
    slots = {"code": 0, "markdown": 0}
    for cell in nb["cells"]:
        md = metadata_of(cell)
        kind = cell["cell_type"]
        candidates: list[str] = []
        native = md.get(NATIVE_KEY)
        if isinstance(native, dict):
            candidates += [str(native.get("answer", "")), str(native.get("id", ""))]
        nbg = md.get("nbgrader")
        if exercise.format == "nbgrader" and isinstance(nbg, dict):
            candidates.append(str(nbg.get("grade_id", "")))
        if exercise.format == "native" and cell.get("id"):
            candidates.append(str(cell["id"]))
        if exercise.format == "otter" and "otter_answer_cell" in tags_of(cell) and kind in slots:
            candidates.append(f"{kind}:{slots[kind]}")
            slots[kind] += 1
        for key in candidates:
            if key in wanted and key not in found and wanted[key].cell_type == kind:
                found[key] = source_of(cell)
                break
    if exercise.format == "otter" and len(found) < len(wanted):
        # An instructor-style notebook (e.g. the source graded against itself to validate it). Otter's
        # generated notebooks tag only some answer cells (the markdown prompts), so fill in the rest.
        try:
            instructor_style = parse_otter(nb)
        except ExerciseFormatError:
            return found
        for cell in instructor_style.cells:
            if cell.key in wanted and cell.key not in found and cell.role in ("answer", "manual"):
                found[cell.key] = cell.source
    return found
