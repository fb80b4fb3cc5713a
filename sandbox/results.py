"""Result types returned by the engine: plain dataclasses, JSON-ready through ``to_dict``."""

from __future__ import annotations

import base64
import re
from dataclasses import asdict, dataclass, field
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass
class CellOutput:
    """One output of a cell: text (stream/result), an error, or an image as base64 PNG."""

    kind: str
    text: str = ""
    name: str = ""
    png: str | None = None
    ename: str = ""
    evalue: str = ""
    traceback: str = ""

    @classmethod
    def from_message(cls, kind: str, content: dict[str, Any], image_bytes_max: int) -> CellOutput:
        if kind == "stream":
            return cls(kind="stream", name=str(content.get("name", "stdout")), text=str(content.get("text", "")))
        if kind == "error":
            frames = content.get("traceback") or []
            tb = strip_ansi("\n".join(str(f) for f in frames)) if isinstance(frames, list) else ""
            return cls(
                kind="error",
                ename=str(content.get("ename", "")),
                evalue=str(content.get("evalue", "")),
                traceback=tb,
            )
        data = content.get("data") or {}
        png = data.get("image/png") if isinstance(data, dict) else None
        text = str(data.get("text/plain", "")) if isinstance(data, dict) else ""
        kept_png: str | None = None
        if isinstance(png, str):
            if len(png) * 3 // 4 <= image_bytes_max and _is_png(png):
                kept_png = png
            else:
                text = "[image omitted: larger than the limit or not a PNG]"
        return cls(kind="result" if kind == "execute_result" else "display", text=text, png=kept_png)

    def size(self) -> int:
        return len(self.text) + len(self.png or "") + len(self.traceback) + len(self.evalue)

    def truncated(self, room: int) -> CellOutput:
        if self.png is not None and len(self.png) > room:
            return CellOutput(kind=self.kind, text="[image omitted: output limit]"[:room])
        return CellOutput(kind=self.kind, name=self.name, text=self.text[:room], png=self.png)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


def _is_png(data: str) -> bool:
    try:
        return base64.b64decode(data[:16] + "=" * (-len(data[:16]) % 4))[:8] == b"\x89PNG\r\n\x1a\n"
    except ValueError:
        return False


@dataclass
class TestResult:
    """One autograded test. Hidden tests never carry their source or expected values."""

    id: str
    name: str
    points: float
    max_points: float
    passed: bool
    hidden: bool
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ManualItem:
    """A cell an instructor grades by hand: reported, never scored by the engine."""

    id: str
    name: str
    max_points: float
    answer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GradeResult:
    status: str
    score: float
    max_score: float
    tests: list[TestResult] = field(default_factory=list)
    manual: list[ManualItem] = field(default_factory=list)
    duration_ms: int = 0
    detail: str = ""
    outputs: list[list[CellOutput]] = field(default_factory=list)
    #: When a limit ended the submission (``status`` other than "graded"): what was running then,
    #: a cell as its position in ``Exercise.cells`` or a test by id; neither during the judge's setup.
    ended_in_cell: int | None = None
    ended_in_test: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "tests": [t.to_dict() for t in self.tests],
            "manual": [m.to_dict() for m in self.manual],
            "duration_ms": self.duration_ms,
            "detail": self.detail,
        }


@dataclass
class RunResult:
    """Outputs of learner cells executed without grading (the web layer's "Run")."""

    status: str
    cells: list[list[CellOutput]] = field(default_factory=list)
    duration_ms: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "cells": [[o.to_dict() for o in cell] for cell in self.cells],
            "duration_ms": self.duration_ms,
            "detail": self.detail,
        }
