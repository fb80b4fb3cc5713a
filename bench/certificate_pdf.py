"""Time to render one certificate PDF (WeasyPrint), per language, against rendering its HTML alone.

    .venv/bin/python bench/certificate_pdf.py [--rounds 10]

No database is touched: the certificate is an unsaved model instance. Prints, for each language,
the median milliseconds for the HTML template (the baseline: what the Django page costs) and for the
whole PDF, and the PDF's size. Figures are recorded in docs/learning.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")

SAMPLES = {
    "en": ("Amina Kamau", "First steps with AI"),
    "ar": ("فاطمة الزهراء", "خطواتك الأولى في الذكاء الاصطناعي"),
    "zh-hans": ("李小龙", "人工智能入门第一步"),
}


def median_ms(action, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    import django

    django.setup()
    from lms.progress.certificates import certificate_html, render_pdf
    from lms.progress.models import Certificate

    url = "https://learn.example.org/{language}/verify/7K2M-9QXD-4TNB/"
    render_pdf(
        Certificate(
            code="WARM-WARM-WARM", learner_name="x", course_title="x", language="en", issued_at=datetime.now(UTC)
        ),
        verify_url=url.format(language="en"),
    )  # fonts load once
    print(f"{'language':10} {'html ms':>8} {'pdf ms':>8} {'pdf KiB':>8}")
    for language, (name, title) in SAMPLES.items():
        certificate = Certificate(
            code="7K2M-9QXD-4TNB",
            learner_name=name,
            course_title=title,
            language=language,
            issued_at=datetime(2026, 11, 26, tzinfo=UTC),
        )
        link = url.format(language=language)
        html = median_ms(lambda: certificate_html(certificate, verify_url=link), args.rounds)  # noqa: B023
        pdf = median_ms(lambda: render_pdf(certificate, verify_url=link), args.rounds)  # noqa: B023
        size = len(render_pdf(certificate, verify_url=link)) / 1024
        print(f"{language:10} {html:8.1f} {pdf:8.1f} {size:8.1f}")


if __name__ == "__main__":
    main()
