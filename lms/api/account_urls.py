from django.urls import path

from lms.api import account_views

urlpatterns = [
    path("", account_views.api_tokens, name="api_tokens"),
    path("<int:token_id>/revoke/", account_views.api_token_revoke, name="api_token_revoke"),
]
