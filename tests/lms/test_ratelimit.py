"""The per-learner rate limiter (lms.progress.ratelimit), counted in the real configured cache."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from lms.progress.ratelimit import Rate, RateLimited, parse_rate, rate_limit_hit

pytestmark = pytest.mark.django_db


class Learner:
    def __init__(self, pk: int) -> None:
        self.pk = pk


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/m", Rate(10, 60)),
        ("20/s", Rate(20, 1)),
        (" 5 / 30s ", Rate(5, 30)),
        ("100/h", Rate(100, 3600)),
        ("1/2d", Rate(1, 172800)),
        ("0/m", Rate(0, 60)),
    ],
)
def test_rates_are_read_from_settings_text(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["10", "10/minute", "/m", "ten/m", "10/0m", "-1/m"])
def test_a_bad_rate_names_itself(text):
    with pytest.raises(ImproperlyConfigured, match="Rate limit"):
        parse_rate(text)


def test_the_limit_refuses_the_next_hit_and_says_when_the_window_ends(settings):
    settings.RATE_LIMITS = {"submit": "3/m"}
    learner = Learner(1)
    start = 6000.0 + 15  # 15 s into a one-minute window
    for _ in range(3):
        rate_limit_hit(user=learner, action="submit", now=start)
    with pytest.raises(RateLimited) as refused:
        rate_limit_hit(user=learner, action="submit", now=start + 5)
    assert refused.value.retry_after == 40  # the window ends at 6060
    assert refused.value.rate == Rate(3, 60)
    with translation.override("en"):
        assert refused.value.message == "Too many “Submit” requests. You can try again in 40 seconds."
    # Refused attempts count too, and the next window starts afresh.
    with pytest.raises(RateLimited):
        rate_limit_hit(user=learner, action="submit", now=start + 44.2)
    with pytest.raises(RateLimited) as last_second:
        rate_limit_hit(user=learner, action="submit", now=start + 44.5)
    assert last_second.value.retry_after == 1
    with translation.override("en"):
        assert last_second.value.message.endswith("try again in 1 second.")
    rate_limit_hit(user=learner, action="submit", now=start + 45)


def test_learners_and_actions_have_their_own_allowance(settings):
    settings.RATE_LIMITS = {"submit": "1/h", "check": "2/h", "run": "1/h"}
    one, two = Learner(1), Learner(2)
    now = 7200.0
    rate_limit_hit(user=one, action="submit", now=now)
    rate_limit_hit(user=two, action="submit", now=now)
    rate_limit_hit(user=one, action="check", now=now)
    rate_limit_hit(user=one, action="run", now=now)
    with pytest.raises(RateLimited) as refused:
        rate_limit_hit(user=one, action="run", now=now)
    assert refused.value.action == "run" and refused.value.retry_after == 3600
    rate_limit_hit(user=one, action="check", now=now)
    with pytest.raises(RateLimited):
        rate_limit_hit(user=one, action="check", now=now)


def test_an_action_without_a_configured_rate_is_not_limited(settings):
    settings.RATE_LIMITS = {"submit": "1/m"}
    for _ in range(50):
        rate_limit_hit(user=Learner(1), action="check")


def test_the_message_is_translated_when_read(settings):
    settings.RATE_LIMITS = {"check": "0/m"}
    with pytest.raises(RateLimited) as refused:
        rate_limit_hit(user=Learner(1), action="check", now=60.0)
    with translation.override("ar"):
        assert "تحقّق" in refused.value.message  # the action's name in Arabic
    with translation.override("en"):
        assert "“Check”" in refused.value.message and "60 seconds" in refused.value.message


@pytest.mark.parametrize(
    ("seconds", "says"),
    [
        (1, "in 1 second."),
        (119, "in 119 seconds."),
        (120, "in 2 minutes."),
        (121, "in 3 minutes."),
        (3600, "in 60 minutes."),
    ],
)
def test_long_waits_are_said_in_minutes(seconds, says):
    with translation.override("en"):
        assert RateLimited("submit", seconds, Rate(1, 3600)).message.endswith(says)


def test_rates_come_from_the_environment(monkeypatch):
    import importlib

    import lms.settings

    monkeypatch.setenv("RATE_LIMITS", "run=5/m, submit = 2/h")
    try:
        reloaded = importlib.reload(lms.settings)
        assert reloaded.RATE_LIMITS == {"run": "5/m", "submit": "2/h"}
    finally:
        monkeypatch.delenv("RATE_LIMITS")
        importlib.reload(lms.settings)


def test_a_mistyped_setting_fails_the_system_check(settings):
    from lms.progress.ratelimit import rate_limits_check

    settings.RATE_LIMITS = {"run": "20/m", "submit": "10 per minute"}
    (error,) = rate_limits_check()
    assert error.id == "progress.E001" and "'submit'" in error.msg and "10 per minute" in error.msg
    settings.RATE_LIMITS = {"run": "20/m"}
    assert rate_limits_check() == []
