from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Enrollment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    # CoursePage.translation_key: the same for every language version of the course.
    course_key = models.UUIDField(_("course"))
    enrolled_at = models.DateTimeField(_("enrolled at"))
    last_lesson_key = models.UUIDField(null=True, blank=True)
    last_visited_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course_key"], name="one_enrollment_per_course")]
        indexes = [models.Index(fields=["course_key", "enrolled_at"])]
        verbose_name = _("enrollment")

    def __str__(self) -> str:
        return f"{self.user_id} in {self.course_key}"


class LessonCompletion(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_completions")
    course_key = models.UUIDField()
    lesson_key = models.UUIDField()
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lesson_key"], name="one_completion_per_lesson")]
        indexes = [models.Index(fields=["user", "course_key"]), models.Index(fields=["course_key", "completed_at"])]
        verbose_name = _("lesson completion")

    def __str__(self) -> str:
        return f"{self.user_id} completed {self.lesson_key}"
