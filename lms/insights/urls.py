from django.urls import path

from lms.insights import views

urlpatterns = [
    path("", views.index, name="insights_index"),
    path("export.csv", views.global_csv, name="insights_global_csv"),
    path("<slug:slug>/", views.country_dashboard, name="insights_country"),
    path("<slug:slug>/export.csv", views.country_csv, name="insights_country_csv"),
]
