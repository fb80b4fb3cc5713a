from django.contrib import admin

from lms.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Operators can see and delete (revoke) learners' tokens; the secret itself is never stored."""

    list_display = ["prefix", "name", "user", "created_at", "last_used_at"]
    search_fields = ["user__email", "name", "prefix"]
    readonly_fields = ["user", "name", "key_hash", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # a token is created by its owner, who alone sees it
