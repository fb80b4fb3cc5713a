"""Grading at scale: a fresh sandboxed kernel per submission, forked warm vs booted cold.

The issue's figures, each command under ten minutes on a quiet 2-core machine (PostgreSQL and
Redis on loopback; the database is created once, the Redis database is purged by the bench):

    createdb -h 127.0.0.1 -U opencapacity opencapacity_bench_grading
    export DATABASE_URL=postgres://opencapacity:opencapacity@127.0.0.1:5432/opencapacity_bench_grading
    export CELERY_BROKER_URL=redis://127.0.0.1:6379/7
    # 2,000 submissions queued at once, 2 workers:
    .venv/bin/python bench/grading_throughput.py --submissions 2000 --workers 2
    # the same, one worker SIGKILLed half-way:
    .venv/bin/python bench/grading_throughput.py --submissions 2000 --workers 2 --kill-one-worker
    # latency under a steady load: 600 submissions offered at 4 per second (raise --rate to
    # find the sustained rate: the highest at which latency stays flat):
    .venv/bin/python bench/grading_throughput.py --submissions 600 --workers 2 --rate 4

Three measurements in one run, each against the cold-kernel baseline measured in the same run,
each printed with the load average of the machine at that moment (other load skews them all):

1. CPU milliseconds per sandboxed kernel, until it answers requests: every process of the
   sandbox, plus what the worker (and, forked, the zygote) spent on it; p50 over --kernels.
2. Sustained throughput through Celery and Redis: --workers grading workers (separate processes
   with their own node names, each with a warm pool and its own zygote) consume queue
   ``grading``; a bounded load generator on loopback (one process, one connection, one
   submission at a time) queues --submissions submissions of the reference exercise at once and
   waits until every row is graded. Reported: submissions per second, latency (queued to graded)
   and queue wait (queued to started) p50/p95/p99, how often each was delivered, and, where the
   bench may create a cpuacct cgroup (root), the CPU of the workers and everything they started,
   per submission. With --kill-one-worker one worker is SIGKILLed when half are done; the sweep
   (requeue_stale_submissions) brings back the submission it held.
3. The same through workers that boot every session cold (SANDBOX_FORK_SERVER=0). Their pools
   are warm when the burst starts (2 sessions per worker), so the cold rate is a little
   flattering; --cold-submissions well above that keeps it close to the sustained rate.

Every submission must end graded with full marks, exactly once; the last line prints the
throughput ratio.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NOTEBOOKS = ROOT / "tests" / "sandbox" / "notebooks"
TICKS = os.sysconf("SC_CLK_TCK")


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def process_cpu(pid: int) -> float:
    """Seconds of CPU ``pid`` has used so far (utime + stime)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu(root: int) -> float:
    from sandbox.procs import descendants

    return sum(process_cpu(pid) for pid in descendants(root))


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    raise LookupError(pid)


def kernel_cpu(kernels: int, cold_kernels: int) -> tuple[float, float]:
    """CPU ms to get one sandboxed kernel ready (answering requests), forked and cold: every
    process of the sandbox up to that moment, plus what the worker and the zygote spent on it."""
    from sandbox.forkserver import ForkServer
    from sandbox.kernel import SandboxedKernel
    from sandbox.settings import SandboxSettings

    settings = SandboxSettings()
    forked: list[float] = []
    server = ForkServer(settings)
    try:
        zygote = server._zygote_host_pid
        for run in range(kernels + 1):
            before = process_cpu(zygote) + time.process_time()
            kernel = SandboxedKernel(settings, server)
            kernel.start()
            assert kernel._forked is not None
            spent = process_cpu(zygote) + time.process_time() - before
            # The kernel and what it started; in the three-process layout, from its intermediary.
            spent += tree_cpu(kernel._forked.init_pid if server.clones else parent_of(kernel._forked.init_pid))
            kernel.destroy()
            if run:  # the first fork touches cold pages
                forked.append(spent)
    finally:
        server.close()
    cold: list[float] = []
    for _ in range(cold_kernels):
        before = time.process_time()
        kernel = SandboxedKernel(settings)
        kernel.start()
        spent = time.process_time() - before + tree_cpu(kernel._pid() or 0)
        kernel.destroy()
        cold.append(spent)
    return statistics.median(forked) * 1000, statistics.median(cold) * 1000


