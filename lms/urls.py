from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve as serve_static_file
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from lms import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("bench/trivial", views.trivial, name="bench_trivial"),
    path("cms/", include(wagtailadmin_urls)),
    path("django-admin/", admin.site.urls),
    path("documents/", include(wagtaildocs_urls)),
    path("api/v1/insights/", include("lms.insights.api_urls")),
    path("api/v1/", include("lms.api.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve_static_file, {"document_root": settings.MEDIA_ROOT}),
    ]

# Every page a person reads has its language in the URL: /ar/..., /en/..., /zh-hans/...
urlpatterns += i18n_patterns(
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("lms.accounts.urls")),
    path("accounts/api-tokens/", include("lms.api.account_urls")),
    path("learning/", include("lms.progress.urls")),
    path("verify/", include("lms.progress.verify_urls")),
    path("insights/", include("lms.insights.urls")),
    path("", include(wagtail_urls)),
    prefix_default_language=True,
)

handler400 = "lms.views.bad_request"
