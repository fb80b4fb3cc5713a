"""Training centres are managed from the Wagtail admin by network admins."""

from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from lms.accounts.models import TrainingCentre


class TrainingCentreViewSet(SnippetViewSet):
    model = TrainingCentre
    icon = "site"
    menu_label = "Training centres"
    list_display = ["name", "city", "country", "is_active"]
    list_filter = ["country", "is_active"]
    search_fields = ["name", "city"]
    add_to_admin_menu = True


register_snippet(TrainingCentreViewSet)
