"""Project-level views: the operators' health check and friendly error pages."""

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from kombu import Connection


def _check_database() -> dict[str, object]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as error:  # noqa: BLE001 - the health check reports, it does not raise
        return {"ok": False, "vendor": connection.vendor, "error": type(error).__name__}


def _check_broker() -> dict[str, object]:
    started = time.perf_counter()
    url = settings.CELERY_BROKER_URL
    transport = url.split(":", 1)[0]
    try:
        with Connection(url, connect_timeout=2) as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": transport, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "transport": transport, "error": type(error).__name__}


def _check_sandbox() -> dict[str, object]:
    """Bubblewrap and the kernel runtime are in place (cheap: nothing is executed here)."""
    from lms.progress.grading import sandbox_settings
    from sandbox import SandboxError
    from sandbox.policy import check_available

    try:
        check_available(sandbox_settings())
        return {"ok": True}
    except SandboxError as error:
        return {"ok": False, "error": str(error)}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and sandbox status for operators and load balancers: 200 if all is well, else 503."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    if settings.HEALTHZ_CHECK_SANDBOX:
        checks["sandbox"] = _check_sandbox()
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"ok": healthy, "checks": checks}, status=200 if healthy else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)


def trivial(request: HttpRequest) -> HttpResponse:
    """The baseline for bench/pages.py: the cheapest response the stack can serve."""
    return HttpResponse("ok", content_type="text/plain")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Say what was wrong with the request (BadRequest messages are written for people)."""
    message = str(exception) if exception is not None and str(exception) else ""
    return render(request, "400.html", {"message": message}, status=400)
