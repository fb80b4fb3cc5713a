"""CPU per submission, in one process, without Celery: the CPU of this process and of
everything it started (the zygote and every sandbox, their teardown included), from a cpuacct
cgroup (v1, needs the rights to create one), and this process's own share (every thread).
Per-process figures from /proc/PID/stat are sampled at clock ticks and missed about half of the
sandboxes' CPU (forks and exits are short): use the cgroup.

Run: ``.venv/bin/python bench/grading_cpu.py [--runs N] [--rounds N] [--profile]``. Each
submission gets a fresh session forked from a zygote, destroyed after it (as a pool does, without
the refill). Two zygotes take turns, round by round: one cloning each sandbox as a single process
(what the pool uses), and the baseline, the three-process layout (intermediary, init, payload)
that the zygote falls back to where clone(2) cannot be used.
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

from bench.grading import NOTEBOOKS, OnDemand  # noqa: E402
from bench.grading_throughput import CpuAccount  # noqa: E402
from sandbox.forkserver import ForkServer  # noqa: E402
from sandbox.formats import parse_exercise  # noqa: E402
from sandbox.grader import Grader  # noqa: E402
from sandbox.settings import SandboxSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    exercise = parse_exercise((NOTEBOOKS / "reference-exercise.ipynb").read_bytes())
    submission = (NOTEBOOKS / "reference-correct.ipynb").read_bytes()
    account = CpuAccount("cpu")  # before the zygotes start: they and their sandboxes inherit it
    account.add(os.getpid())
    layouts = {
        "one process": ForkServer(SandboxSettings()),
        "three processes": ForkServer(SandboxSettings(), clone=False),
    }
    assert layouts["one process"].clones and not layouts["three processes"].clones
    try:
        graders = {name: Grader(pool=OnDemand(server)) for name, server in layouts.items()}  # type: ignore[arg-type]
        for grader in graders.values():
            for _ in range(3):  # warm the worker's own code paths
                assert grader.grade(exercise, submission).score == 10
        profile = cProfile.Profile() if args.profile else None
        account_ms: dict[str, list[float]] = {name: [] for name in layouts}
        worker_ms: dict[str, list[float]] = {name: [] for name in layouts}
        for _ in range(args.rounds):
            for name, grader in graders.items():
                time.sleep(1)  # let the last sandboxes be reaped
                w0, t0 = time.process_time(), time.perf_counter()
                a0 = account.seconds()
                if profile and name == "one process":
                    profile.enable()
                for _ in range(args.runs):
                    assert grader.grade(exercise, submission).score == 10
                if profile:
                    profile.disable()
                time.sleep(1)
                worker_ms[name].append((time.process_time() - w0) * 1000 / args.runs)
                a1 = account.seconds()
                if a0 is not None and a1 is not None:
                    account_ms[name].append((a1 - a0) * 1000 / args.runs)
                wall = (time.perf_counter() - t0 - 1) * 1000 / args.runs
                total = f"{account_ms[name][-1]:.1f} ms" if account_ms[name] else "unknown (no cpuacct cgroup)"
                print(
                    f"{name:>15}: CPU per submission {total} in all, of which this process "
                    f"{worker_ms[name][-1]:.1f} ms; wall {wall:.0f} ms; load average {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        medians = {name: statistics.median(values) for name, values in account_ms.items() if values}
        for name, value in medians.items():
            print(
                f"{name:>15}: median of {args.rounds} rounds of {args.runs}: {value:.1f} ms CPU per submission "
                f"(this process {statistics.median(worker_ms[name]):.1f} ms)"
            )
        if len(medians) == 2:
            print(f"three processes / one process: {medians['three processes'] / medians['one process']:.2f}x CPU")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    finally:
        for server in layouts.values():
            server.close()
        if account.path is not None:
            with open(CpuAccount.ROOT / "cgroup.procs", "w") as handle:  # leave it, so it can go
                handle.write(str(os.getpid()))
        account.remove()


if __name__ == "__main__":
    main()
