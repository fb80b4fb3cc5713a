"""Per-learner rate limits on Run, Check and Submit, counted in the Django cache (Redis in production).

Limits come from settings.RATE_LIMITS, e.g. {"run": "20/m", "check": "20/m", "submit": "10/m"}:
a count per period, the period being s, m, h or d, optionally with a multiple ("5/30s"). Each
learner gets a fixed window per action, starting at a multiple of the period: simple, one cache key
per learner and action, and the refusal can say exactly when the window ends. A learner may use
a full allowance at the end of one window and another at the start of the next (at most twice the
rate over one period); that is the price of the exact Retry-After.

Refused attempts count too: a script hammering the endpoint does not get its window extended, but
neither does it get anything graded. With Redis or the local-memory cache the counter is atomic;
the file cache (single-machine default) may lose a count under a race, never refuse wrongly.

Callers: `rate_limit_hit(user=..., action="run")` before doing the work; it raises RateLimited,
whose `message` is translated into the active language and says when to retry.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy, ngettext

ACTION_LABELS = {"run": gettext_lazy("Run"), "check": gettext_lazy("Check"), "submit": gettext_lazy("Submit")}
PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


def parse_rate(text: str) -> Rate:
    """'10/m' -> Rate(10, 60); '5/30s' -> Rate(5, 30). ImproperlyConfigured names the bad value."""
    match = _RATE.match(text)
    if not match:
        raise ImproperlyConfigured(f"Rate limit {text!r} is not of the form COUNT/PERIOD, e.g. '10/m' or '5/30s'.")
    count, multiple, unit = match.groups()
    period = int(multiple or 1) * PERIOD_SECONDS[unit]
    if period <= 0:
        raise ImproperlyConfigured(f"Rate limit {text!r} has an empty period.")
    return Rate(limit=int(count), period=period)


def rate_limits_check(app_configs: object = None, **kwargs: object) -> list[Error]:
    """A system check: a mistyped RATE_LIMITS stops `manage.py check` and start-up, not a learner's Submit."""
    errors = []
    for action, text in getattr(settings, "RATE_LIMITS", {}).items():
        try:
            parse_rate(text)
        except ImproperlyConfigured as problem:
            errors.append(Error(f"RATE_LIMITS[{action!r}]: {problem}", id="progress.E001"))
    return errors


def rate_for(action: str) -> Rate | None:
    """The configured rate for an action; None when the action is not limited."""
    text = getattr(settings, "RATE_LIMITS", {}).get(action)
    return parse_rate(text) if text else None


class RateLimited(Exception):
    def __init__(self, action: str, retry_after: int, rate: Rate) -> None:
        super().__init__(f"{action}: retry after {retry_after} s")
        self.action = action
        self.retry_after = retry_after
        self.rate = rate

    @property
    def message(self) -> str:
        """Translated when read, so it follows the language of the request that reads it."""
        action = ACTION_LABELS.get(self.action, self.action)
        if self.retry_after < 120:
            return ngettext(
                "Too many “%(action)s” requests. You can try again in %(count)d second.",
                "Too many “%(action)s” requests. You can try again in %(count)d seconds.",
                self.retry_after,
            ) % {"action": action, "count": self.retry_after}
        minutes = math.ceil(self.retry_after / 60)
        return ngettext(
            "Too many “%(action)s” requests. You can try again in %(count)d minute.",
            "Too many “%(action)s” requests. You can try again in %(count)d minutes.",
            minutes,
        ) % {"action": action, "count": minutes}


def rate_limit_hit(*, user: object, action: str, now: float | None = None) -> None:
    """Count one `action` by `user`; raise RateLimited when it goes over the configured rate."""
    rate = rate_for(action)
    if rate is None:
        return
    now = time.time() if now is None else now
    window = int(now // rate.period)
    key = f"ratelimit:{action}:{user.pk}:{window}"  # type: ignore[attr-defined]
    # add() creates the counter only if it is missing; incr() is atomic on Redis and local memory.
    cache.add(key, 0, timeout=rate.period + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the first hit of a new counter
        cache.set(key, 1, timeout=rate.period + 5)
        count = 1
    if count > rate.limit:
        window_end = (window + 1) * rate.period
        raise RateLimited(action, max(1, math.ceil(window_end - now)), rate)
