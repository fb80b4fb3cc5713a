"""OpenCapacity's Django-free grading engine.

Learner code runs in a bubblewrap-confined ipykernel; instructor tests run in a separate, pristine
sandboxed judge process that reaches learner objects only through a narrow data channel.
"""

from .errors import (
    ExerciseFormatError,
    InvalidSubmission,
    KernelStartError,
    SandboxError,
    SandboxUnavailable,
    SubmissionEnded,
)
from .results import CellOutput, GradeResult, ManualItem, RunResult, TestResult
from .settings import Limits, PoolSettings, SandboxSettings

__all__ = [
    "CellOutput",
    "ExerciseFormatError",
    "GradeResult",
    "InvalidSubmission",
    "KernelStartError",
    "Limits",
    "ManualItem",
    "PoolSettings",
    "RunResult",
    "SandboxError",
    "SandboxSettings",
    "SandboxUnavailable",
    "SubmissionEnded",
    "TestResult",
]
