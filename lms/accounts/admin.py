from django.contrib import admin

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
