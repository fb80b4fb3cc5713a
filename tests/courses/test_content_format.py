from pathlib import Path

import pytest

from courses.content_format import ContentError, ImageRef, parse_lesson


def write(tmp_path: Path, body: str, front: str = 'title: "T"\nminutes: 7') -> Path:
    path = tmp_path / "en.md"
    path.write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")
    return path


def test_every_block_kind_is_recognised(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"png")
    body = (
        "Intro **bold**.\n\n```python\nx = 1\n```\n\n$$\na^2 + b^2\n$$\n\n::: warning\nCareful *now*.\n:::\n\n"
        '![Alt](images/a.png "Cap")\n\n!video[Watch](https://example.org/v)\n\nOutro.\n'
    )
    lesson = parse_lesson(write(tmp_path, body), tmp_path)
    kinds = [block["type"] for block in lesson.blocks]
    assert kinds == ["text", "code", "math", "callout", "image", "video", "text"]
    assert lesson.minutes == 7
    assert lesson.blocks[1]["value"] == {"language": "python", "code": "x = 1", "caption": ""}
    assert lesson.blocks[2]["value"]["latex"] == "a^2 + b^2"
    assert lesson.blocks[3]["value"]["kind"] == "warning" and "<em>now</em>" in lesson.blocks[3]["value"]["body"]
    assert isinstance(lesson.blocks[4]["value"], ImageRef) and lesson.blocks[4]["value"].caption == "Cap"
    assert lesson.blocks[5]["value"] == {"url": "https://example.org/v", "caption": "Watch"}
    assert "<strong>bold</strong>" in lesson.blocks[0]["value"]


@pytest.mark.parametrize(
    ("body", "front", "message"),
    [
        ("```python\nnever closed\n", 'title: "T"', "code block is not closed"),
        ("$$\nx\n", 'title: "T"', "math block is not closed"),
        ("::: tip\nopen\n", 'title: "T"', "callout is not closed"),
        ("![x](../../etc/passwd)\n", 'title: "T"', "image not found in the course folder"),
        ("text", "minutes: 3", "needs a title"),
        ("text", 'title: "T"\nminutes: soon', "minutes must be a whole number"),
        ("text", "title: [unclosed", "not valid YAML"),
    ],
)
def test_bad_files_are_refused_with_the_file_named(tmp_path, body, front, message):
    path = write(tmp_path, body, front)
    with pytest.raises(ContentError, match=message) as error:
        parse_lesson(path, tmp_path)
    assert str(path) in str(error.value)


def test_missing_front_matter(tmp_path):
    path = tmp_path / "en.md"
    path.write_text("# Just markdown\n", encoding="utf-8")
    with pytest.raises(ContentError, match="missing front matter"):
        parse_lesson(path, tmp_path)
