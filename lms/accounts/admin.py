from django.contrib import admin

from lms.accounts import services
from lms.accounts.models import Profile, TrainingCentre


@admin.register(TrainingCentre)
class TrainingCentreAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "country", "is_active"]
    list_filter = ["country", "is_active"]
    search_fields = ["name", "city"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "country", "preferred_language", "centre"]
    list_filter = ["role", "country", "preferred_language"]
    search_fields = ["user__email", "display_name"]
    raw_id_fields = ["user", "centre"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        # The role decides Django and Wagtail permissions, so it changes only through role_assign.
        super().save_model(request, obj, form, change)
        if {"role", "analyst_countries"} & set(form.changed_data):
            services.role_assign(
                user=obj.user, role=obj.role, analyst_countries=[c.code for c in obj.analyst_countries]
            )
