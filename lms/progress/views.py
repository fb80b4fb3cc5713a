"""Learner actions on courses: enroll, complete a lesson, submit an exercise, and the "My learning" page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from courses.models import CoursePage, Exercise, LessonPage
from lms.progress import notebooks, selectors, services
from lms.progress.models import Submission
from lms.progress.ratelimit import RateLimited


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


def _refused(request: HttpRequest, refusal: RateLimited, wants_json: bool) -> HttpResponse:
    """429 with Retry-After, the same on the page's script, the plain form and the API."""
    if wants_json:
        body = {"error": refusal.message, "retry_after": refusal.retry_after}
        response: HttpResponse = JsonResponse(body, status=429)
    else:
        response = render(
            request,
            "progress/rate_limited.html",
            {"message": refusal.message, "back": _back(request, "/")["Location"]},
            status=429,
        )
    response["Retry-After"] = str(refusal.retry_after)
    return response


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _created(request: HttpRequest, submission: Submission) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(_submission_json(submission), status=202)
    return redirect("submission_detail", submission_id=submission.pk)


def _invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    message = " ".join(error.messages)
    if _wants_json(request):
        status = 413 if getattr(error, "code", None) == "too_large" else 400
        return JsonResponse({"error": message}, status=status)
    messages.error(request, message)
    return _back(request, "/")


@require_POST
@login_required
def exercise_submit(request: HttpRequest, exercise_id: int) -> HttpResponse:
    """Check or Submit an exercise from its form. Answers JSON to the page's script, else redirects."""
    exercise = get_object_or_404(Exercise, pk=exercise_id)
    # One field per answer cell, "answer:<key>"; the service refuses keys the exercise does not have.
    answers = {
        name.removeprefix("answer:"): value for name, value in request.POST.items() if name.startswith("answer:")
    }
    try:
        submission = services.learner_submit(
            user=request.user, exercise=exercise, kind=request.POST.get("kind", Submission.Kind.SUBMIT), answers=answers
        )
    except RateLimited as refusal:
        return _refused(request, refusal, _wants_json(request))
    except ValidationError as error:
        return _invalid(request, error)
    return _created(request, submission)


@require_POST
@login_required
def exercise_upload(request: HttpRequest, exercise_id: int) -> HttpResponse:
    """Grade a notebook completed offline in Jupyter: a plain file form, or the page's script."""
    exercise = get_object_or_404(Exercise, pk=exercise_id)
    upload = request.FILES.get("notebook")
    try:
        if upload is None:
            raise ValidationError(_("Choose a notebook file (.ipynb) to upload."), code="invalid")
        raw = notebooks.upload_bytes(upload)
        submission = services.learner_submit(
            user=request.user, exercise=exercise, kind=request.POST.get("kind", Submission.Kind.SUBMIT), upload=raw
        )
    except RateLimited as refusal:
        return _refused(request, refusal, _wants_json(request))
    except ValidationError as error:
        return _invalid(request, error)
    return _created(request, submission)


@require_GET
def exercise_notebook(request: HttpRequest, exercise_id: int) -> HttpResponse:
    """The exercise as a learner notebook (.ipynb); ?answers=latest fills in the learner's last code."""
    exercise = get_object_or_404(Exercise, pk=exercise_id)
    filename, body = selectors.exercise_download(
        exercise=exercise, user=request.user, with_answers=request.GET.get("answers") == "latest"
    )
    response = HttpResponse(body, content_type="application/x-ipynb+json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    # Another learner's submission is simply not found: ids reveal nothing.
    submission = get_object_or_404(Submission.objects.select_related("exercise"), pk=submission_id, user=request.user)
    if _wants_json(request):
        return JsonResponse(_submission_json(submission))
    return render(request, "progress/submission.html", {"submission": submission})


def _submission_json(submission: Submission) -> dict[str, object]:
    return {**selectors.submission_public(submission), "url": reverse("submission_detail", args=[submission.pk])}
