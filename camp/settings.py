"""Settings for the camp communications logbook, read from the environment.

Every variable is documented in README.md and .env.example. A malformed value
stops start-up with ImproperlyConfigured instead of running half-configured.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
import pghistory
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def envpath(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if not Path(value).is_absolute():
        raise ImproperlyConfigured(f"{name} must be an absolute path, not {value!r}.")
    return Path(value)


def envsecret(name: str, *, debug: bool) -> str:
    """Read a secret from NAME or from the file named by NAME_FILE."""
    if path := os.environ.get(f"{name}_FILE"):
        try:
            return Path(path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE cannot be read: {error}") from None
    if value := os.environ.get(name):
        return value
    if debug:
        return "insecure-development-key-never-use-in-production"
    raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set when DEBUG is off.")


def envdatabase(name: str) -> dict | None:
    """The PostgreSQL database at the URL in NAME, or None when NAME is unset."""
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        database = dj_database_url.parse(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} is malformed: {error}") from None
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"{name} must point to PostgreSQL.")
    return database


DEBUG = envbool("DEBUG", True)
SECRET_KEY = envsecret("SECRET_KEY", debug=DEBUG)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "camp.apps.CampAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "pgtrigger",
    "pghistory",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "camp",
    "prisoners",
    "calls",
    "letters",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "camp.middleware.NulByteMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The row history's context for the request: the acting user and the path (camp.history).
    "pghistory.middleware.HistoryMiddleware",
    "camp.middleware.LanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "camp.two_factor.TwoFactorMiddleware",
    "camp.middleware.SessionTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "camp.middleware.NoStoreForStaffMiddleware",
    "camp.middleware.SiteTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "camp.middleware.PasswordChangeRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a refused log-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "camp.urls"
WSGI_APPLICATION = "camp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "camp.context_processors.roles",
                "camp.context_processors.section",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    try:
        DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {error}") from None
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL.")
else:
    from camp.embedded_db import database_settings

    DATABASES = {"default": database_settings()}

# A fresh PostgreSQL connection costs more than most pages: keep them open.
DATABASES["default"]["CONN_MAX_AGE"] = envint("CONN_MAX_AGE", 600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


def without_jit(database: dict) -> dict:
    """``database`` with PostgreSQL's JIT compilation off: the reports' grouped queries
    are estimated above ``jit_above_cost``, and compiling them took seconds where
    running them takes tens of milliseconds. No query of the camp's gains from it."""
    options = database.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return database


without_jit(DATABASES["default"])

# Reports and large exports may read from a streaming replica of the primary; only code
# inside camp.routers.reading_from_replica() does, and nothing ever writes there. Tests
# mirror the test database under the "replica" alias.
if replica := envdatabase("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = {
        **without_jit(replica),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["camp.routers.ReplicaRouter"]

AUTH_USER_MODEL = "camp.User"
AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out username or address before any password is checked.
    "camp.throttling.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Argon2 first; the others stay so that older hashes still verify and are upgraded at log-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Two-factor log-in (camp.two_factor): required for supervisors and administrators,
# optional for guards. After each wrong code the next try waits 1, 2, 4, 8 ... seconds
# (django-otp's throttling, per device).
OTP_TOTP_ISSUER = "Camp logbook"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# Row history (camp.history): each event carries its context itself, as JSON with its id,
# so the trail needs no shared context row that later statements would update.
PGHISTORY_CONTEXT_FIELD = pghistory.ContextJSONField()
# An event keeps the ids its row pointed to, unindexed: the trail is read by context and
# by object, and an index per foreign key would cost every bulk write of the logbook.
PGHISTORY_FOREIGN_KEY_FIELD = pghistory.ForeignKey(db_index=False)
PGHISTORY_OBJ_FIELD = pghistory.ObjForeignKey(db_index=True)

# Log-in throttling (django-axes): five failures in a row for one username, or from one
# address, lock that username or address out for 30 minutes; an administrator unlocks it
# sooner by deleting the access attempt in /admin/. A success resets the count.
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "camp.throttling.lockout_response"
AXES_CLIENT_IP_CALLABLE = "camp.throttling.client_ip_address"
# Behind the TLS proxy every request comes from the proxy: the client's address is then the
# last one the proxy appended to X-Forwarded-For (README, "Running for real").
BEHIND_PROXY = envbool("BEHIND_PROXY", False)

# Sessions: a shift-long cap and an idle limit, in seconds, for everyone
# (camp.middleware.SessionTimeoutMiddleware); an open desk's refresh keeps it alive.
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_IDLE_TIMEOUT = envint("SESSION_IDLE_TIMEOUT", 30 * 60)

# Ukrainian unless a staff member chose English (User.language, camp.middleware.LanguageMiddleware);
# before log-in, the choice made on the log-in page is kept in the language cookie.
LANGUAGE_CODE = "uk"
LANGUAGES = [("en", _("English")), ("uk", _("Ukrainian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = not DEBUG
# One date and time format in both languages: 30.11.2026 14:05 (camp/formats).
FORMAT_MODULE_PATH = ["camp.formats"]
USE_I18N = True
USE_TZ = True
# Stored in UTC; shown in the time zone of the staff member's site.
TIME_ZONE = "UTC"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = envpath("STATIC_ROOT", BASE_DIR / "var" / "staticfiles")
# Production links and serves hashed names from the manifest collectstatic writes with
# DEBUG=0; `make bootstrap` always collects that way, so a DEBUG=0 start works after it.
# With DEBUG on when these settings load (development, the test suite) nothing needs collecting.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# The __Host- prefix binds a cookie to this host over HTTPS (Secure, Path=/, no Domain);
# browsers drop such cookies over plain http, so development keeps the plain names.
if not DEBUG:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# TLS ends at the proxy, which must set (overwrite) X-Forwarded-Proto on every request.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = not DEBUG
# The load balancer asks the app itself over plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 0 if DEBUG else 365 * 24 * 60 * 60
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# No inline script or style anywhere: templates link static files only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # Bootstrap draws checkboxes and selects with data: SVG images in its CSS.
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
