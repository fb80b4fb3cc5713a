from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "lms.progress"
    label = "progress"
    verbose_name = "Progress"

    def ready(self) -> None:
        from django.core import checks

        from lms.progress.ratelimit import rate_limits_check

        checks.register(rate_limits_check)
