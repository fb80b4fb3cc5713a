"""CPU per submission, in one process, without Celery: the worker's own CPU (every thread) and
that of the sandboxes (the zygote and everything it forked, reaped), per graded submission.

Run: ``.venv/bin/python bench/grading_cpu.py [--runs N] [--profile]``. Each submission gets a
fresh session forked from one zygote, destroyed after it (as a pool does, without the refill).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox.forkserver import ForkServer  # noqa: E402
from sandbox.formats import parse_exercise  # noqa: E402
from sandbox.grader import Grader, Session, start_session  # noqa: E402
from sandbox.settings import PoolSettings, SandboxSettings  # noqa: E402

NOTEBOOKS = REPO / "tests" / "sandbox" / "notebooks"
TICK = os.sysconf("SC_CLK_TCK")


class OnDemand:
    """Stands in for a pool: forks a session when asked, destroys it when given back."""

    def __init__(self, server: ForkServer) -> None:
        self.server = server
        self.settings = PoolSettings(sandbox=server.settings)

    def acquire(self) -> Session:
        return start_session(self.server.settings, forkserver=self.server)

    def retire(self, session: Session) -> None:
        session.destroy()


def tree_cpu(pid: int) -> tuple[float, float]:
    """Seconds of CPU of ``pid`` itself (the zygote: its forks) and of its reaped descendants
    (every sandbox, from fork to exit, teardown included). Counted in clock ticks: a round of
    tens of submissions is needed for a stable figure."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    own = sum(int(x) for x in fields[11:13]) / TICK
    reaped = sum(int(x) for x in fields[13:15]) / TICK
    return own, reaped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    exercise = parse_exercise((NOTEBOOKS / "reference-exercise.ipynb").read_bytes())
    submission = (NOTEBOOKS / "reference-correct.ipynb").read_bytes()
    server = ForkServer(SandboxSettings())
    try:
        grader = Grader(pool=OnDemand(server))  # type: ignore[arg-type]
        for _ in range(3):  # warm the worker's own code paths
            assert grader.grade(exercise, submission).score == 10
        zygote = server._zygote_host_pid
        profile = cProfile.Profile() if args.profile else None
        worker_ms: list[float] = []
        zygote_ms: list[float] = []
        sandbox_ms: list[float] = []
        for _ in range(args.rounds):
            time.sleep(1)  # let the last sandboxes be reaped
            w0, z0, t0 = time.process_time(), tree_cpu(zygote), time.perf_counter()
            if profile:
                profile.enable()
            for _ in range(args.runs):
                assert grader.grade(exercise, submission).score == 10
            if profile:
                profile.disable()
            time.sleep(1)
            worker_ms.append((time.process_time() - w0) * 1000 / args.runs)
            z1 = tree_cpu(zygote)
            zygote_ms.append((z1[0] - z0[0]) * 1000 / args.runs)
            sandbox_ms.append((z1[1] - z0[1]) * 1000 / args.runs)
            wall = (time.perf_counter() - t0 - 1) * 1000 / args.runs
            print(
                f"worker {worker_ms[-1]:.1f} ms, zygote {zygote_ms[-1]:.1f} ms, sandboxes {sandbox_ms[-1]:.1f} ms, "
                f"total {worker_ms[-1] + zygote_ms[-1] + sandbox_ms[-1]:.1f} ms CPU per submission; "
                f"wall {wall:.0f} ms; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        total = [sum(parts) for parts in zip(worker_ms, zygote_ms, sandbox_ms, strict=True)]
        print(f"median of {args.rounds} rounds of {args.runs}: {statistics.median(total):.1f} ms CPU per submission")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    finally:
        server.close()


if __name__ == "__main__":
    main()
