"""The lesson file format of content/: Markdown with a few block extensions, turned into StreamField data.

Kept free of the database so it can be tested and reused by other importers. content/README.md is
the authors' guide to this format.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown
import yaml

from courses.quizzes import KNOWN_KEYS, QuizSpecError, shared_signature, validate_quiz

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
IMAGE_LINE = re.compile(r'^!\[(?P<alt>[^\]]*)\]\((?P<src>[^\s)]+)(?:\s+"(?P<caption>[^"]*)")?\)\s*$')
VIDEO_LINE = re.compile(r"^!video\[(?P<caption>[^\]]*)\]\((?P<url>https?://[^\s)]+)\)\s*$")
CALLOUT_OPEN = re.compile(r"^:::\s*(?P<kind>note|tip|warning)\s*$")
FENCE_OPEN = re.compile(r"^```(?P<language>[\w+-]*)\s*$")


class ContentError(ValueError):
    """A content file that cannot be loaded; the message names the file and line."""


@dataclass
class ImageRef:
    """An image a lesson refers to, resolved to a Wagtail image id by the loader."""

    path: Path
    alt_text: str
    caption: str


@dataclass
class ExerciseRef:
    """An ```exercise block: the notebook it imports (resolved by the loader) and its texts in
    this file's language. ``instructions`` and ``hints`` are HTML made from the author's Markdown."""

    notebook: Path
    title: str
    instructions: str
    hints: list[str]
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class ParsedLesson:
    title: str
    summary: str
    minutes: int
    blocks: list[dict[str, Any]] = field(default_factory=list)
    images: list[ImageRef] = field(default_factory=list)
    quizzes: list[QuizRef] = field(default_factory=list)
    exercises: list[ExerciseRef] = field(default_factory=list)


@dataclass
class QuizRef:
    """Where a quiz is, and what all languages must share, for the loader's checks across files."""

    quiz_id: str
    line: int
    signature: dict[str, Any]


def markdown_to_html(text: str) -> str:
    return markdown.markdown(text, extensions=["sane_lists"], output_format="html")


def read_front_matter(path: Path) -> tuple[dict[str, Any], str, int]:
    """Split a Markdown file into its YAML front matter, its body and the body's first line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ContentError(f"{path}: not UTF-8 text ({error.reason})") from error
    match = FRONT_MATTER.match(text)
    if not match:
        raise ContentError(f"{path}: missing front matter (a '---' block with at least a title)")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        raise ContentError(f"{path}: front matter is not valid YAML: {error}") from error
    if not isinstance(meta, dict) or not str(meta.get("title", "")).strip():
        raise ContentError(f"{path}: front matter needs a title")
    return meta, text[match.end() :], match.group(0).count("\n") + 1


def parse_lesson(path: Path, course_dir: Path) -> ParsedLesson:
    meta, body, first_line = read_front_matter(path)
    try:
        minutes = int(meta.get("minutes", 10))
    except (TypeError, ValueError) as error:
        raise ContentError(f"{path}: minutes must be a whole number") from error
    lesson = ParsedLesson(
        title=str(meta["title"]).strip(), summary=str(meta.get("summary", "")).strip(), minutes=minutes
    )
    _parse_body(body.splitlines(), path, first_line, course_dir, lesson)
    return lesson


def _parse_body(lines: list[str], path: Path, first_line: int, course_dir: Path, lesson: ParsedLesson) -> None:
    text: list[str] = []

    def flush_text() -> None:
        if "".join(text).strip():
            lesson.blocks.append({"type": "text", "value": markdown_to_html("\n".join(text))})
        text.clear()

    def take_until(start: int, closing: str, what: str) -> tuple[list[str], int]:
        for end in range(start + 1, len(lines)):
            if lines[end].strip() == closing:
                return lines[start + 1 : end], end + 1
        raise ContentError(f"{path}:{first_line + start}: {what} is not closed with '{closing}'")

    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if (fence := FENCE_OPEN.match(line)) and fence.group("language") == "quiz":
            flush_text()
            start = first_line + index
            body, index = take_until(index, "```", "quiz block")
            value = parse_quiz("\n".join(body), path, start)
            lesson.quizzes.append(QuizRef(value["quiz_id"], start, shared_signature(value)))
            lesson.blocks.append({"type": "quiz", "value": _with_list_item_ids(value)})
        elif (fence := FENCE_OPEN.match(line)) and fence.group("language") == "exercise":
            flush_text()
            body_lines, end = take_until(index, "```", "exercise block")
            ref = parse_exercise_fence(body_lines, path, first_line + index, course_dir)
            lesson.exercises.append(ref)
            # The loader swaps the ExerciseRef for the imported Exercise and the block's texts.
            lesson.blocks.append({"type": "exercise", "value": ref})
            index = end
        elif fence := FENCE_OPEN.match(line):
            flush_text()
            code, index = take_until(index, "```", "code block")
            value = {"language": fence.group("language") or "text", "code": "\n".join(code), "caption": ""}
            lesson.blocks.append({"type": "code", "value": value})
        elif stripped == "$$":
            flush_text()
            latex, index = take_until(index, "$$", "math block")
            lesson.blocks.append({"type": "math", "value": {"latex": "\n".join(latex).strip()}})
        elif callout := CALLOUT_OPEN.match(stripped):
            flush_text()
            inner, index = take_until(index, ":::", "callout")
            value = {"kind": callout.group("kind"), "body": markdown_to_html("\n".join(inner))}
            lesson.blocks.append({"type": "callout", "value": value})
        elif image := IMAGE_LINE.match(stripped):
            flush_text()
            image_path = (course_dir / image.group("src")).resolve()
            if not image_path.is_relative_to(course_dir.resolve()) or not image_path.is_file():
                raise ContentError(
                    f"{path}:{first_line + index}: image not found in the course folder: {image.group('src')}"
                )
            ref = ImageRef(path=image_path, alt_text=image.group("alt"), caption=image.group("caption") or "")
            lesson.images.append(ref)
            # The loader swaps the ImageRef for the Wagtail image id.
            lesson.blocks.append({"type": "image", "value": ref})
            index += 1
        elif video := VIDEO_LINE.match(stripped):
            flush_text()
            lesson.blocks.append(
                {"type": "video", "value": {"url": video.group("url"), "caption": video.group("caption")}}
            )
            index += 1
        else:
            text.append(line)
            index += 1
    flush_text()


