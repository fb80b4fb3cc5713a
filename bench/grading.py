"""Grading latency: warm pool vs a fresh nbclient kernel, plus fresh-kernel throughput.

Run: ``.venv/bin/python bench/grading.py [--runs N] [--quiet-runs N] [--baseline-runs N]``. The
last line prints the speed-up ratio. The reference exercise is
tests/sandbox/notebooks/reference-exercise.ipynb (a scikit-learn fit, five visible and five hidden
tests). "Back to back" waits for one ready session per submission, so pool refills usually run
during the grade; "pool full" waits until the pool is full, so none does (grading cost alone).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402
from jupyter_client.kernelspec import KernelSpec  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from sandbox.forkserver import ForkServer  # noqa: E402
from sandbox.formats import parse_exercise  # noqa: E402
from sandbox.grader import Grader, Session, start_session  # noqa: E402
from sandbox.pool import KernelPool  # noqa: E402
from sandbox.settings import PoolSettings, SandboxSettings  # noqa: E402

NOTEBOOKS = REPO / "tests" / "sandbox" / "notebooks"


class OnDemand:
    """Stands in for a pool: forks a session when asked, destroys it when given back."""

    def __init__(self, server: ForkServer) -> None:
        self.server = server
        self.settings = PoolSettings(sandbox=server.settings)

    def acquire(self) -> Session:
        return start_session(self.server.settings, forkserver=self.server)

    def retire(self, session: Session) -> None:
        session.destroy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quiet-runs", type=int, default=10)
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--fresh-runs", type=int, default=20)
    args = parser.parse_args()
    source = (NOTEBOOKS / "reference-exercise.ipynb").read_bytes()
    submission = (NOTEBOOKS / "reference-correct.ipynb").read_bytes()
    exercise = parse_exercise(source)
    settings = SandboxSettings()

    with KernelPool(PoolSettings(size=2, sandbox=settings)) as pool:
        grader = Grader(pool=pool)
        warm: list[float] = []
        for _ in range(args.runs):
            pool.wait_ready(1, timeout=120)
            started = time.perf_counter()
            result = grader.grade(exercise, submission)
            warm.append(time.perf_counter() - started)
            assert result.score == result.max_score == 10, result.to_dict()
        quiet: list[float] = []
        for _ in range(args.quiet_runs):
            pool.wait_ready(timeout=120)
            started = time.perf_counter()
            result = grader.grade(exercise, submission)
            quiet.append(time.perf_counter() - started)
            assert result.score == result.max_score == 10, result.to_dict()
    p50 = statistics.median(warm)
    p95 = sorted(warm)[max(0, int(len(warm) * 0.95) - 1)]
    print(f"warm pool, back to back: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms over {len(warm)} submissions")
    if quiet:
        q50 = statistics.median(quiet)
        q95 = sorted(quiet)[max(0, int(len(quiet) * 0.95) - 1)]
        print(f"warm pool, pool full: p50 {q50 * 1000:.1f} ms, p95 {q95 * 1000:.1f} ms over {len(quiet)} submissions")

    # Sustained, one submission after another, each in a session started for it and destroyed
    # after it: forked from the zygote, then booted cold (the engine without a pool).
    server = ForkServer(settings)
    try:
        forked_grader = Grader(pool=OnDemand(server))  # type: ignore[arg-type]
        started = time.perf_counter()
        for _ in range(args.fresh_runs):
            assert forked_grader.grade(exercise, submission).score == 10
        per_forked = (time.perf_counter() - started) / args.fresh_runs
    finally:
        server.close()
    print(f"fresh forked session per submission: {1 / per_forked:.2f} submissions/s ({per_forked * 1000:.0f} ms each)")
    fresh = Grader(settings)
    started = time.perf_counter()
    for _ in range(args.baseline_runs):
        assert fresh.grade(exercise, submission).score == 10
    per_fresh = (time.perf_counter() - started) / args.baseline_runs
    print(f"fresh cold session per submission: {1 / per_fresh:.2f} submissions/s ({per_fresh * 1000:.0f} ms each)")

    baseline: list[float] = []
    for _ in range(args.baseline_runs):
        nb = nbformat.reads(source.decode(), as_version=4)
        started = time.perf_counter()
        km = KernelManager()
        km._kernel_spec = KernelSpec(  # the same runtime as the sandboxed kernels
            argv=[str(settings.kernel_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="kernel-venv",
            language="python",
        )
        NotebookClient(nb, km=km, timeout=120).execute()
        baseline.append(time.perf_counter() - started)
    base = statistics.median(baseline)
    print(f"baseline nbclient, fresh kernel, instructor notebook: p50 {base * 1000:.0f} ms")
    print(f"speed-up (baseline p50 / warm p50): {base / p50:.1f}x")


if __name__ == "__main__":
    main()
