"""The score histogram of the instructor analytics, drawn on the server as SVG.

Same approach as lms/insights/charts.py (no script, no library, every text escaped); its charts are a
monthly line and a country map, so the bar chart lives here.
"""

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from lms.progress.analytics import ScoreBin

WIDTH, HEIGHT, PAD, LABEL = 640, 220, 34, 18


def histogram(bins: list[ScoreBin], *, title: str, x_label: str) -> SafeString:
    """Vertical bars, one per bin, each labelled with its count; left to right even in Arabic pages,
    since the score axis grows to the right in every language."""
    if not bins or not any(item.learners for item in bins):
        return format_html('<p class="help">{}</p>', _("No graded submissions yet."))
    peak = max(item.learners for item in bins)
    slot = (WIDTH - 2 * PAD) / len(bins)
    bar = slot * 0.7
    plot = HEIGHT - 2 * PAD - LABEL
    parts = [
        f'<svg class="analytics-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" direction="ltr"><title>{escape(title)}</title>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD - LABEL}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD - LABEL}" '
        f'stroke="#8c97a5"/>',
    ]
    for i, item in enumerate(bins):
        height = plot * item.learners / peak
        x = PAD + i * slot + (slot - bar) / 2
        y = HEIGHT - PAD - LABEL - height
        parts.append(
            f'<g><rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="#0b5cad">'
            f"<title>{escape(item.label)}: {item.learners}</title></rect>"
            f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="12" '
            f'fill="#1b2330">{item.learners}</text>'
            f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - PAD}" text-anchor="middle" font-size="11" '
            f'fill="#5a6473">{escape(item.label)}</text></g>'
        )
    parts.append(
        f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="12" '
        f'fill="#5a6473">{escape(x_label)}</text></svg>'
    )
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
