"""Command line: ``python -m sandbox grade|release|selftest`` (see docs/grading.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import ExerciseFormatError, SandboxError
from .formats import FORMATS, load_notebook, parse_exercise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade a submission against an instructor notebook")
    grade.add_argument("source", type=Path)
    grade.add_argument("submission", type=Path)
    grade.add_argument("--format", choices=FORMATS, default="auto")
    grade.add_argument("--json", action="store_true", help="print one JSON object")
    grade.add_argument("--check", action="store_true", help="visible tests only")
    grade.add_argument("--datasets", type=Path, help="a directory of data files, read-only at /data")
    release = commands.add_parser("release", help="write the learner version of a notebook")
    release.add_argument("source", type=Path)
    release.add_argument("out", type=Path)
    release.add_argument("--format", choices=FORMATS, default="auto")
    commands.add_parser("selftest", help="prove the sandbox holds on this machine")
    args = parser.parse_args(argv)
    try:
        if args.command == "grade":
            return _grade(args)
        if args.command == "release":
            return _release(args)
        from .selftest import run_selftest

        return run_selftest()
    except ExerciseFormatError as exc:
        print(f"error: invalid exercise: {exc}", file=sys.stderr)
        return 2
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


def _grade(args: argparse.Namespace) -> int:
    from .grader import Grader

    exercise = parse_exercise(args.source.read_bytes(), args.format)
    submission = args.submission.read_bytes()
    grader = Grader()
    datasets = args.datasets.resolve() if args.datasets else None
    if args.check:
        result = grader.check(exercise, submission, datasets=datasets)
    else:
        result = grader.grade(exercise, submission, datasets=datasets)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"{result.status}: {result.score:g} / {result.max_score:g}")
        for test in result.tests:
            mark = "PASS" if test.passed else "FAIL"
            print(f"  {mark} {test.name} {test.points:g}/{test.max_points:g} {test.message}".rstrip())
        for item in result.manual:
            print(f"  MANUAL {item.name} (max {item.max_points:g})")
    return 0


def _release(args: argparse.Namespace) -> int:
    from .release import release_notebook

    raw = args.source.read_bytes()
    exercise = parse_exercise(raw, args.format)
    metadata = load_notebook(raw).get("metadata", {})
    notebook = release_notebook(exercise, metadata if isinstance(metadata, dict) else {})
    args.out.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
