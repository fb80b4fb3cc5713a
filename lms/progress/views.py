"""Learner actions on courses: enroll, complete a lesson, and the "My learning" page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from courses.exercises import answer_keys, exercise_release, learner_notebook
from courses.models import CoursePage, Exercise, LessonPage
from lms.progress import selectors, services
from lms.progress.models import Submission


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = fallback
    return HttpResponseRedirect(target or "/")


@require_POST
@login_required
def enroll(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(CoursePage.objects.live(), pk=course_id)
    services.enrollment_start(user=request.user, course=course)
    messages.success(request, _("You are enrolled in “%(course)s”.") % {"course": course.title})
    return _back(request, course.url)


@require_POST
@login_required
def complete_lesson(request: HttpRequest, lesson_id: int) -> HttpResponse:
    lesson = get_object_or_404(LessonPage.objects.live(), pk=lesson_id)
    services.lesson_complete(user=request.user, lesson=lesson)
    messages.success(request, _("Lesson completed."))
    return _back(request, lesson.url)


@require_GET
@login_required
def my_learning(request: HttpRequest) -> HttpResponse:
    return render(request, "progress/my_learning.html", {"rows": selectors.my_learning(user=request.user)})


@require_POST
@login_required
def exercise_submit(request: HttpRequest, exercise_id: int) -> HttpResponse:
    """Check or Submit an exercise from its form. Answers JSON to the page's script, else redirects."""
    exercise = get_object_or_404(Exercise, pk=exercise_id)
    release = exercise_release(exercise)
    answers = {key: request.POST.get(f"answer:{key}", "") for key in answer_keys(release)}
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        submission = services.submission_create(
            user=request.user,
            exercise=exercise,
            notebook=learner_notebook(release, answers),
            kind=request.POST.get("kind", Submission.Kind.SUBMIT),
        )
    except ValidationError as error:
        if wants_json:
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        messages.error(request, " ".join(error.messages))
        return _back(request, "/")
    if wants_json:
        return JsonResponse(_submission_json(submission), status=202)
    return redirect("submission_detail", submission_id=submission.pk)


@require_GET
@login_required
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    # Another learner's submission is simply not found: ids reveal nothing.
    submission = get_object_or_404(Submission.objects.select_related("exercise"), pk=submission_id, user=request.user)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(_submission_json(submission))
    return render(request, "progress/submission.html", {"submission": submission})


def _submission_json(submission: Submission) -> dict[str, object]:
    """What the learner may see: never hidden test source, solutions or operator errors."""
    feedback = submission.feedback or {}
    return {
        "id": submission.pk,
        "url": reverse("submission_detail", args=[submission.pk]),
        "kind": submission.kind,
        "status": submission.status,
        "status_label": str(submission.get_status_display()),
        "verdict": submission.verdict,
        "score": submission.score,
        "max_score": submission.max_score,
        "tests": [
            {key: test.get(key) for key in ("id", "name", "points", "max_points", "passed", "hidden", "message")}
            for test in feedback.get("tests", [])
        ],
        "manual": [item.get("id") for item in feedback.get("manual", [])],
        "failed_reason": _("Grading could not run. Please try again later.") if submission.status == "failed" else "",
    }
