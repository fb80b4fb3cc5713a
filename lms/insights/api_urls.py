from django.urls import path

from lms.insights import api

urlpatterns = [
    path("schema", api.schema, name="insights_api_schema"),
    path("countries", api.countries, name="insights_api_countries"),
    path("countries/<slug:slug>", api.country, name="insights_api_country"),
    path("global", api.world, name="insights_api_global"),
]
