from django.core.management.base import BaseCommand

from courses.exercise_texts import exercise_text_refresh
from courses.models import Exercise
from courses.translation import course_translations_sync
from courses.translation_status import translation_completeness


class Command(BaseCommand):
    help = (
        "Register every course's pages and translated pages with wagtail-localize (load_content does it for "
        "the courses it loads) and make each exercise's source texts match its notebook. Idempotent."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        for exercise in Exercise.objects.order_by("pk"):
            exercise_text_refresh(exercise=exercise)
        for item in translation_completeness():
            report = course_translations_sync(course=item.course)
            self.stdout.write(
                f"{item.course.slug}: {report.sources_created} sources and {report.translations_created} "
                f"translations registered, {report.strings_imported} strings imported"
            )
        for item in translation_completeness():
            languages = ", ".join(f"{language.code} {language.percent} %" for language in item.languages)
            self.stdout.write(f"{item.course.slug}: {languages}")
