"""API v1 endpoints: thin views over lms.progress services and selectors, the same as the pages use."""

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from courses.exercises import answer_key, exercise_release
from courses.models import Exercise
from lms.api.auth import api_endpoint, error
from lms.api.openapi import openapi_document
from lms.progress import notebooks, selectors, services
from lms.progress.models import Submission
from lms.progress.outputs import run_public
from lms.progress.ratelimit import RateLimited
from sandbox.formats import source_of

PAGE_SIZE = 50


def _absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


def _submission(request: HttpRequest, submission: Submission) -> dict[str, Any]:
    run = (
        run_public(verdict=submission.verdict, feedback=submission.feedback or {})
        if submission.kind == Submission.Kind.RUN
        else {}
    )
    return {
        **selectors.submission_public(submission),
        **run,
        "url": _absolute(request, reverse("api_submission", args=[submission.pk])),
        "page_url": _absolute(request, reverse("submission_detail", args=[submission.pk])),
    }


def _exercise(request: HttpRequest, exercise_id: int) -> Exercise | None:
    return Exercise.objects.filter(pk=exercise_id, live=True).first()


def _not_found() -> JsonResponse:
    return error(404, _("Not found."))


@api_endpoint("GET", public=True)
def schema(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})


@api_endpoint("GET", public=True)
def docs(request: HttpRequest) -> HttpResponse:
    from lms.api.openapi import operations

    document = openapi_document()
    schemas = [(name, json.dumps(schema, indent=2)) for name, schema in document["components"]["schemas"].items()]
    return render(
        request, "api/docs.html", {"document": document, "operations": operations(document), "schemas": schemas}
    )


@api_endpoint("GET")
def enrollments(request: HttpRequest) -> JsonResponse:
    rows = selectors.my_learning(user=request.user)
    return JsonResponse(
        {
            "enrollments": [
                {
                    "course": {
                        "key": str(row.course.translation_key),
                        "title": row.course.title,
                        "language": row.course.locale.language_code,
                        "url": _absolute(request, row.course.url),
                    },
                    "percent": row.percent,
                    "lessons_done": row.lesson_done,
                    "lessons_total": row.lesson_total,
                    "completed_at": row.completed_at.isoformat() if row.completed_at else None,
                    "last_visited_at": row.last_visited_at.isoformat() if row.last_visited_at else None,
                    "continue_url": _absolute(request, row.continue_lesson.url) if row.continue_lesson else None,
                }
                for row in rows
            ]
        }
    )


@api_endpoint("GET")
def exercise_detail(request: HttpRequest, exercise_id: int) -> JsonResponse:
    exercise = _exercise(request, exercise_id)
    if exercise is None:
        return _not_found()
    release = exercise_release(exercise)
    graded = Submission.objects.filter(
        user=request.user, exercise=exercise, kind=Submission.Kind.SUBMIT, score__isnull=False
    )
    best = graded.order_by("-score").values_list("score", flat=True).first()
    return JsonResponse(
        {
            "id": exercise.pk,
            "title": exercise.title,
            "max_score": exercise.max_score,
            "best_score": best,
            "answer_cells": [
                {"key": key, "starter_code": source_of(cell)} for cell in release["cells"] if (key := answer_key(cell))
            ],
            "notebook_url": _absolute(request, reverse("api_exercise_notebook", args=[exercise.pk])),
            "submissions_url": _absolute(request, reverse("api_exercise_submissions", args=[exercise.pk])),
        }
    )


@api_endpoint("GET")
def exercise_notebook(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _exercise(request, exercise_id)
    if exercise is None:
        return _not_found()
    filename, body = selectors.exercise_download(
        exercise=exercise, user=request.user, with_answers=request.GET.get("answers") == "latest"
    )
    response = HttpResponse(body, content_type="application/x-ipynb+json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@api_endpoint("GET", "POST")
def exercise_submissions(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _exercise(request, exercise_id)
    if exercise is None:
        return _not_found()
    if request.method == "GET":
        mine = Submission.objects.filter(user=request.user, exercise=exercise).order_by("-created_at", "-pk")
        return JsonResponse({"submissions": [_submission(request, s) for s in mine[:PAGE_SIZE]]})
    try:
        kind, answers, upload = _submission_input(request)
        submission = services.learner_submit(
            user=request.user, exercise=exercise, kind=kind, answers=answers, upload=upload
        )
    except RateLimited as refusal:
        response = error(429, refusal.message, retry_after=refusal.retry_after)
        response["Retry-After"] = str(refusal.retry_after)
        return response
    except ValidationError as invalid:
        return error(413 if getattr(invalid, "code", None) == "too_large" else 400, " ".join(invalid.messages))
    body = _submission(request, submission)
    response = JsonResponse(body, status=202)
    response["Location"] = body["url"]
    return response


def _submission_input(request: HttpRequest) -> tuple[str, dict[str, str] | None, bytes | None]:
    """(kind, answers, notebook bytes) from a JSON body or a multipart upload; ValidationError otherwise."""
    content_type = request.content_type or ""
    too_large = ValidationError(
        _("The request is larger than %(limit)d KiB.") % {"limit": _upload_limit() // 1024}, code="too_large"
    )
    if content_type == "multipart/form-data":
        try:
            upload = request.FILES.get("notebook")
            kind = request.POST.get("kind", Submission.Kind.SUBMIT)
        except RequestDataTooBig as exceeded:
            raise too_large from exceeded
        if upload is None:
            raise ValidationError(_("Choose a notebook file (.ipynb) to upload."), code="invalid")
        return kind, None, notebooks.upload_bytes(upload)
    if content_type != "application/json":
        raise ValidationError(
            _("Send application/json (answers or notebook) or multipart/form-data (a notebook file)."), code="invalid"
        )
    try:
        body = json.loads(request.body or b"null")
    except RequestDataTooBig as exceeded:
        raise too_large from exceeded
    except (ValueError, RecursionError) as bad:
        raise ValidationError(_("The request body is not valid JSON."), code="invalid") from bad
    if not isinstance(body, dict):
        raise ValidationError(_("The request body must be a JSON object."), code="invalid")
    kind = body.get("kind", Submission.Kind.SUBMIT)
    if not isinstance(kind, str):
        raise ValidationError(_("Unknown kind of submission: %(kind)s.") % {"kind": str(kind)[:40]}, code="invalid")
    if ("answers" in body) == ("notebook" in body):
        raise ValidationError(_("Send either answers or a notebook, not both and not neither."), code="invalid")
    if "answers" in body:
        return kind, body["answers"], None
    notebook = body["notebook"]
    # A notebook sent as a JSON object or as the text of the .ipynb file; the same checks either way.
    raw = notebook.encode() if isinstance(notebook, str) else json.dumps(notebook).encode()
    return kind, None, raw


def _upload_limit() -> int:
    from django.conf import settings

    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, settings.SUBMISSION_MAX_NOTEBOOK_BYTES)


@api_endpoint("GET")
def submission_detail(request: HttpRequest, submission_id: int) -> JsonResponse:
    # Someone else's submission is not found, exactly like one that does not exist.
    submission = Submission.objects.filter(pk=submission_id, user=request.user).first()
    if submission is None:
        return _not_found()
    return JsonResponse(_submission(request, submission))
