from django.urls import path

from lms.progress import views

urlpatterns = [
    path("", views.my_learning, name="my_learning"),
    path("courses/<int:course_id>/enroll/", views.enroll, name="course_enroll"),
    path("lessons/<int:lesson_id>/complete/", views.complete_lesson, name="lesson_complete"),
    path("exercises/<int:exercise_id>/submit/", views.exercise_submit, name="exercise_submit"),
    path("exercises/<int:exercise_id>/hints/", views.hint_reveal, name="exercise_hint_reveal"),
    path("exercises/<int:exercise_id>/upload/", views.exercise_upload, name="exercise_upload"),
    path("exercises/<int:exercise_id>/notebook.ipynb", views.exercise_notebook, name="exercise_notebook"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission_detail"),
    path("lessons/<int:lesson_id>/quizzes/<slug:quiz_id>/", views.quiz_answer, name="quiz_answer"),
    path("certificates/<str:code>/", views.certificate_detail, name="certificate_detail"),
    path("certificates/<str:code>/pdf/", views.certificate_pdf, name="certificate_pdf"),
]
