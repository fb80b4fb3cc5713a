"""Insights at scale: country dashboard and CSV export p95, and the rollup refresh after a day of
new activity, as the number of learners grows.

    DATABASE_URL=postgres://opencapacity:opencapacity@127.0.0.1:5432/opencapacity_bench \\
        .venv/bin/python bench/insights.py --learners 100000 300000 1000000 [--requests 40]

The database in DATABASE_URL is migrated and filled with synthetic learners (use a scratch
database: nothing is deleted, learners are added until each N is reached). For each N it:
  1. simulates learners up to N (lms.insights.simulation, COPY on PostgreSQL) and refreshes the rollups;
  2. times the largest country's dashboard and CSV export through the Django test client, logged in
     as a network admin (p50 and p95 over --requests requests, after two warm-up requests);
  3. adds a day of new activity (N/500 new learners whose history fits in the last day, the share of
     a 540-day history that one day brings) and times the refresh of the months since the last one
     (what Celery beat runs every 15 minutes; the nightly full rebuild is the "full refresh" column).
Baseline in the same run: a trivial view (/bench/trivial) through the same client.
Figures are recorded in docs/insights.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")
# Pages are rendered without a collectstatic run.
os.environ.setdefault("STATIC_MANIFEST", "0")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_get(client, path: str, requests: int) -> tuple[float, float]:
    for _warm in range(2):
        assert client.get(path).status_code == 200, path
    samples = []
    for _n in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    import django

    django.setup()
    from allauth.mfa.models import Authenticator
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from lms.accounts.models import Profile, Role
    from lms.accounts.services import role_assign
    from lms.insights import services
    from lms.insights.models import MonthlyUptake
    from lms.insights.simulation import activity_simulate
    from lms.progress.models import Certificate, Enrollment, LessonCompletion, Submission

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    admin, _created = User.objects.get_or_create(username="bench-insights-admin", email="bench-admin@example.invalid")
    Profile.objects.get_or_create(user=admin)
    role_assign(user=admin, role=Role.NETWORK_ADMIN)
    Authenticator.objects.get_or_create(user=admin, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "x"}})
    client = Client()
    client.force_login(admin)

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    header = (
        f"{'learners':>9} {'activity rows':>13} {'certificates':>12} {'simulate s':>10} {'trivial p95':>11} "
        f"{'dashboard p50/p95 ms':>21} "
        f"{'csv p50/p95 ms':>15} {'full refresh s':>14} {'refresh after a day s':>21}"
    )
    print(header)
    seed = args.seed
    for target in args.learners:
        current = Profile.objects.filter(role=Role.LEARNER).count()
        started = time.perf_counter()
        while current < target:
            batch = min(target - current, 50_000)
            activity_simulate(learners=batch, seed=seed)
            seed += 1
            current += batch
        simulate_seconds = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        run = services.rollups_refresh()
        # Activity rows: what learners' work leaves behind; certificates are reported on their own.
        activity = Enrollment.objects.count() + LessonCompletion.objects.count() + Submission.objects.count()
        certificates = Certificate.objects.count()
        biggest = (
            MonthlyUptake.objects.filter(dimension="total")
            .exclude(country="")
            .values_list("country", flat=True)
            .order_by("-registered")
            .first()
        )
        _p50, trivial_p95 = timed_get(client, "/bench/trivial", args.requests)
        dash = timed_get(client, f"/en/insights/{biggest.lower()}/", args.requests)
        csv = timed_get(client, f"/en/insights/{biggest.lower()}/export.csv", args.requests)
        activity_simulate(learners=max(1, target // 500), seed=seed, days=1)
        seed += 1
        after_day = services.rollups_refresh(full=False)
        print(
            f"{target:>9,} {activity:>13,} {certificates:>12,} {simulate_seconds:>10.1f} {trivial_p95:>11.1f} "
            f"{dash[0]:>10.1f}/{dash[1]:<10.1f} {csv[0]:>7.1f}/{csv[1]:<7.1f} {run.seconds:>14.1f} "
            f"{after_day.seconds:>21.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
