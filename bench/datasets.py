"""What exercise datasets cost: nothing for exercises without them, one fork for those with them.

Run: ``.venv/bin/python bench/datasets.py [--runs N]``. Two warm pools of two, each with its own
zygote, graded alternately, each grade timed once both pools are full (no refill running), so that
the machine's load weighs on both alike:

- baseline: a zygote without datasets (``datasets_root`` unset), as before datasets existed;
- datasets: a zygote that sees a datasets root (what workers run now).

Both grade the reference exercise (no dataset) from a full pool; the datasets pool then grades
tests/sandbox/notebooks/dataset-exercise.ipynb with its files at /data, which takes a session
forked for the submission instead of a warm one.
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
    """Every pool full and no session being reaped: no refill runs during the timed grade."""
    for pool in pools:
        pool.wait_ready(timeout=120)
        for reaper in list(pool._reapers):
            reaper.join(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    reference = parse_exercise((NOTEBOOKS / "reference-exercise.ipynb").read_bytes())
    reference_answer = (NOTEBOOKS / "reference-correct.ipynb").read_bytes()
    cities_source = (NOTEBOOKS / "dataset-exercise.ipynb").read_bytes()
    cities = parse_exercise(cities_source)
    root = Path(tempfile.mkdtemp(prefix="oc-bench-datasets-"))
    (root / "cities").mkdir()
    for name in ("cities.csv", "cities.parquet"):
        shutil.copyfile(DATASETS / name, root / "cities" / name)
    with_root = SandboxSettings(datasets_root=root)
    try:
        with (
            KernelPool(PoolSettings(size=2, sandbox=replace(with_root, datasets_root=None))) as before,
            KernelPool(PoolSettings(size=2, sandbox=with_root)) as now,
        ):
            timings: dict[str, list[float]] = {"baseline": [], "datasets": [], "with data": [], "warm cities": []}
            graders = {"baseline": Grader(pool=before), "datasets": Grader(pool=now)}
            for run in range(args.runs):
                order = [("baseline", before), ("datasets", now)]
                for name, _pool in order if run % 2 else order[::-1]:
                    _settle(before, now)
                    started = time.perf_counter()
                    result = graders[name].grade(reference, reference_answer)
                    timings[name].append(time.perf_counter() - started)
                    assert result.score == result.max_score == 10, result.to_dict()
                _settle(before, now)
                started = time.perf_counter()
                result = graders["datasets"].grade(cities, cities_source, datasets=root / "cities")
                timings["with data"].append(time.perf_counter() - started)
                assert result.score == result.max_score == 5, result.to_dict()
                # The same exercise from a warm session (no /data: its tests fail, the work is alike).
                _settle(before, now)
                started = time.perf_counter()
                graders["datasets"].grade(cities, cities_source)
                timings["warm cities"].append(time.perf_counter() - started)
    finally:
        shutil.rmtree(root)
    base, now_p50 = statistics.median(timings["baseline"]), statistics.median(timings["datasets"])
    print(f"reference exercise, warm pool, zygote without datasets root: p50 {_p50(timings['baseline'])}")
    print(f"reference exercise, warm pool, zygote with datasets root:    p50 {_p50(timings['datasets'])}")
    print(f"ratio (with / without datasets root): {now_p50 / base:.2f}")
    print(f"dataset exercise, session forked for it, /data mounted:     p50 {_p50(timings['with data'])}")
    print(f"dataset exercise, warm session, no /data:                   p50 {_p50(timings['warm cities'])}")
    print(
        "cost of the session forked on demand: "
        f"{(statistics.median(timings['with data']) - statistics.median(timings['warm cities'])) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
