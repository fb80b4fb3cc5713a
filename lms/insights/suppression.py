"""Small-cell suppression: every figure shown, exported or served goes through here.

Rules (docs/insights.md):
- a count of 0 is shown; 1 to 4 is shown as "<5" (primary suppression, status C);
- any other count is rounded to the nearest 5;
- a percentage or average whose base is below 10 is withheld, and so is a rate whose numerator is
  suppressed (a rate and its base would give the numerator back);
- complementary suppression: if exactly one cell of a breakdown is suppressed, the smallest other
  non-zero cell is suppressed too (status D); if there is none, the total is, so that no hidden cell
  can be recovered by subtracting the shown cells from the total.
"""

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

SMALL = 5  # counts below this (and above 0) are never shown
ROUND_TO = 5
MIN_BASE = 10  # rates and averages need at least this many in their base

SHOWN = "A"  # SDMX OBS_STATUS "normal value"
PRIMARY = "C"  # confidential: a small count
SECONDARY = "D"  # confidential: hidden so that another hidden cell cannot be derived
WITHHELD = "W"  # a rate or average whose base is too small, or whose numerator is hidden


@dataclass(frozen=True)
class Figure:
    """What may be published about one number: a value (None when hidden), a status and its text."""

    value: int | None
    status: str
    text: str

    @property
    def hidden(self) -> bool:
        return self.value is None


def round_count(n: int) -> int:
    return (n + ROUND_TO // 2) // ROUND_TO * ROUND_TO


def count_figure(n: int) -> Figure:
    if n == 0:
        return Figure(0, SHOWN, "0")
    if n < SMALL:
        return Figure(None, PRIMARY, f"<{SMALL}")
    rounded = round_count(n)
    return Figure(rounded, SHOWN, f"{rounded:,}")


def _secondary() -> Figure:
    return Figure(None, SECONDARY, "…")


def suppress_linked(
    counts: Mapping[K, int],
    relations: Sequence[tuple[K, Sequence[K]]],
    *,
    published_elsewhere: Collection[K] = (),
) -> dict[K, Figure]:
    """Figures for counts tied by additive relations (parent = sum of children).

    In every relation the number of hidden cells must not be exactly one, or subtraction would give
    it back: the smallest visible non-zero child is hidden too (or the parent, if no child is left).
    Hiding one cell can break another relation, so this repeats until nothing changes.

    A figure in `published_elsewhere` (a country's total, which its own dashboard shows) is never
    chosen to be hidden: hiding it here would protect nothing. Nor is a figure that is the sum of
    shown figures (a region whose countries are all shown). The parent of the relation is hidden instead.
    """
    figures = {key: count_figure(n) for key, n in counts.items()}
    public = set(published_elsewhere)
    children_of: dict[K, list[Sequence[K]]] = {}
    for parent, children in relations:
        children_of.setdefault(parent, []).append(children)

    def recoverable(key: K) -> bool:
        # A figure published elsewhere is hidden there exactly when it is hidden here (it is never a
        # partner here), so only a shown one is known; a sum is known when all its parts are shown.
        if key in public:
            return True
        return any(all(not figures[child].hidden for child in children) for children in children_of.get(key, ()))

    changed = True
    while changed:
        changed = False
        for parent, children in relations:
            members = [parent, *children]
            if sum(figures[key].hidden for key in members) != 1:
                continue
            visible = sorted(
                (counts[key], str(key), key)
                for key in children
                if not figures[key].hidden and counts[key] > 0 and not recoverable(key)
            )
            victim = visible[0][2] if visible else parent
            if figures[victim].hidden:
                continue  # a parent of 0 with one hidden child cannot happen; nothing left to hide
            figures[victim] = _secondary()
            changed = True
    return figures


def suppress_breakdown(counts: Mapping[K, int], total: int) -> tuple[dict[K, Figure], Figure]:
    """Figures for the cells of one breakdown and for its total, with complementary suppression."""
    total_key = object()
    linked: dict = {**counts, total_key: total}
    figures = suppress_linked(linked, [(total_key, list(counts))])
    total_figure = figures.pop(total_key)
    return figures, total_figure


def rate_figure(numerator: int, base: int, *, numerator_figure: Figure | None = None) -> Figure:
    """A percentage, withheld when its base is small or its numerator is hidden."""
    if base < MIN_BASE or (numerator_figure is not None and numerator_figure.hidden):
        return Figure(None, WITHHELD, "–")
    percent = round(100 * numerator / base)
    return Figure(percent, SHOWN, f"{percent}%")


def average_figure(total: float, count: int, *, learners: int) -> Figure:
    """An average of `count` scores (fractions of 1) as a percentage, withheld when they come from
    fewer than MIN_BASE learners: the base is people, not scores."""
    if learners < MIN_BASE or count == 0:
        return Figure(None, WITHHELD, "–")
    percent = round(100 * total / count)
    return Figure(percent, SHOWN, f"{percent}%")
