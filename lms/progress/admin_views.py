"""Instructor analytics, regrades and the grades export, in the Wagtail admin (/cms/analytics/...).

Wagtail's admin URL wrapper already sends anyone without admin access to its login page; each view
then checks the permission its data needs:
- an exercise's figures: may view or change exercises (courses.view_exercise / change_exercise);
- a regrade: may change exercises (whoever fixes a test regrades);
- a course's figures and grades: may edit that course page.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from wagtail.admin import messages

from courses.models import CoursePage, Exercise
from lms.progress import analytics, charts, services
from lms.progress.models import Regrade


def may_view_exercise(user: Any) -> bool:
    return user.has_perm("courses.view_exercise") or user.has_perm("courses.change_exercise")


def may_regrade(user: Any) -> bool:
    return user.has_perm("courses.change_exercise")


def may_view_course(user: Any, course: CoursePage) -> bool:
    return bool(course.permissions_for_user(user).can_edit())


def _exercise_or_403(request: HttpRequest, exercise_id: int) -> Exercise:
    if not may_view_exercise(request.user):
        raise PermissionDenied
    return get_object_or_404(Exercise, pk=exercise_id)


def _course_or_403(request: HttpRequest, page_id: int) -> CoursePage:
    course = CoursePage.objects.filter(pk=page_id).first()
    if course is None:
        raise Http404
    if not may_view_course(request.user, course):
        raise PermissionDenied
    return course


def _exercise_breadcrumbs(exercise: Exercise, *current: str) -> list[dict[str, str]]:
    crumbs = [
        {"url": reverse("wagtailadmin_home"), "label": _("Home")},
        {"url": reverse("wagtailsnippets_courses_exercise:list"), "label": str(Exercise._meta.verbose_name_plural)},
        {"url": reverse("wagtailsnippets_courses_exercise:edit", args=[exercise.pk]), "label": exercise.title},
        {"url": exercise_analytics_url(exercise) if current else "", "label": _("Analytics")},
    ]
    return crumbs + [{"url": "", "label": label} for label in current]


def exercise_analytics(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _exercise_or_403(request, exercise_id)
    figures = analytics.exercise_analytics(exercise=exercise)
    return render(
        request,
        "progress/admin/exercise_analytics.html",
        {
            "exercise": exercise,
            "breadcrumbs": _exercise_breadcrumbs(exercise),
            "figures": figures,
            "histogram": charts.histogram(
                figures.histogram,
                title=_("Learners by best score"),
                x_label=_("Best score (of %(max)s)") % {"max": _points(exercise.max_score)},
            ),
            "regrades": Regrade.objects.filter(exercise=exercise).select_related("started_by").order_by("-pk")[:5],
            "may_regrade": may_regrade(request.user),
            "edit_url": reverse("wagtailsnippets_courses_exercise:edit", args=[exercise.pk]),
        },
    )


@require_POST
def regrade_start(request: HttpRequest, exercise_id: int) -> HttpResponse:
    if not may_regrade(request.user):
        raise PermissionDenied
    exercise = get_object_or_404(Exercise, pk=exercise_id)
    try:
        regrade = services.regrade_start(exercise=exercise, started_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("progress_analytics:exercise", exercise_id=exercise.pk)
    return redirect("progress_analytics:regrade", regrade_id=regrade.pk)


def _regrade_or_403(request: HttpRequest, regrade_id: int) -> Regrade:
    if not may_view_exercise(request.user):
        raise PermissionDenied
    return get_object_or_404(Regrade.objects.select_related("exercise", "started_by"), pk=regrade_id)


def regrade_detail(request: HttpRequest, regrade_id: int) -> HttpResponse:
    regrade = _regrade_or_403(request, regrade_id)
    return render(
        request,
        "progress/admin/regrade.html",
        {
            "regrade": regrade,
            "exercise": regrade.exercise,
            "breadcrumbs": _exercise_breadcrumbs(regrade.exercise, _("Regrade")),
            **analytics.regrade_changes(regrade=regrade),
        },
    )


def regrade_status(request: HttpRequest, regrade_id: int) -> JsonResponse:
    """What the progress bar polls. Once finished, the changed scores come along, as plain data."""
    regrade = _regrade_or_403(request, regrade_id)
    data: dict[str, Any] = {
        "status": regrade.status,
        "status_label": str(regrade.get_status_display()),
        "total": regrade.total,
        "done": regrade.done,
        "failed": regrade.failed,
        "finished": regrade.status == Regrade.Status.FINISHED,
    }
    if data["finished"]:
        changes = analytics.regrade_changes(regrade=regrade)
        data["summary"] = changes["summary"]
        data["changes"] = [
            {
                "learner": services.learner_display_name(result.submission.user) or result.submission.user.email,
                "submitted_at": timezone.localtime(result.submission.created_at).strftime("%Y-%m-%d %H:%M"),
                "old": _points(result.old_score),
                "new": _points(result.new_score),
                "max": _points(result.new_max_score if result.new_max_score is not None else result.old_max_score),
                "status": result.status,
                "status_label": str(result.get_status_display()),
            }
            for result in changes["changed"]
        ]
    return JsonResponse(data)


def course_analytics(request: HttpRequest, page_id: int) -> HttpResponse:
    course = _course_or_403(request, page_id)
    figures = analytics.course_analytics(course=course)
    peak = max([figures.enrolled, *(lesson.reached for lesson in figures.lessons)], default=0) or 1
    return render(
        request,
        "progress/admin/course_analytics.html",
        {
            "course": course,
            "breadcrumbs": [
                {"url": reverse("wagtailadmin_home"), "label": _("Home")},
                {"url": reverse("wagtailadmin_explore", args=[course.pk]), "label": course.title},
                {"url": "", "label": _("Analytics")},
            ],
            "figures": figures,
            "funnel": [
                {
                    "lesson": lesson,
                    "reached_percent": round(100 * lesson.reached / peak),
                    "completed_percent": round(100 * lesson.completed / peak),
                }
                for lesson in figures.lessons
            ],
            "may_view_exercises": may_view_exercise(request.user),
        },
    )


# -- the grades export --------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def grades_csv_lines(gradebook: analytics.Gradebook) -> Iterator[str]:
    """The gradebook as CSV text, line by line: one row per learner, four columns per exercise."""
    writer = csv.writer(_Echo())
    header = [
        _("Learner"),
        _("E-mail"),
        # Dates, unlike the page's "Enrolled" count: their own strings, translated as dates.
        _("Enrolled on"),
        _("Course completed on"),
        _("Lessons completed (of %(total)d)") % {"total": gradebook.lesson_total},
        _("Quiz points (of %(total)s)") % {"total": _points(gradebook.quiz_total)},
    ]
    for exercise in gradebook.exercises:
        header += [
            _("%(exercise)s: best score (of %(max)s)")
            % {"exercise": exercise.title, "max": _points(exercise.max_score)},
            _("%(exercise)s: attempts") % {"exercise": exercise.title},
            _("%(exercise)s: passed") % {"exercise": exercise.title},
            _("%(exercise)s: last submission") % {"exercise": exercise.title},
        ]
    # The byte order mark makes Excel read the file as UTF-8 (Arabic and Chinese names intact).
    yield "\ufeff" + writer.writerow([csv_safe(cell) for cell in header])
    yes, no = _("yes"), _("no")
    for row in gradebook.rows:
        cells: list[Any] = [
            row.name,
            row.email,
            _when(row.enrolled_at),
            _when(row.completed_at),
            row.lessons_completed,
            _points(row.quiz_points),
        ]
        for cell in row.exercises:
            cells += [
                _points(cell.best_score),
                cell.attempts,
                "" if cell.passed is None else (yes if cell.passed else no),
                _when(cell.last_submitted_at),
            ]
        yield writer.writerow([csv_safe(value) for value in cells])


def course_grades_csv(request: HttpRequest, page_id: int) -> StreamingHttpResponse:
    course = _course_or_403(request, page_id)
    gradebook = analytics.course_gradebook(course=course)
    filename = f"grades-{slugify(course.slug) or course.pk}-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(grades_csv_lines(gradebook), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _points(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _when(value: datetime | None) -> str:
    # ISO 8601 in the site's time zone: every spreadsheet reads it, whatever its language.
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def course_analytics_url(course: CoursePage) -> str:
    return reverse("progress_analytics:course", kwargs={"page_id": course.pk})


def exercise_analytics_url(exercise: Exercise) -> str:
    return reverse("progress_analytics:exercise", kwargs={"exercise_id": exercise.pk})
