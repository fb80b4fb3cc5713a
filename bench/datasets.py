"""What exercise datasets cost: nothing for exercises without them, one fork for those with them.

Run: ``.venv/bin/python bench/datasets.py [--runs N]``. Two warm pools of two, each with its own
zygote, graded alternately, each grade timed once both pools are full (no refill running), so that
the machine's load weighs on both alike:

- baseline: a zygote without datasets (``datasets_root`` unset), as before datasets existed;
- datasets: a zygote that sees a datasets root (what workers run now).

Both grade the reference exercise (no dataset) from a full pool. The datasets pool then grades
tests/sandbox/notebooks/dataset-exercise.ipynb with its files at /data: from a directory no
submission used before (a session forked for the submission), and from the same directory
again (the spare session the pool keeps for it); and, as the lower bound, from a third pool
whose every session mounts that one directory.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox.formats import parse_exercise  # noqa: E402
from sandbox.grader import Grader  # noqa: E402
from sandbox.pool import KernelPool  # noqa: E402
from sandbox.settings import PoolSettings, SandboxSettings  # noqa: E402

NOTEBOOKS = REPO / "tests" / "sandbox" / "notebooks"
DATASETS = REPO / "tests" / "sandbox" / "datasets"


def _p50(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def _settle(*pools: KernelPool) -> None:
    """Every pool full, every spare made, no session being reaped: nothing runs in the
    background during the timed grade."""
    for pool in pools:
        pool.wait_ready(timeout=120)
        deadline = time.monotonic() + 120
        while pool._wanted and time.monotonic() < deadline:  # spares being made
            time.sleep(0.01)
        for reaper in list(pool._reapers):
            reaper.join(timeout=30)


def _wait_for_spare(pool: KernelPool, datasets: Path) -> None:
    deadline = time.monotonic() + 120
    while datasets not in pool._spares and time.monotonic() < deadline:
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    reference = parse_exercise((NOTEBOOKS / "reference-exercise.ipynb").read_bytes())
    reference_answer = (NOTEBOOKS / "reference-correct.ipynb").read_bytes()
    cities_source = (NOTEBOOKS / "dataset-exercise.ipynb").read_bytes()
    cities = parse_exercise(cities_source)
    root = Path(tempfile.mkdtemp(prefix="oc-bench-datasets-"))
    for copy in ["cities", *(f"first-{run}" for run in range(args.runs))]:
        (root / copy).mkdir()
        for name in ("cities.csv", "cities.parquet"):
            shutil.copyfile(DATASETS / name, root / copy / name)
    with_root = SandboxSettings(datasets_root=root)
    timings: dict[str, list[float]] = {"baseline": [], "datasets": [], "first": [], "spare": [], "warm": []}
    try:
        with (
            KernelPool(PoolSettings(size=2, sandbox=replace(with_root, datasets_root=None))) as before,
            KernelPool(PoolSettings(size=2, sandbox=with_root)) as now,
            # Every session of this one mounts the cities directory: the warm lower bound.
            KernelPool(PoolSettings(size=2, sandbox=replace(with_root, datasets_dir=root / "cities"))) as ideal,
        ):
            graders = {"baseline": Grader(pool=before), "datasets": Grader(pool=now), "warm": Grader(pool=ideal)}

            def timed(name: str, grader: Grader, exercise: Any, answer: bytes, datasets: Path | None = None) -> float:
                _settle(before, now, ideal)
                if name == "spare":
                    _wait_for_spare(now, root / "cities")
                started = time.perf_counter()
                result = grader.grade(exercise, answer, datasets=datasets)
                timings[name].append(time.perf_counter() - started)
                return result.score

            for run in range(args.runs):
                order = ["baseline", "datasets"] if run % 2 else ["datasets", "baseline"]
                for name in order:
                    assert timed(name, graders[name], reference, reference_answer) == 10
                # A directory no submission used before: a session forked for the submission.
                assert timed("first", graders["datasets"], cities, cities_source, root / f"first-{run}") == 5
                # The same directory again and again: the spare the pool keeps for it.
                assert timed("spare", graders["datasets"], cities, cities_source, root / "cities") == 5
                # The same directory from a pool whose every session mounts it.
                assert timed("warm", graders["warm"], cities, cities_source, root / "cities") == 5
    finally:
        shutil.rmtree(root)
    base, now_p50 = statistics.median(timings["baseline"]), statistics.median(timings["datasets"])
    print(f"reference exercise, warm pool, zygote without datasets root: p50 {_p50(timings['baseline'])}")
    print(f"reference exercise, warm pool, zygote with datasets root:    p50 {_p50(timings['datasets'])}")
    print(f"ratio (with / without datasets root): {now_p50 / base:.2f}")
    print(f"dataset exercise, first submission (session forked for it): p50 {_p50(timings['first'])}")
    print(f"dataset exercise, later submissions (warm spare):           p50 {_p50(timings['spare'])}")
    print(f"dataset exercise, pool whose every session mounts /data:    p50 {_p50(timings['warm'])}")


if __name__ == "__main__":
    main()
