"""What a learner may be shown of their own code's outputs (the "Run" button).

Learner outputs are hostile input. Only plain text, errors and images survive, and each is checked
here once, before it is stored: text is text (pages write it with textContent or Django's
escaping, never as markup), ANSI colour codes are stripped, and an image is kept only when its
bytes decode as a PNG or JPEG file of sane dimensions. HTML, SVG, JavaScript and Markdown never
reach this point: the engine keeps only their text/plain form (sandbox/run.py).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Any

from django.utils.translation import gettext_lazy

from sandbox.run import RunOutcome

# CSI sequences (colours, cursor moves) and the few other escapes terminals use.
ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# Control characters other than tab and newline show as nothing useful; carriage returns (progress
# bars) are kept as newlines.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT_CHARS = 64 * 1024
MAX_IMAGE_PIXELS = 4000 * 4000
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}

IMAGE_OMITTED = gettext_lazy("[image omitted: not a valid PNG or JPEG image]")
RUN_STATUS = {
    "ran": gettext_lazy("All cells ran."),
    "stopped at an error": gettext_lazy("Stopped at the first error; the cells after it did not run."),
}


def clean_text(text: str) -> str:
    return CONTROL.sub("", ANSI_ESCAPE.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n"))[:MAX_TEXT_CHARS]


def image_data_uri(encoded: str) -> str | None:
    """A data: URI for base64 image data that really is a PNG or JPEG image, else None."""
    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode(encoded.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        with Image.open(io.BytesIO(raw)) as image:
            kind = IMAGE_FORMATS.get(image.format or "")
            width, height = image.size
            if kind is None or width * height > MAX_IMAGE_PIXELS:
                return None
            image.verify()  # walks the chunks and checksums without decoding pixels
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return f"data:{kind};base64,{base64.b64encode(raw).decode()}"


def clean_output(output: dict[str, Any]) -> dict[str, Any]:
    kind = output.get("kind")
    if kind == "error":
        return {
            "kind": "error",
            "ename": clean_text(output.get("ename", ""))[:200],
            "evalue": clean_text(output.get("evalue", ""))[:4000],
            "traceback": clean_text(output.get("traceback", "")),
        }
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        return {"kind": "stream", "name": name, "text": clean_text(output.get("text", ""))}
    cleaned: dict[str, Any] = {"kind": "result" if kind == "result" else "display"}
    png = output.get("png")
    if isinstance(png, str):
        uri = image_data_uri(png)
        if uri is not None:
            cleaned["image"] = uri
            return cleaned
        # Said in the learner's language when shown (lms.progress.views), not in the worker's.
        cleaned["omitted"] = "image"
        return cleaned
    cleaned["text"] = clean_text(output.get("text", ""))
    return cleaned


def run_feedback(outcome: RunOutcome) -> dict[str, Any]:
    """The stored, learner-safe form of a run: outputs per answer cell, in notebook order."""
    raw = outcome.to_dict()
    return {
        "status": outcome.status,
        "detail": clean_text(outcome.detail)[:4000],
        "duration_ms": outcome.duration_ms,
        "cells": [
            {"key": cell["key"], "ran": cell["ran"], "outputs": [clean_output(o) for o in cell["outputs"]]}
            for cell in raw["cells"]
        ],
        "instructor_errors": [clean_output(o) for o in raw["instructor_errors"]],
    }


def run_public(*, verdict: str, feedback: dict[str, Any]) -> dict[str, Any]:
    """What the learner is shown of a stored run, in their language: the same on the page and in the API.

    The outputs were checked when stored (``run_feedback``); an image that failed the check is
    replaced by a sentence saying so.
    """

    def shown(output: dict[str, Any]) -> dict[str, Any]:
        return {**output, "text": str(IMAGE_OMITTED)} if output.get("omitted") == "image" else output

    return {
        "verdict_label": str(RUN_STATUS.get(verdict, verdict)),
        "cells": [
            {"key": cell.get("key"), "ran": cell.get("ran"), "outputs": [shown(o) for o in cell.get("outputs", [])]}
            for cell in feedback.get("cells", [])
        ],
        "instructor_errors": [shown(o) for o in feedback.get("instructor_errors", [])],
    }
