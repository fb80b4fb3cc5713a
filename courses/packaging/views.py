"""Admin views: download a course as a package, and import one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from courses.models import CatalogPage, CoursePage
from courses.packaging import PackageError, course_package_export, course_package_import
from courses.packaging.archive import MAX_PACKAGE_BYTES


def can_export(user: Any, course: CoursePage) -> bool:
    # A package holds the instructor notebooks (solutions, hidden tests): editors only.
    return bool(course.permissions_for_user(user).can_edit())


def can_import(user: Any) -> bool:
    if user.is_superuser:
        return True
    catalog = CatalogPage.objects.filter(locale__language_code=settings.LANGUAGE_CODE, depth=2).first()
    return (
        catalog is not None
        and catalog.permissions_for_user(user).can_publish_subpage()
        and user.has_perm("courses.add_exercise")
    )


def export_course(request: HttpRequest, page_id: int) -> HttpResponseBase:
    course = get_object_or_404(CoursePage, pk=page_id)
    if not can_export(request.user, course):
        raise PermissionDenied
    try:
        data = course_package_export(course=course)
    except PackageError as error:
        messages.error(request, str(error))
        return redirect("wagtailadmin_pages:edit", course.pk)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{course.slug}.zip"'
    return response


class PackageUploadForm(forms.Form):
    package = forms.FileField(
        label=gettext_lazy("Course package"),
        help_text=gettext_lazy("A .zip made by “Download package” on this or another OpenCapacity site."),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def clean_package(self) -> Any:
        upload = self.cleaned_data["package"]
        if upload.size > MAX_PACKAGE_BYTES:
            raise forms.ValidationError(
                _("The package is %(size)d MiB; the limit is %(limit)d MiB.")
                % {"size": upload.size // 2**20, "limit": MAX_PACKAGE_BYTES // 2**20}
            )
        return upload


class ImportCourseView(WagtailAdminTemplateMixin, FormView):
    form_class = PackageUploadForm
    template_name = "courses/admin/import_course.html"
    page_title = gettext_lazy("Import a course package")
    header_icon = "upload"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not can_import(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            action_url=reverse("course_package_import"),
            submit_button_label=_("Import"),
            submit_button_active_label=_("Importing…"),
            form_is_multipart=True,
        )
        return context

    def form_valid(self, form: PackageUploadForm) -> HttpResponse:
        upload = form.cleaned_data["package"]
        try:
            report = course_package_import(data=upload.read(), user=self.request.user)
        except PackageError as error:
            form.add_error("package", f"{upload.name}: {error}")
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Imported “%(title)s”: %(pages)d pages, %(exercises)d exercises, %(images)d images.")
            % {
                "title": report.course.title,
                "pages": report.pages + report.aliases,
                "exercises": len(report.exercises),
                "images": report.images_created + report.images_reused,
            },
        )
        if report.exercises:
            messages.info(
                self.request,
                _(
                    "Each exercise is published once its self-check passes in this site's sandbox; "
                    "until then its lessons show it as not available yet."
                ),
            )
        return redirect("wagtailadmin_explore", report.course.pk)
