"""Learner actions on courses: enroll, complete a lesson, run, check and submit an exercise (also as an
uploaded notebook), hints, quizzes, "My learning", certificates and their public verification."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.models import CoursePage, Exercise, LessonPage
from courses.quizzes import QuizAnswerError
from courses.selectors import QUIZ_FLASH_SESSION_KEY, lesson_hints, quiz_in_lesson, safe_html
from lms.progress import certificates, notebooks, selectors, services
from lms.progress.models import Certificate, Submission
from lms.progress.outputs import run_public
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
    had_certificate = selectors.has_certificate_for_lesson(user=request.user, lesson=lesson)
    services.lesson_complete(user=request.user, lesson=lesson)
    messages.success(request, _("Lesson completed."))
    _announce_completion(request, lesson, had_certificate)
    return _back(request, lesson.url)


def _announce_completion(request: HttpRequest, lesson: LessonPage, had_certificate: bool) -> None:
    """Say so, once, when the action just taken completed the course."""
    if had_certificate:
        return
    certificate = selectors.certificate_for_lesson(user=request.user, lesson=lesson)
    if certificate is not None:
        messages.success(
            request,
            _("You have completed “%(course)s”. Your certificate is ready.") % {"course": certificate.course_title},
        )


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
    exercise = get_object_or_404(Exercise.objects.filter(live=True), pk=exercise_id)
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
    exercise = get_object_or_404(Exercise.objects.filter(live=True), pk=exercise_id)
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
    exercise = get_object_or_404(Exercise.objects.filter(live=True), pk=exercise_id)
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
    run = _run_json(submission, submission.feedback or {}) if submission.kind == Submission.Kind.RUN else None
    return render(request, "progress/submission.html", {"submission": submission, "run": run})


def _submission_json(submission: Submission) -> dict[str, object]:
    """What the learner may see: never hidden test source, solutions or operator errors."""
    feedback = submission.feedback or {}
    if submission.kind == Submission.Kind.RUN:
        return _run_json(submission, feedback)
    return {**selectors.submission_public(submission), "url": reverse("submission_detail", args=[submission.pk])}


MAX_QUIZ_VALUES = 8


def _run_json(submission: Submission, feedback: dict) -> dict[str, object]:
    """A run's outputs per answer cell, already checked when stored (lms.progress.outputs)."""
    return {
        "id": submission.pk,
        "url": reverse("submission_detail", args=[submission.pk]),
        "kind": submission.kind,
        "status": submission.status,
        "status_label": str(submission.get_status_display()),
        "verdict": submission.verdict,
        **run_public(verdict=submission.verdict, feedback=feedback),
        "failed_reason": _("Your code could not run. Please try again later.") if submission.status == "failed" else "",
    }


@require_POST
@login_required
def quiz_answer(request: HttpRequest, lesson_id: int, quiz_id: str) -> HttpResponse:
    """Grade a quiz from its plain form, then back to the quiz on the lesson page (post, redirect, get)."""
    lesson = get_object_or_404(LessonPage.objects.live(), pk=lesson_id)
    spec = quiz_in_lesson(lesson=lesson, quiz_id=quiz_id)
    if spec is None:
        raise Http404("no such quiz in this lesson")
    raw = [value[:1000] for value in request.POST.getlist("answer")[:MAX_QUIZ_VALUES]]
    had_certificate = selectors.has_certificate_for_lesson(user=request.user, lesson=lesson)
    try:
        services.quiz_answer(user=request.user, lesson=lesson, spec=spec, raw=raw)
        _announce_completion(request, lesson, had_certificate)
    except QuizAnswerError as error:
        # Shown once in the quiz itself, with what the learner typed, after the redirect.
        flash = request.session.get(QUIZ_FLASH_SESSION_KEY) or {}
        flash[f"{lesson.pk}:{quiz_id}"] = {"error": str(error), "input": [value[:200] for value in raw]}
        request.session[QUIZ_FLASH_SESSION_KEY] = flash
    return HttpResponseRedirect(f"{lesson.url}#quiz-{quiz_id}")


def _my_certificate(request: HttpRequest, code: str) -> Certificate:
    # Another learner's certificate is simply not found here; the public page is /verify/<code>/.
    return get_object_or_404(Certificate, code=code, user=request.user)


@require_http_methods(["GET", "POST"])
@login_required
def certificate_detail(request: HttpRequest, code: str) -> HttpResponse:
    certificate = _my_certificate(request, code)
    if request.method == "POST":
        try:
            services.certificate_name_set(certificate=certificate, name=request.POST.get("name", "")[:1000])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("certificate_detail", code=certificate.code)
    if certificate.language != request.LANGUAGE_CODE:
        # A certificate is shown in the language it was issued in, page and all.
        with translation.override(certificate.language):
            return redirect(reverse("certificate_detail", args=[certificate.code]))
    return render(
        request,
        "progress/certificate.html",
        {"certificate": certificate, "verify_url": certificates.verify_url(request, certificate)},
    )


@require_GET
@login_required
def certificate_pdf(request: HttpRequest, code: str) -> HttpResponse:
    certificate = _my_certificate(request, code)
    if not certificate.learner_name:
        messages.error(request, _("Enter the name to print on your certificate first."))
        return redirect("certificate_detail", code=certificate.code)
    pdf = certificates.render_pdf(certificate, verify_url=certificates.verify_url(request, certificate))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{certificate.code}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def verify(request: HttpRequest) -> HttpResponse:
    """The public form: type a code, see whether it is a valid certificate."""
    typed = request.GET.get("code", "")
    if typed:
        code = services.certificate_code_normalise(typed[:100])
        if code:
            return redirect("certificate_verify", code=code)
        return render(
            request,
            "progress/verify.html",
            {"typed": typed[:100], "error": _("A code has 12 letters and digits, like 7K2M-9QXD-4TNB.")},
            status=400,
        )
    return render(request, "progress/verify.html", {})


@require_GET
def verify_code(request: HttpRequest, code: str) -> HttpResponse:
    """Anyone holding the code sees the name on the certificate, the course, the date and whether it
    stands. Never the learner's e-mail or account."""
    normalised = services.certificate_code_normalise(code)
    if normalised and normalised != code:
        return redirect("certificate_verify", code=normalised)
    certificate = Certificate.objects.filter(code=normalised).first() if normalised else None
    return render(
        request,
        "progress/verify.html",
        {"certificate": certificate, "typed": code[:100], "checked": True},
        status=200 if certificate else 404,
    )


@require_POST
@login_required
def hint_reveal(request: HttpRequest, exercise_id: int) -> HttpResponse:
    """Show the next hint of an exercise in a lesson, recording that the learner asked for it.

    The hints are the lesson's (in its language), so the form names the lesson; the reply is the
    hint's HTML for the page's script, or a redirect back to the lesson without JavaScript.
    """
    exercise = get_object_or_404(Exercise.objects.filter(live=True), pk=exercise_id)
    lesson_id = request.POST.get("lesson", "")
    lesson = get_object_or_404(LessonPage.objects.live(), pk=int(lesson_id) if lesson_id.isdigit() else 0)
    hints = lesson_hints(lesson=lesson, exercise=exercise)
    if hints is None:
        raise Http404("This lesson has no such exercise.")
    revealed = services.hint_reveal(user=request.user, exercise=exercise, hint_total=len(hints))
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {
                "revealed": revealed,
                "total": len(hints),
                # Hints are the course authors' rich text, cleaned to an allow-list like notebook text.
                "html": [safe_html(str(hint)) for hint in hints[:revealed]],
            }
        )
    return HttpResponseRedirect(f"{lesson.url}#hints-{exercise.pk}")
