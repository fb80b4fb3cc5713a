"""sandbox/selftest.py and the fail-closed policy (sandbox/policy.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sandbox.errors import SandboxUnavailable
from sandbox.grader import Grader
from sandbox.kernel import SandboxedKernel
from sandbox.pool import KernelPool
from sandbox.selftest import check_sandbox
from sandbox.settings import PoolSettings, SandboxSettings


def test_without_bubblewrap_grading_refuses(sandbox_settings: SandboxSettings, tmp_path: Path) -> None:
    settings = replace(sandbox_settings, bwrap=tmp_path / "no-bwrap")
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        SandboxedKernel(settings)
    with pytest.raises(SandboxUnavailable):
        KernelPool(PoolSettings(size=1, sandbox=settings))
    with pytest.raises(SandboxUnavailable):
        Grader(settings).run(["print(1)"])


def test_without_kernel_runtime_grading_refuses(sandbox_settings: SandboxSettings, tmp_path: Path) -> None:
    settings = replace(sandbox_settings, kernel_python=tmp_path / "python")
    with pytest.raises(SandboxUnavailable, match="kernel runtime"):
        SandboxedKernel(settings)


@pytest.mark.kernel
def test_selftest_holds_on_this_machine(sandbox_settings: SandboxSettings) -> None:
    lines: list[str] = []
    assert check_sandbox(sandbox_settings, report=lines.append) == [], lines
    assert any("process limit" in line for line in lines)
