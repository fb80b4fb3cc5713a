"""Page weight and serving speed of lesson pages, against a trivial view on the same stack in the same run.

    DATABASE_URL=postgres://... CACHE_URL=redis://... .venv/bin/python bench/pages.py [--seconds 10]

Builds a fresh database from content/ (the URL's database is migrated and loaded, the cache is
cleared: use a scratch database and cache), starts gunicorn, then:
  1. weighs pages as a browser fetches them: HTML, CSS, images, fonts and scripts, gzip; the
     lesson with an exercise (its editor included) in English and Arabic against its budget;
  2. measures requests per second for /bench/trivial (the baseline) and for anonymous lesson
     and catalog pages, with the same concurrency, alternating rounds so drift hits both.
The last line prints the lesson/trivial throughput ratio. Figures are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"


def fetch(path: str, *, gzip_ok: bool = True) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    result = response.status, body, {key.lower(): value for key, value in response.getheaders()}
    connection.close()
    return result


def compressed_size(path: str) -> int:
    """Bytes on the wire with gzip: the server's own encoding, else what gzip would make of it."""
    status, body, headers = fetch(path)
    if status != 200:
        raise SystemExit(f"{path} answered {status}")
    if headers.get("content-encoding") == "gzip":
        return len(body)
    return len(gzip.compress(body, compresslevel=6))


def page_weight(path: str) -> dict[str, int]:
    _status, body, _headers = fetch(path, gzip_ok=False)
    html = body.decode()
    weights = {"html": compressed_size(path), "css": 0, "images": 0, "fonts": 0, "js": 0}
    assets = set(re.findall(r'<link[^>]+href="([^"]+\.css)"', html))
    for css in assets:
        weights["css"] += compressed_size(css)
        css_text = fetch(css, gzip_ok=False)[1].decode()
        for font in re.findall(r"url\(([^)]+\.(?:woff2?|ttf))\)", css_text):
            weights["fonts"] += compressed_size(urljoin(css, font.strip("'\"")))
    for src in set(re.findall(r'<img[^>]+src="([^"]+)"', html)):
        weights["images"] += compressed_size(urlparse(src).path)
    for src in set(re.findall(r'<script[^>]+src="([^"]+)"', html)):
        weights["js"] += compressed_size(src)
    return weights


def throughput(path: str, seconds: float, concurrency: int) -> tuple[float, float]:
    """Requests per second and p95 latency (ms) with `concurrency` clients, each a new connection per request."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        local: list[float] = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _body, _headers = fetch(path)
            local.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    if errors:
        raise SystemExit(f"{path}: {len(errors)} non-200 answers, e.g. {errors[0]}")
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000 if len(latencies) > 20 else float("nan")
    return len(latencies) / elapsed, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measuring round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-pages-")
    env = {**os.environ, "OPENCAPACITY_VAR_DIR": var_dir, "DJANGO_SETTINGS_MODULE": "lms.settings"}
    database = env.get("DATABASE_URL", "sqlite (default)").split("@")[-1]
    print(f"database: {database}; cache: {env.get('CACHE_URL', 'file (default)')}; gunicorn workers: {args.workers}")
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    # A cache left by an earlier run would point at renditions in another var dir.
    subprocess.run(
        [*manage, "shell", "-c", "from django.core.cache import cache; cache.clear()"], env=env, check=True, cwd=ROOT
    )
    subprocess.run([*manage, "load_content"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    server = subprocess.Popen(
        [
            str(Path(PY).parent / "gunicorn"),
            "lms.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        for _ in range(50):
            try:
                if fetch("/bench/trivial")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        lesson = "/en/first-steps-with-ai/using-ai-well/a-first-model-in-python/"
        exercise_pages = (lesson, "/ar/first-steps-with-ai/using-ai-well/a-first-model-in-python/")
        for path in ("/en/", *exercise_pages, "/ar/first-steps-with-ai/what-ai-is/learning-from-data/"):
            weights = page_weight(path)
            non_js = sum(value for key, value in weights.items() if key != "js")
            print(
                f"weight {path}: {non_js / 1024:.1f} KiB HTML+CSS+images+fonts, {weights['js'] / 1024:.1f} KiB JS "
                f"(gzip; {weights})"
            )
            if path in exercise_pages:
                # The exercise page with its code editor: 150 KiB + 300 KiB of JavaScript, compressed.
                within = non_js <= 150 * 1024 and weights["js"] <= 300 * 1024
                print(f"  exercise page budget 150 KiB + 300 KiB JS: {'met' if within else 'NOT MET'}")

        paths = {"trivial": "/bench/trivial", "lesson": lesson, "catalog": "/en/"}
        results: dict[str, list[float]] = {name: [] for name in paths}
        p95s: dict[str, list[float]] = {name: [] for name in paths}
        for path in paths.values():  # warm every worker's caches
            throughput(path, 1.0, args.concurrency)
        for _round in range(args.rounds):
            for name, path in paths.items():
                rps, p95 = throughput(path, args.seconds, args.concurrency)
                results[name].append(rps)
                p95s[name].append(p95)
        for name in paths:
            print(
                f"{name:8} {statistics.median(results[name]):8.1f} req/s  p95 {statistics.median(p95s[name]):6.1f} ms"
            )
        ratio = statistics.median(results["lesson"]) / statistics.median(results["trivial"])
        print(f"lesson/trivial throughput ratio: {ratio:.2f} (target >= 0.50)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
