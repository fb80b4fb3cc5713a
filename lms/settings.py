"""Settings, read from the environment.

With no environment at all the platform runs on one machine with no services: SQLite in var/,
an embedded Celery broker (kombu's SQLAlchemy transport on a SQLite file) and a file cache.
DATABASE_URL, CELERY_BROKER_URL and CACHE_URL switch to PostgreSQL, Redis or RabbitMQ without any
other change. See docs/operations.md for every variable.
"""

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything the platform writes at run time lives here, never in the source tree.
VAR_DIR = Path(os.environ.get("OPENCAPACITY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment; a single-machine install keeps a generated one in var/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    if env_bool("OPENCAPACITY_REQUIRE_SECRET_KEY"):
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment.")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "lms.accounts",
    "lms.progress",
    "lms.insights",
    "lms.api",
    "courses",
    "wagtail_localize",
    "wagtail_localize.locales",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_countries",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "lms.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    # Answers anonymous page views from the cache before routing; see courses/page_cache.py.
    "courses.page_cache.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, except that a 404 under /api/ stays a 404 instead of a redirect to /<language>/api/.
    "lms.api.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "lms.accounts.middleware.StaffTwoFactorMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "lms.urls"
WSGI_APPLICATION = "lms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "lms" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and load_content share one SQLite file.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_cache_url = os.environ.get("CACHE_URL", "")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
elif _cache_url == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # A file cache is shared by every process on one machine, unlike the default per-process one.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Internationalisation: the six UN languages. Chinese is Simplified ("zh-hans").
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("ar", "العربية"),
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("ru", "Русский"),
    ("zh-hans", "简体中文"),
]
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "lms" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "lms" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
# One machine with no web server in front: Django serves uploaded media itself.
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# Security: safe defaults; TLS-only cookies when served over HTTPS.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
CSRF_FAILURE_VIEW = "lms.views.csrf_failure"
CONTENT_SECURITY_POLICY = env_bool("CONTENT_SECURITY_POLICY", default=True)

# E-mail: printed on the console unless an SMTP server is configured.
if os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "OpenCapacity <noreply@localhost>")

# Accounts (django-allauth): e-mail login, mandatory verification, allauth's default rate limits.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "my_learning"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_SIGNUP_FORM_CLASS = "lms.accounts.forms.SignupProfileForm"
ACCOUNT_ADAPTER = "lms.accounts.adapter.AccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "OpenCapacity"

# Wagtail
WAGTAIL_SITE_NAME = "OpenCapacity"
WAGTAILADMIN_BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
# No Gravatar in the admin: it would send a hash of each staff member's e-mail to a third party.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILEMBEDS_RESPONSIVE_HTML = True
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 5 * 1024 * 1024
# Machine translation in wagtail-localize's translation editor: off unless a deployment names a
# translator class (wagtail-localize's DeepL, Google, LibreTranslate or its own subclass of
# wagtail_localize.machine_translators.base.BaseMachineTranslator) and its options as JSON. Off, no
# text ever leaves the platform. See docs/translation.md.
if os.environ.get("MACHINE_TRANSLATOR"):
    WAGTAILLOCALIZE_MACHINE_TRANSLATOR = {
        "CLASS": os.environ["MACHINE_TRANSLATOR"],
        "OPTIONS": json.loads(os.environ.get("MACHINE_TRANSLATOR_OPTIONS") or "{}"),
    }
# Page caching for anonymous visitors: rendered lesson and catalog pages are kept this long at most;
# publishing any page invalidates them at once (courses.page_cache).
ANONYMOUS_PAGE_CACHE_SECONDS = int(os.environ.get("ANONYMOUS_PAGE_CACHE_SECONDS", "300"))

