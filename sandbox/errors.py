"""Exceptions raised by the grading engine (never Django's, never jupyter-client's)."""

from __future__ import annotations


class SandboxError(Exception):
    """Base class of every error the engine raises."""


class SandboxUnavailable(SandboxError):
    """The sandbox cannot be trusted on this machine, so nothing is executed."""

    @classmethod
    def from_reason(cls, reason: str) -> SandboxUnavailable:
        return cls(f"sandbox unavailable: {reason}")


class KernelStartError(SandboxError):
    """A sandboxed kernel or judge did not start (infrastructure failure, retry later)."""

    @classmethod
    def from_output(cls, what: str, output: str) -> KernelStartError:
        tail = output.strip()[-2000:]
        return cls(f"{what} did not start" + (f": {tail}" if tail else ""))


class ExerciseFormatError(SandboxError):
    """The instructor's notebook cannot be turned into an exercise."""

    @classmethod
    def from_cell(cls, index: int, reason: str) -> ExerciseFormatError:
        return cls(f"cell {index}: {reason}")


class InvalidSubmission(SandboxError):
    """The learner's notebook cannot be read (not JSON, not a notebook, too large)."""


class SubmissionEnded(SandboxError):
    """A limit was breached or the kernel died: the submission ends with ``verdict``."""

    def __init__(self, verdict: str, detail: str = "") -> None:
        super().__init__(f"{verdict}: {detail}" if detail else verdict)
        self.verdict = verdict
        self.detail = detail