def _key_lines(text: str) -> dict[str, int]:
    """The line (0-based, within `text`) of each top-level key of a YAML mapping."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line for key, _value in node.value if isinstance(key, yaml.ScalarNode)}


def parse_quiz(text: str, path: Path, fence_line: int) -> dict[str, Any]:
    """A ```quiz fence's YAML as a QuizBlock value, or ContentError naming the file and the offending line."""
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = fence_line + 1 + (mark.line if mark else 0)
        raise ContentError(f"{path}:{line}: quiz is not valid YAML: {getattr(error, 'problem', error)}") from error
    if not isinstance(spec, dict):
        raise ContentError(f"{path}:{fence_line}: a quiz is a YAML mapping (id, kind, question, ...)")
    lines = _key_lines(text)

    def refuse(message: str, key: str = "") -> ContentError:
        line = fence_line + 1 + lines[key] if key in lines else fence_line
        label = spec.get("id") or "quiz"
        return ContentError(f"{path}:{line}: quiz {label}: {message}")

    unknown = sorted(str(key) for key in spec if key not in KNOWN_KEYS)
    if unknown:
        raise refuse(f"unknown key {unknown[0]!r}; use {', '.join(sorted(KNOWN_KEYS))}", unknown[0])
    options = spec.get("options") or []
    if not isinstance(options, list) or not all(isinstance(option, dict) for option in options):
        raise refuse("options must be a list of {text, correct, feedback}", "options")
    accept = spec.get("accept") or []
    if not isinstance(accept, list):
        raise refuse('accept must be a list, e.g. ["Paris", "parís"]', "accept")
    value = {
        "quiz_id": str(spec.get("id") or ""),
        "kind": spec.get("kind"),
        "points": spec.get("points", 1),
        "question": markdown_to_html(str(spec.get("question") or "")),
        "options": [
            {
                "text": str(option.get("text") or "").strip(),
                "correct": option.get("correct") is True,
                "feedback": str(option.get("feedback") or "").strip(),
            }
            for option in options
        ],
        "answer": spec.get("answer"),
        "tolerance": spec.get("tolerance"),
        "accept": [str(item).strip() for item in accept],
        "explanation": markdown_to_html(str(spec.get("explanation") or "")),
    }
    for option in options:
        if option.get("correct") not in (None, True, False):
            raise refuse("correct must be true or false", "options")
    try:
        validate_quiz({**value, "question": spec.get("question")})
    except QuizSpecError as error:
        raise refuse(str(error), error.key) from error
    for key in ("answer", "tolerance"):
        if value[key] is not None:
            value[key] = float(value[key])
    return value


def _with_list_item_ids(value: dict[str, Any]) -> dict[str, Any]:
    """Options and accepted answers in Wagtail's ListBlock storage format, with ids.

    wagtail-localize offers list items for translation only in this format. The ids derive from the
    quiz id and the position, so every language's version of an item has the same id, as a
    translation made in the admin would.
    """

    def items(name: str) -> list[dict[str, Any]]:
        return [
            {
                "type": "item",
                "value": item,
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"quiz:{value['quiz_id']}:{name}:{n}")),
            }
            for n, item in enumerate(value[name])
        ]

    return {**value, "options": items("options"), "accept": items("accept")}


EXERCISE_KEYS = {"notebook", "title", "instructions", "hints"}
# The notebook's file stem names the exercise (`<course-slug>--<stem>`): lowercase words and hyphens.
NOTEBOOK_STEM = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def parse_exercise_fence(lines: list[str], path: Path, fence_line: int, course_dir: Path) -> ExerciseRef:
    """Read the YAML body of an ```exercise block that opens on line ``fence_line`` of ``path``."""

    def refuse(reason: str, line: int = fence_line) -> ContentError:
        return ContentError(f"{path}:{line}: exercise block: {reason}")

    try:
        spec = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = fence_line + 1 + mark.line if mark is not None else fence_line
        raise refuse(f"not valid YAML: {getattr(error, 'problem', None) or error}", line) from error
    if not isinstance(spec, dict):
        raise refuse("expected keys notebook, title, instructions and hints")
    unknown = sorted(set(map(str, spec)) - EXERCISE_KEYS)
    if unknown:
        raise refuse(f"unknown key {unknown[0]!r}; use {', '.join(sorted(EXERCISE_KEYS))}")
    notebook = spec.get("notebook")
    if not isinstance(notebook, str) or not notebook.strip().endswith(".ipynb"):
        raise refuse("'notebook' must be the path of an .ipynb file, relative to the course folder")
    notebook_path = (course_dir / notebook.strip()).resolve()
    if not notebook_path.is_relative_to(course_dir.resolve()) or not notebook_path.is_file():
        raise refuse(f"notebook not found in the course folder: {notebook.strip()}")
    if not NOTEBOOK_STEM.match(notebook_path.stem):
        raise refuse(f"rename {notebook_path.name}: a notebook's name is lowercase words joined by single hyphens")
    title = spec.get("title")
    if not isinstance(title, str) or not title.strip():
        raise refuse("'title' is missing or empty")
    instructions = spec.get("instructions", "")
    if not isinstance(instructions, str):
        raise refuse("'instructions' must be Markdown text")
    hints = spec.get("hints") or []
    if not isinstance(hints, list) or not all(isinstance(hint, str) and hint.strip() for hint in hints):
        raise refuse("'hints' must be a list of non-empty texts")
    return ExerciseRef(
        notebook=notebook_path,
        title=title.strip(),
        instructions=markdown_to_html(instructions) if instructions.strip() else "",
        hints=[markdown_to_html(hint) for hint in hints],
        path=path,
        line=fence_line,
    )


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ContentError(f"{path}: not valid YAML: {error}") from error
    except OSError as error:
        raise ContentError(f"{path}: cannot be read: {error.strerror}") from error
    if not isinstance(data, dict):
        raise ContentError(f"{path}: expected a mapping at the top level")
    return data