# Celery: an embedded broker by default, Redis or RabbitMQ from CELERY_BROKER_URL.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "lms.progress.tasks.grade_submission": {"queue": "grading"},
    # Regrades run in the sandbox too (docs/instructor-analytics.md).
    "lms.progress.tasks.regrade_dispatch": {"queue": "grading"},
    "lms.progress.tasks.regrade_submission": {"queue": "grading"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-submissions": {"task": "lms.progress.tasks.requeue_stale_submissions", "schedule": 60.0},
    "requeue-stale-regrades": {"task": "lms.progress.tasks.requeue_stale_regrades", "schedule": 60.0},
    # Dashboards read rollups only: recent months every 15 minutes, everything nightly (docs/insights.md).
    "refresh-insights": {"task": "lms.insights.tasks.refresh_insights", "schedule": 900.0},
    "rebuild-insights": {"task": "lms.insights.tasks.rebuild_insights", "schedule": 86400.0},
}

# Grading. The engine's own limits (per cell, per submission) sit inside Celery's soft and hard limits.
SANDBOX_KERNEL_PYTHON = os.environ.get("SANDBOX_KERNEL_PYTHON", "")
SANDBOX_BWRAP = os.environ.get("SANDBOX_BWRAP", "/usr/bin/bwrap")
# Each worker process proves the sandbox holds (python -m sandbox selftest) before its first grade.
SANDBOX_SELFTEST_ON_START = env_bool("SANDBOX_SELFTEST_ON_START", default=True)
# /healthz includes the sandbox; turn off on web-only hosts that never grade.
HEALTHZ_CHECK_SANDBOX = env_bool("HEALTHZ_CHECK_SANDBOX", default=True)
SANDBOX_POOL_SIZE = int(os.environ.get("SANDBOX_POOL_SIZE", "2"))
# Fork pool sessions from a warm, sandboxed zygote (docs/sandbox.md, "Fork server").
SANDBOX_FORK_SERVER = env_bool("SANDBOX_FORK_SERVER", default=True)
# Priority of pool refills while they boot (0-19); 10 leaves the CPU to grading in progress.
SANDBOX_POOL_BOOT_NICE = int(os.environ.get("SANDBOX_POOL_BOOT_NICE", "10"))
SANDBOX_LIMITS = {
    "cell_seconds": float(os.environ.get("SANDBOX_CELL_SECONDS", "10")),
    "submission_seconds": float(os.environ.get("SANDBOX_SUBMISSION_SECONDS", "60")),
    "memory_bytes": int(os.environ.get("SANDBOX_MEMORY_BYTES", str(2 * 1024**3))),
}
GRADING_SOFT_TIME_LIMIT = int(os.environ.get("GRADING_SOFT_TIME_LIMIT", "120"))
GRADING_HARD_TIME_LIMIT = int(os.environ.get("GRADING_HARD_TIME_LIMIT", "150"))
# A submission still queued this long after its task was sent (or running this long past the hard
# limit) has lost its message; the sweep queues it again.
GRADING_LOST_AFTER_SECONDS = int(os.environ.get("GRADING_LOST_AFTER_SECONDS", "300"))

# Learner input (docs/api.md): size limits, and per-learner rate limits on Run, Check and Submit as
# COUNT/PERIOD (s, m, h, d), e.g. RATE_LIMITS="run=20/m,check=20/m,submit=10/m"; kept in the cache.
SUBMISSION_MAX_CODE_BYTES = int(os.environ.get("SUBMISSION_MAX_CODE_BYTES", str(64 * 1024)))
SUBMISSION_MAX_NOTEBOOK_BYTES = int(os.environ.get("SUBMISSION_MAX_NOTEBOOK_BYTES", str(2 * 1024 * 1024)))
_rate_items = env_list("RATE_LIMITS", "run=20/m,check=20/m,submit=10/m")
RATE_LIMITS = {action.strip(): rate.strip() for action, _eq, rate in (item.partition("=") for item in _rate_items)}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # Wagtail's background tasks and page actions log every step at INFO.
        "django_tasks": {"level": "WARNING"},
        "wagtail": {"level": "WARNING"},
    },
}
