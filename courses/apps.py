from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = "Courses"

    def ready(self) -> None:
        from courses import datasets, page_cache

        page_cache.connect_signals()
        datasets.connect_signals()