class CpuAccount:
    """CPU of a set of processes and of everything they start (sandboxes included, even once
    killed), from a cpuacct cgroup (v1); unavailable without the rights to create one."""

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self, label: str) -> None:
        self.path: Path | None = self.ROOT / f"opencapacity-bench-{label}-{os.getpid()}"
        try:
            self.path.mkdir()
        except OSError:
            self.path = None

    def add(self, pid: int) -> None:
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(pid))

    def seconds(self) -> float | None:
        return None if self.path is None else int((self.path / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> None:
        if self.path is not None:
            for _ in range(50):
                try:
                    self.path.rmdir()
                    return
                except OSError:  # sandboxes still exiting
                    time.sleep(0.1)


class Workers:
    """Grading workers: separate processes, as on separate machines, each its own node name."""

    def __init__(self, count: int, fork_server: bool, label: str) -> None:
        from lms.celery import grading_worker_command  # after main() has set Django up

        self.processes: list[subprocess.Popen[bytes]] = []
        self.cpu = CpuAccount(label)
        env = {
            **os.environ,
            "SANDBOX_FORK_SERVER": "1" if fork_server else "0",
            "SANDBOX_SELFTEST_ON_START": "0",  # the test suite runs it; here it would only delay
            "SANDBOX_POOL_SIZE": os.environ.get("SANDBOX_POOL_SIZE", "2"),
        }
        for index in range(count):
            argv = grading_worker_command(f"{label}{index}", "--prefetch-multiplier", "1")
            process = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
            self.cpu.add(process.pid)  # before it starts a pool: its children inherit the cgroup
            self.processes.append(process)

    def kill(self, index: int) -> None:
        os.killpg(self.processes[index].pid, signal.SIGKILL)
        self.processes[index].wait()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.cpu.remove()


def burst(
    label: str, count: int, workers: int, fork_server: bool, kill_one: bool, rate: float | None = None
) -> dict[str, object]:
    """``count`` submissions queued at once, or, with ``rate``, one every 1/rate s (open loop:
    the pace does not wait for grading, so latency is that of a steady load, not of a backlog)."""
    from django.contrib.auth import get_user_model

    from courses.models import Exercise
    from lms.progress import services
    from lms.progress.models import Submission

    exercise = Exercise.objects.get(slug="bench-reference")
    learner = get_user_model().objects.get(username="bench-learner")
    answer = (NOTEBOOKS / "reference-correct.ipynb").read_text()
    pool = Workers(workers, fork_server, label)
    try:
        # Warm every worker (its pool and zygote start with its first task), then let pools fill.
        warm = [
            services.submission_create(user=learner, exercise=exercise, notebook=answer) for _ in range(workers * 2)
        ]
        wait_graded([s.pk for s in warm], timeout=600)
        time.sleep(3 if fork_server else 30)
        load_at_start = load()
        cpu_before = pool.cpu.seconds()
        started = time.monotonic()
        ids = []
        next_at = time.monotonic()
        for _ in range(count):
            if rate:
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at += 1 / rate
            ids.append(services.submission_create(user=learner, exercise=exercise, notebook=answer).pk)
        queued_in = time.monotonic() - started
        # Watched through their id range, every half second: a count over 2,000 ids in an IN list
        # every 50 ms cost the bench and PostgreSQL about a tenth of a core, taken from the workers.
        in_burst = Submission.objects.filter(pk__range=(min(ids), max(ids)))
        assert in_burst.count() == count, "the burst's ids are not contiguous: something else is writing submissions"
        killed = False
        progress_at, last_done = time.monotonic(), 0
        deadline = time.monotonic() + 3600
        while True:
            done = in_burst.filter(status=Submission.Status.GRADED).count()
            if done == count:
                break
            if done != last_done:
                progress_at, last_done = time.monotonic(), done
            if kill_one and not killed and done >= count // 2:
                pool.kill(0)
                killed = True
                # What the dead worker held is found again by the sweep; in production it runs from
                # Celery beat every minute and takes back a submission left running longer than
                # GRADING_HARD_TIME_LIMIT + GRADING_LOST_AFTER_SECONDS. Here: running for more than
                # 3 s (a grade takes a fraction of that), and no queued one (they are only waiting).
                sweep(running_for=3, queued_for=10**7)
            elif killed and time.monotonic() - progress_at > 5:
                # Nothing graded for 5 s: the queue is empty, and a row still queued is one whose
                # message the dead worker had taken before it could mark it running.
                sweep(running_for=3, queued_for=3)
                progress_at = time.monotonic()
            if time.monotonic() > deadline:
                raise SystemExit(f"{label}: only {done} of {count} graded within an hour")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        cpu_after = pool.cpu.seconds()
        load_at_end = load()
    finally:
        pool.stop()
    rows = list(
        Submission.objects.filter(pk__in=ids).values(
            "status", "score", "deliveries", "queued_at", "started_at", "finished_at"
        )
    )
    assert len(rows) == count
    assert all(r["status"] == "graded" and r["score"] == 10 for r in rows), "every submission graded, full marks"
    first_queued = min(r["queued_at"] for r in rows)
    latency = [(r["finished_at"] - r["queued_at"]).total_seconds() for r in rows]
    wait = [(r["started_at"] - r["queued_at"]).total_seconds() for r in rows]
    last = max(r["finished_at"] for r in rows)
    deliveries: dict[int, int] = {}
    for r in rows:
        deliveries[r["deliveries"]] = deliveries.get(r["deliveries"], 0) + 1
    return {
        "label": label,
        "count": count,
        "workers": workers,
        "rate": count / (last - first_queued).total_seconds(),
        "elapsed": elapsed,
        "queued_in": queued_in,
        "latency": latency,
        "wait": wait,
        "deliveries": deliveries,
        "killed": kill_one,
        "offered": rate,
        "cpu_ms": None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / count,
        "load": f"{load_at_start} at the start, {load_at_end} at the end",
    }


def sweep(*, running_for: float, queued_for: float) -> None:
    """requeue_stale_submissions (Celery beat's sweep), with its thresholds shortened to seconds."""
    from django.conf import settings

    from lms.progress.tasks import requeue_stale_submissions

    time.sleep(running_for + 0.5)
    settings.GRADING_LOST_AFTER_SECONDS = queued_for
    settings.GRADING_HARD_TIME_LIMIT = running_for - queued_for
    requeue_stale_submissions()


def wait_graded(ids: list[int], timeout: float) -> None:
    from lms.progress.models import Submission

    deadline = time.monotonic() + timeout
    while Submission.objects.filter(pk__in=ids, status=Submission.Status.GRADED).count() < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit("warm-up submissions were not graded: are the workers able to start?")
        time.sleep(0.1)


def report(result: dict[str, object]) -> None:
    latency = result["latency"]
    wait = result["wait"]
    assert isinstance(latency, list) and isinstance(wait, list)
    offered = result["offered"]
    print(
        f"{result['label']:6} {result['count']:5} submissions"
        f"{f' offered at {offered:.1f}/s' if isinstance(offered, float) else ' queued at once'}, "
        f"{result['workers']} workers"
        f"{' (one killed half-way)' if result['killed'] else ''}: {result['rate']:.2f} submissions/s; "
        f"latency p50/p95/p99 {statistics.median(latency):.2f}/{percentile(latency, 0.95):.2f}/"
        f"{percentile(latency, 0.99):.2f} s; queue wait p50/p95/p99 {statistics.median(wait):.2f}/"
        f"{percentile(wait, 0.95):.2f}/{percentile(wait, 0.99):.2f} s; deliveries {result['deliveries']}"
        + (
            ""
            if result["cpu_ms"] is None
            else f"; CPU per submission {result['cpu_ms']:.0f} ms (workers and sandboxes)"
        )
        + f"; {result['load']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--cold-submissions", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kernels", type=int, default=40, help="kernels started for the CPU figure")
    parser.add_argument("--kill-one-worker", action="store_true")
    parser.add_argument(
        "--rate",
        type=float,
        help="queue the forked submissions at this steady rate (per second) instead of all at once: "
        "latency under a sustained load; the cold baseline stays a burst",
    )
    args = parser.parse_args()
    if args.rate and args.kill_one_worker:
        parser.error("--kill-one-worker needs a burst (no --rate)")

    forked_ms, cold_ms = kernel_cpu(args.kernels, max(3, args.kernels // 10))
    print(
        f"CPU per ready kernel, p50: forked {forked_ms:.0f} ms, cold {cold_ms:.0f} ms "
        f"({cold_ms / forked_ms:.0f}x less); {load()}"
    )

    os.environ.setdefault("OPENCAPACITY_VAR_DIR", tempfile.mkdtemp(prefix="bench-throughput-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "lms.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from courses.exercises import exercise_create_or_update
    from lms.celery import app

    print(f"database: {settings.DATABASES['default']['ENGINE']}; broker: {settings.CELERY_BROKER_URL.split('://')[0]}")
    call_command("migrate", verbosity=0)
    exercise_create_or_update(
        slug="bench-reference", title="Reference", raw_notebook=(NOTEBOOKS / "reference-exercise.ipynb").read_bytes()
    )
    get_user_model().objects.get_or_create(username="bench-learner", defaults={"email": "b@example.org"})
    app.control.purge()

    forked = burst(
        "forked", args.submissions, args.workers, fork_server=True, kill_one=args.kill_one_worker, rate=args.rate
    )
    report(forked)
    cold = burst("cold", args.cold_submissions, args.workers, fork_server=False, kill_one=False)
    report(cold)
    print(f"throughput ratio (forked / cold): {float(forked['rate']) / float(cold['rate']):.1f}x")


if __name__ == "__main__":
    main()
