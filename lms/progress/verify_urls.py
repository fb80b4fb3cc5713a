"""The public certificate verification pages: no login, nothing about the learner but the certificate."""

from django.urls import path

from lms.progress import views

urlpatterns = [
    path("", views.verify, name="certificate_verify_form"),
    path("<str:code>/", views.verify_code, name="certificate_verify"),
]
