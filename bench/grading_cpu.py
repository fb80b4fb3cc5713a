"""CPU per submission, in one process, without Celery: the CPU of this process and of
everything it started (the zygote and every sandbox, their teardown included), from a cpuacct
cgroup (v1, needs the rights to create one), and this process's own share (every thread).
Per-process figures from /proc/PID/stat are sampled at clock ticks and missed about half of the
sandboxes' CPU (forks and exits are short): use the cgroup.

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

from bench.grading_throughput import CpuAccount  # noqa: E402
from sandbox.forkserver import ForkServer  # noqa: E402
from sandbox.formats import parse_exercise  # noqa: E402
from sandbox.grader import Grader, Session, start_session  # noqa: E402
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
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    exercise = parse_exercise((NOTEBOOKS / "reference-exercise.ipynb").read_bytes())
    submission = (NOTEBOOKS / "reference-correct.ipynb").read_bytes()
    account = CpuAccount("cpu")  # before the zygote starts: it and its sandboxes inherit it
    account.add(os.getpid())
    server = ForkServer(SandboxSettings())
    try:
        grader = Grader(pool=OnDemand(server))  # type: ignore[arg-type]
        for _ in range(3):  # warm the worker's own code paths
            assert grader.grade(exercise, submission).score == 10
        profile = cProfile.Profile() if args.profile else None
        account_ms: list[float] = []
        worker_ms: list[float] = []
        for _ in range(args.rounds):
            time.sleep(1)  # let the last sandboxes be reaped
            w0, t0 = time.process_time(), time.perf_counter()
            a0 = account.seconds()
            if profile:
                profile.enable()
            for _ in range(args.runs):
                assert grader.grade(exercise, submission).score == 10
            if profile:
                profile.disable()
            time.sleep(1)
            worker_ms.append((time.process_time() - w0) * 1000 / args.runs)
            a1 = account.seconds()
            if a0 is not None and a1 is not None:
                account_ms.append((a1 - a0) * 1000 / args.runs)
            wall = (time.perf_counter() - t0 - 1) * 1000 / args.runs
            total = f"{account_ms[-1]:.1f} ms" if account_ms else "unknown (no cpuacct cgroup)"
            print(
                f"CPU per submission: {total} in all, of which this process {worker_ms[-1]:.1f} ms; "
                f"wall {wall:.0f} ms; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        if account_ms:
            print(
                f"median of {args.rounds} rounds of {args.runs}: {statistics.median(account_ms):.1f} ms CPU per "
                f"submission (this process {statistics.median(worker_ms):.1f} ms)"
            )
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    finally:
        server.close()
        if account.path is not None:
            with open(CpuAccount.ROOT / "cgroup.procs", "w") as handle:  # leave it, so it can go
                handle.write(str(os.getpid()))
        account.remove()


if __name__ == "__main__":
    main()
