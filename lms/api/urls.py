from django.urls import path

from lms.api import views

urlpatterns = [
    path("schema", views.schema, name="api_schema"),
    path("docs", views.docs, name="api_docs"),
    path("me/enrollments", views.enrollments, name="api_enrollments"),
    path("exercises/<int:exercise_id>", views.exercise_detail, name="api_exercise"),
    path("exercises/<int:exercise_id>/notebook", views.exercise_notebook, name="api_exercise_notebook"),
    path("exercises/<int:exercise_id>/submissions", views.exercise_submissions, name="api_exercise_submissions"),
    path("submissions/<int:submission_id>", views.submission_detail, name="api_submission"),
]
