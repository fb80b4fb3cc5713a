from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "lms.insights"
    label = "insights"
    verbose_name = "Insights"
