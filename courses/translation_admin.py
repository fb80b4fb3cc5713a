"""The translation report in the Wagtail admin (Reports > Translation progress): per course and
language, the share of texts translated and the translations whose source changed since."""

from typing import Any

from django.urls import path, reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from courses.exercise_texts import ExerciseText
from courses.translation_status import translation_completeness


class TranslationProgressView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "courses/admin/translation_progress.html"
    page_title = _("Translation progress")
    header_icon = "site"
    breadcrumbs_items = [
        {"url": reverse_lazy("wagtailadmin_home"), "label": _("Home")},
        {"url": "", "label": _("Reports")},
    ]

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["courses"] = translation_completeness()
        return context


@hooks.register("register_admin_urls")
def register_translation_progress_url() -> list[Any]:
    return [path("reports/translation-progress/", TranslationProgressView.as_view(), name="translation_progress")]


@hooks.register("register_reports_menu_item")
def register_translation_progress_menu_item() -> MenuItem:
    return MenuItem(
        _("Translation progress"), reverse("translation_progress"), icon_name="site", name="translation-progress"
    )


class ExerciseTextViewSet(SnippetViewSet):
    """Exercise texts under Snippets, where wagtail-localize offers "Translate" on each."""

    model = ExerciseText
    icon = "code"
    list_display = ["title", "exercise", "locale"]
    list_filter = ["locale"]
    search_fields = ["title"]


register_snippet(ExerciseTextViewSet)
