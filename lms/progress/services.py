"""Writes to enrollments and completions. Views and pages call these, never save() themselves."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from courses.models import CoursePage, LessonPage
from courses.selectors import course_for_lesson, lesson_count
from lms.progress.models import Enrollment, LessonCompletion


def enrollment_start(*, user: AbstractBaseUser, course: CoursePage) -> Enrollment:
    enrollment, _created = Enrollment.objects.get_or_create(
        user=user, course_key=course.translation_key, defaults={"enrolled_at": timezone.now()}
    )
    return enrollment


def lesson_visit_record(*, user: AbstractBaseUser, lesson: LessonPage) -> None:
    """Remember the last lesson opened in each enrolled course; a no-op for courses not enrolled in."""
    course = course_for_lesson(lesson=lesson)
    if course is None:
        return
    Enrollment.objects.filter(user=user, course_key=course.translation_key).update(
        last_lesson_key=lesson.translation_key, last_visited_at=timezone.now()
    )


@transaction.atomic
def lesson_complete(*, user: AbstractBaseUser, lesson: LessonPage) -> LessonCompletion:
    """Mark a lesson done (enrolling the learner if needed) and complete the course when its rule is met."""
    course = course_for_lesson(lesson=lesson)
    if course is None:
        raise ValueError("This lesson does not belong to a course.")
    enrollment = enrollment_start(user=user, course=course)
    now = timezone.now()
    try:
        with transaction.atomic():
            completion, _created = LessonCompletion.objects.get_or_create(
                user=user,
                lesson_key=lesson.translation_key,
                defaults={"course_key": course.translation_key, "completed_at": now},
            )
    except IntegrityError:  # a double click raced us; the other request stored it
        completion = LessonCompletion.objects.get(user=user, lesson_key=lesson.translation_key)

    enrollment.last_lesson_key = lesson.translation_key
    enrollment.last_visited_at = now
    update_fields = ["last_lesson_key", "last_visited_at"]
    if enrollment.completed_at is None:
        done = LessonCompletion.objects.filter(user=user, course_key=course.translation_key).count()
        total = lesson_count(course=course)
        if total and done * 100 >= total * course.completion_lessons_percent:
            enrollment.completed_at = now
            update_fields.append("completed_at")
    enrollment.save(update_fields=update_fields)
    return completion
