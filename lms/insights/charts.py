"""Charts drawn on the server as inline SVG: no script, no library, nothing fetched from elsewhere.

Only published (suppressed and rounded) figures reach these functions.
"""

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from lms.insights import m49
from lms.insights.selectors import Row
from lms.insights.suppression import Figure

WIDTH, HEIGHT, PAD = 720, 240, 36
SERIES = (("enrolled", "var(--accent, #0b5cad)"), ("completed", "var(--ok, #1f7a3a)"), ("certified", "#7b3fa0"))


def monthly_trend(months: list[Row], *, title: str) -> SafeString:
    """A line per series over the months; a hidden month is a gap in the line, marked with a hollow dot."""
    if not months:
        return format_html('<p class="meta">{}</p>', _("No activity yet."))
    peak = max([row.figures[m].value or 0 for row in months for m, _colour in SERIES] + [5])
    step = (WIDTH - 2 * PAD) / max(len(months) - 1, 1)

    def x(i: int) -> float:
        return PAD + i * step

    def y(value: int) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / peak

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" direction="ltr">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#d9dee6"/>',
        f'<text x="{PAD - 4}" y="{PAD}" text-anchor="end" font-size="11" fill="#5a6473">{peak:,}</text>',
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end" font-size="11" fill="#5a6473">0</text>',
    ]
    label_every = max(1, len(months) // 8)
    for i, row in enumerate(months):
        if i % label_every == 0 or i == len(months) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle" font-size="11" '
                f'fill="#5a6473">{escape(row.label)}</text>'
            )
    for measure, colour in SERIES:
        segments: list[list[str]] = [[]]
        for i, row in enumerate(months):
            figure: Figure = row.figures[measure]
            if figure.hidden:
                segments.append([])
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{HEIGHT - PAD}" r="3" fill="none" stroke="{colour}">'
                    f"<title>{escape(row.label)}: {escape(figure.text)}</title></circle>"
                )
            else:
                segments[-1].append(f"{x(i):.1f},{y(figure.value or 0):.1f}")
        for points in segments:
            if len(points) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>')
            elif points:
                cx, cy = points[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


# Uptake classes for the map: registered learners after rounding.
MAP_CLASSES = ((0, "#eef1f5"), (5, "#c6dbef"), (50, "#6baed6"), (500, "#2171b5"), (5000, "#08306b"))
HIDDEN_COLOUR = "#f2b705"
TILE, GAP, PER_ROW = 26, 3, 24


def _colour(figure: Figure | None) -> str:
    if figure is None or figure.value == 0:
        return MAP_CLASSES[0][1]
    if figure.hidden:
        return HIDDEN_COLOUR
    colour = MAP_CLASSES[0][1]
    for threshold, value in MAP_CLASSES:
        if (figure.value or 0) >= threshold:
            colour = value
    return colour


def world_tile_map(figures: dict[str, Figure], *, title: str) -> SafeString:
    """A tile-grid cartogram: one square per country, grouped in bands by M49 region and ordered by
    sub-region, then by name. Positions are not geographic; every country gets the same area."""
    parts: list[str] = []
    y = 0
    for region in m49.REGIONS:
        members = sorted(
            (c for c in m49.COUNTRIES.values() if c.region == region),
            key=lambda c: (c.sub_region, c.intermediate_region, c.alpha3),
        )
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="13" font-weight="700" fill="#1b2330">{escape(_(region))}</text>'
        )
        y += 20
        for i, country in enumerate(members):
            col, row = i % PER_ROW, i // PER_ROW
            tx, ty = col * (TILE + GAP), y + row * (TILE + GAP)
            figure = figures.get(country.alpha2)
            fill = _colour(figure)
            ink = "#fff" if fill in ("#2171b5", "#08306b") else "#1b2330"
            text = figure.text if figure else "0"
            parts.append(
                f'<g data-country="{country.alpha2}"><rect x="{tx}" y="{ty}" width="{TILE}" height="{TILE}" rx="3" '
                f'fill="{fill}"><title>{escape(country.alpha3)}: {escape(text)}</title></rect>'
                f'<text x="{tx + TILE / 2}" y="{ty + TILE / 2 + 3}" text-anchor="middle" font-size="8" '
                f'fill="{ink}">{country.alpha3}</text></g>'
            )
        y += ((len(members) + PER_ROW - 1) // PER_ROW) * (TILE + GAP) + 10
    width = PER_ROW * (TILE + GAP)
    head = (
        f'<svg class="tile-map" viewBox="0 0 {width} {y}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" direction="ltr"><title>{escape(title)}</title>'
    )
    return mark_safe(head + "".join(parts) + "</svg>")  # noqa: S308 - every interpolated text is escaped


def map_legend() -> list[tuple[str, str]]:
    return [
        (MAP_CLASSES[0][1], "0"),
        (HIDDEN_COLOUR, _("hidden (<5, or so that another hidden figure cannot be derived)")),
        (MAP_CLASSES[1][1], "5–49"),
        (MAP_CLASSES[2][1], "50–499"),
        (MAP_CLASSES[3][1], "500–4,999"),
        (MAP_CLASSES[4][1], "5,000+"),
    ]
