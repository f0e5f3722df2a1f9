"""Django settings for Guichet CLACT, read from the environment (12-factor).

Every variable is documented in README.md with its default. The defaults are the embedded
ones (SQLite, files on disk, tasks in-process, e-mails on the console); production is the
same code with the variables set, and passes ``manage.py check --deploy``.
"""

import os
import warnings
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GUICHET_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not env_bool("GUICHET_ALLOW_INSECURE_KEY", False):
        raise RuntimeError("DJANGO_SECRET_KEY must be set (or DJANGO_DEBUG=1 for development).")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# A refused form (expired, or cookies refused) is explained in French on a page of the site.
CSRF_FAILURE_VIEW = "guichet.core.errors.csrf_failure"
SITE_URL = os.environ.get("GUICHET_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "widget_tweaks",
    "dsfr",
    "django_htmx",
    "ninja",
    "allauth",
    "allauth.account",
    "allauth.mfa",  # issue 11 point 2: TOTP and recovery codes (see the MFA block below)
    "django_tasks",
    "django_tasks_db",
    "guichet.core",
    "guichet.accounts",
    "guichet.establishments",
    "guichet.formschema",
    "guichet.calls",
    "guichet.dossiers",
    "guichet.instruction",
    "guichet.messaging",
    "guichet.experts",
    "guichet.commission",
    "guichet.documents",
    "guichet.funding",
    "guichet.api",
    "guichet.reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # issue 11 point 2: ARS staff, commission members and superusers set up and pass MFA before anything else.
    "guichet.accounts.middleware.RequireMfaMiddleware",
    # issue 13: the national reader (ministry) reaches the aggregated figures only.
    "guichet.accounts.middleware.NationalReaderMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "guichet.accounts.known.KnownBrowserMiddleware",
]

ROOT_URLCONF = "guichet.urls"
WSGI_APPLICATION = "guichet.wsgi.application"

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
                "guichet.core.context_processors.site_config",  # lazy: no query for htmx fragments
                "guichet.accounts.navigation.main_navigation",
            ],
            # |pluriel (French plurals) in every template, as Django's own |pluralize is.
            "builtins": ["guichet.core.templatetags.french"],
        },
    },
]
FORM_RENDERER = "dsfr.forms.DsfrDjangoTemplates"
DSFR_MARK_OPTIONAL_FIELDS = False
# django-dsfr warns on every form render about required-field marking (see ARCHITECTURE.md).
warnings.filterwarnings("ignore", message=r"(?s).*Marking required form fields.*")
warnings.filterwarnings("ignore", message=r"(?s).*DSFR_MARK_OPTIONAL_FIELDS.*")

# --- Database ---------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth (django-allauth) ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# Argon2id with parameters measured for this machine kind (guichet/accounts/hashers.py, docs/performance.md);
# PBKDF2 kept after it so that older hashes verify and are upgraded at the next login.
PASSWORD_HASHERS = [
    "guichet.accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Guichet CLACT] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

# --- ProConnect (issue 11, point 4: keep this block together) ---------------------------------------
# The State's identity federation for agents and professionals, as an OpenID Connect provider of allauth
# (guichet/accounts/proconnect/). Configured only when the three variables are set; otherwise no button.
# A ProConnect login is matched to an existing account by its verified e-mail (never given a role or a
# region by ProConnect); a new person becomes a plain applicant.
INSTALLED_APPS += ["allauth.socialaccount", "guichet.accounts.proconnect"]
PROCONNECT_CLIENT_ID = os.environ.get("PROCONNECT_CLIENT_ID", "").strip()
PROCONNECT_CLIENT_SECRET = os.environ.get("PROCONNECT_CLIENT_SECRET", "").strip()
PROCONNECT_DISCOVERY_URL = os.environ.get("PROCONNECT_DISCOVERY_URL", "").strip()
_PROCONNECT = {"PROCONNECT_CLIENT_ID": PROCONNECT_CLIENT_ID, "PROCONNECT_CLIENT_SECRET": PROCONNECT_CLIENT_SECRET,
               "PROCONNECT_DISCOVERY_URL": PROCONNECT_DISCOVERY_URL}
if any(_PROCONNECT.values()) and not all(_PROCONNECT.values()):
    raise RuntimeError("ProConnect needs all of " + ", ".join(_PROCONNECT) + "; missing: "
                       + ", ".join(name for name, value in _PROCONNECT.items() if not value) + ".")
SOCIALACCOUNT_PROVIDERS = {}
if all(_PROCONNECT.values()):
    SOCIALACCOUNT_PROVIDERS["proconnect"] = {
        # ProConnect is trusted to vouch for the e-mails it marks verified: log in the existing account.
        "EMAIL_AUTHENTICATION": True,
        "APPS": [{"name": "ProConnect", "client_id": PROCONNECT_CLIENT_ID, "secret": PROCONNECT_CLIENT_SECRET,
                  "settings": {"server_url": PROCONNECT_DISCOVERY_URL}}],
    }
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
# --- end of the ProConnect block ---------------------------------------------------------------------

# --- Login limits and MFA (issue 11 point 2) --------------------------------------------------
# Failed logins are counted in the shared cache (CACHES below), so every worker sees the same count:
# 10 a minute per address, 5 per 5 minutes per account (allauth's defaults, stated here for review).
# The admin's own login is routed through this one (guichet.accounts.views.admin_login).
# A login made in the last 5 minutes counts as a reauthentication (no second password before the MFA set-up).
ACCOUNT_ADAPTER = "guichet.accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# allauth.mfa: an authenticator app (TOTP) with recovery codes. WebAuthn is left off: its pages rely on
# allauth's inline scripts (a Content-Security-Policy is coming) and a secure origin.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Guichet CLACT"
MFA_ADAPTER = "guichet.accounts.mfa.GuichetMfaAdapter"  # MFA cannot be turned off where it is mandatory
MFA_FORMS = {  # the same forms, with French labels
    "activate_totp": "guichet.accounts.forms.ActivateTotpForm",
    "authenticate": "guichet.accounts.forms.CodeForm",
    "reauthenticate": "guichet.accounts.forms.CodeForm",
}
MFA_TOTP_TOLERANCE = 1  # one 30-second step either side: phones whose clock drifts a little still work
# --- end of login limits and MFA --------------------------------------------------------------

# --- Cache (issue 11 point 2) ----------------------------------------------------------------
# Shared by every worker and kept across restarts: allauth's login limits and used TOTP codes live here.
# CACHE_URL empty (default): the database (table created by guichet/core's migrations);
# CACHE_URL=redis://host:6379/0 (or rediss://): Redis, Django's own backend (package `redis`).
CACHE_TABLE = "guichet_cache"  # the name the migration core/0003 creates


def cache_settings(url: str) -> dict:
    """CACHES["default"] for a CACHE_URL."""
    url = url.strip()
    if not url:
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": "guichet"}
    raise RuntimeError(f"CACHE_URL must be empty (database cache) or a redis:// URL, not {url!r}.")


CACHES = {"default": cache_settings(os.environ.get("CACHE_URL", ""))}
# --- end of cache -----------------------------------------------------------------------------

# --- E-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mails"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Guichet CLACT <ne-pas-repondre@guichet-clact.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Files --------------------------------------------------------------------------------
# Uploaded files live in a private directory: they are never served as public media, only
# through permission-checked views.
# GUICHET_STORAGE=local (default): a private directory on disk. GUICHET_STORAGE=s3: a private bucket
# of an S3-compatible object storage (django-storages); downloads then stream through the view or,
# with GUICHET_S3_PRESIGNED_SECONDS > 0, redirect to a URL signed for that long after the permission check.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("GUICHET_FILES_DIR", VAR_DIR / "files"))
GUICHET_STORAGE = os.environ.get("GUICHET_STORAGE", "local").strip().lower() or "local"
GUICHET_S3_PRESIGNED_SECONDS = int(os.environ.get("GUICHET_S3_PRESIGNED_SECONDS", "60"))
if GUICHET_STORAGE == "local":
    _FILES_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": "/interdit/"},
    }
elif GUICHET_STORAGE == "s3":
    if not os.environ.get("AWS_STORAGE_BUCKET_NAME"):
        raise RuntimeError("GUICHET_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    _FILES_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE") or None,
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": max(GUICHET_S3_PRESIGNED_SECONDS, 1),
            "file_overwrite": False,
        },
    }
else:
    raise RuntimeError(f"GUICHET_STORAGE must be 'local' or 's3', not {GUICHET_STORAGE!r}.")
STORAGES = {
    "default": _FILES_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "guichet" / "static"]
# Every upload streams to a temporary file (never held in memory), hashed and size-limited on the way.
FILE_UPLOAD_HANDLERS = ["guichet.core.uploads.LimitedHashingUploadHandler"]
FILE_UPLOAD_TEMP_DIR = os.environ.get("GUICHET_UPLOAD_TEMP_DIR") or None
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20000
GUICHET_MAX_UPLOAD_MB = int(os.environ.get("GUICHET_MAX_UPLOAD_MB", "200"))
# What a dossier page keeps of a form sent after the session expired (text only, never files), and how long
# a browser is remembered as having been logged in (only such a browser gets anything kept).
GUICHET_STASH_MAX_BYTES = int(os.environ.get("GUICHET_STASH_MAX_BYTES", str(256 * 1024)))
GUICHET_KNOWN_BROWSER_DAYS = int(os.environ.get("GUICHET_KNOWN_BROWSER_DAYS", "7"))
# Exports: a list of at most this many dossiers (or grants) is sent at once; a longer one is written by a
# background task and kept this many days in « Mes exports » (``manage.py purge_exports`` deletes it then).
GUICHET_EXPORT_STREAM_MAX = int(os.environ.get("GUICHET_EXPORT_STREAM_MAX", "2000"))
GUICHET_STATISTICS_MAX_AGE = int(os.environ.get("GUICHET_STATISTICS_MAX_AGE", "600"))
GUICHET_ZIP_STREAM_MAX = int(os.environ.get("GUICHET_ZIP_STREAM_MAX", "200"))
GUICHET_EXPORT_RETENTION_DAYS = int(os.environ.get("GUICHET_EXPORT_RETENTION_DAYS", "7"))

# --- Background tasks (django-tasks) --------------------------------------------------------
# Default: the database queue, run by `manage.py db_worker --queue-name '*'` next to the web workers (`make demo`
# starts one): e-mails (a filing's acknowledgement…) and antivirus scans never hold a request. `immediate` runs
# them in the request right after its transaction commits (the tests; a single process without a worker).
_TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
TASKS = {
    "default": {
        "BACKEND": _TASK_BACKENDS.get(os.environ.get("TASKS_BACKEND", "database"), os.environ.get("TASKS_BACKEND")),
        "QUEUES": ["default", "emails"],
    }
}

# --- I18N / time --------------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Security (production) ------------------------------------------------------------------
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

# --- Audit trail keys and checkpoints (issue 11, point 5: keep this block together) ----------------
# The chain's hashes are HMAC-SHA256 under a key held outside the database, so that someone who can write
# to the database cannot recompute them (guichet/core/audit.py). AUDIT_HMAC_KEYS="id1:key1,id2:key2": the
# FIRST key signs new records, the others only verify older ones (rotation: README); AUDIT_HMAC_KEY="key"
# is short for AUDIT_HMAC_KEYS="1:key". Required when DEBUG is off; in DEBUG, when neither is set, a key
# derived from SECRET_KEY (id "dev") is used, good for development only.
_AUDIT_KEY_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _audit_hmac_keys() -> list[tuple[str, str]]:
    import hashlib
    import hmac

    listed = os.environ.get("AUDIT_HMAC_KEYS", "").strip()
    single = os.environ.get("AUDIT_HMAC_KEY", "").strip()
    if not listed and single:
        listed = f"1:{single}"
    if not listed:
        if not DEBUG:
            raise RuntimeError("AUDIT_HMAC_KEY (or AUDIT_HMAC_KEYS) must be set: the audit trail's key, kept "
                               "outside the database (README, « Journal d'audit »).")
        derived = hmac.new(SECRET_KEY.encode(), b"guichet-audit-hmac-development", hashlib.sha256).hexdigest()
        return [("dev", derived)]
    keys: list[tuple[str, str]] = []
    for item in listed.split(","):
        key_id, sep, key = item.strip().partition(":")
        if not sep or not key_id or len(key_id) > 20 or not set(key_id) <= _AUDIT_KEY_ID_CHARS:
            raise RuntimeError("AUDIT_HMAC_KEYS: each entry is ID:KEY, ID of 1 to 20 letters, digits, « _ . - ».")
        if len(key) < 32:
            raise RuntimeError(f"AUDIT_HMAC_KEYS: the key {key_id!r} must be at least 32 characters long.")
        if key_id in dict(keys):
            raise RuntimeError(f"AUDIT_HMAC_KEYS: the key id {key_id!r} is given twice.")
        keys.append((key_id, key))
    return keys


AUDIT_HMAC_KEYS = _audit_hmac_keys()  # [(key id, key)], the current key first
# `manage.py audit_checkpoint` (daily) e-mails each checkpoint to these operators too (comma-separated).
AUDIT_CHECKPOINT_EMAILS = env_list("AUDIT_CHECKPOINT_EMAILS", "")
# --- end of the audit trail block ------------------------------------------------------------------

# Audit trail: number of trusted reverse proxies in front of the app. 0 (default): the client address is
# REMOTE_ADDR; N > 0: the N-th X-Forwarded-For entry from the right (what the outermost trusted proxy saw).
GUICHET_TRUSTED_PROXY_COUNT = int(os.environ.get("GUICHET_TRUSTED_PROXY_COUNT", "0"))
# The same for allauth's login limits (30 logins a minute per address, 10 failures): behind a proxy, counted per
# client, not for everybody at once on the proxy's address (a deadline rush would be refused).
ALLAUTH_TRUSTED_PROXY_COUNT = GUICHET_TRUSTED_PROXY_COUNT

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Messagerie: an ARS message is e-mailed to the applicant after this delay (it can be deleted until then)
GUICHET_MESSAGE_EMAIL_DELAY_SECONDS = int(os.environ.get("GUICHET_MESSAGE_EMAIL_DELAY_SECONDS", "300"))

# --- Reminders to the owners of drafts, this many days before a call closes (manage.py remind_drafts, daily)
GUICHET_DRAFT_REMINDER_DAYS = os.environ.get("GUICHET_DRAFT_REMINDER_DAYS", "7,1")

# --- Expert opinions -------------------------------------------------------------------------
GUICHET_AVIS_REMINDER_DAYS = int(os.environ.get("GUICHET_AVIS_REMINDER_DAYS", "7"))
GUICHET_AVIS_MAX_REMINDERS = int(os.environ.get("GUICHET_AVIS_MAX_REMINDERS", "3"))

# --- API ------------------------------------------------------------------------------------
# --- Antivirus (ClamAV clamd) ----------------------------------------------------------------
CLAMAV_SOCKET = os.environ.get("CLAMAV_SOCKET", "")
CLAMAV_HOST = os.environ.get("CLAMAV_HOST", "")
CLAMAV_PORT = int(os.environ.get("CLAMAV_PORT", "3310"))
CLAMAV_TIMEOUT = int(os.environ.get("CLAMAV_TIMEOUT", "120"))

API_TOKEN_DEFAULT_DAYS = int(os.environ.get("API_TOKEN_DEFAULT_DAYS", "365"))

# --- Content-Security-Policy and Permissions-Policy (issue 11, point 6) ----------------------
# Every response carries both headers (django-csp, django-permissions-policy). Pages load scripts and
# styles only from our own origin: no inline <script>, no <style> element, no style="…" attribute and no
# on…= handler in any template (tests/test_every_page.py checks every page of every role). htmx is told
# not to inject its indicator <style> (meta htmx-config in templates/base.html; the rule is in guichet.css)
# nor to evaluate code; DSFR's JavaScript sets styles through the CSSOM, which CSP does not restrict.
# img-src allows data: URLs (the QR code of an authenticator app). form-action also allows the origin of
# any OpenID Connect provider configured above (ProConnect): its login form POSTs to our own URL, which
# redirects to the provider, and browsers apply form-action to that redirect too. GUICHET_CSP_FORM_ACTION
# adds origins (comma-separated) for a provider whose authorization endpoint is not on its discovery URL's host.
from csp.constants import NONE, SELF  # noqa: E402


def oidc_origins(providers: dict | None) -> list[str]:
    """The origins (scheme://host[:port]) of the OpenID Connect providers of allauth's SOCIALACCOUNT_PROVIDERS."""
    from urllib.parse import urlsplit

    origins = set()
    for provider in (providers or {}).values():
        for app in provider.get("APPS", []) if isinstance(provider, dict) else []:
            parts = urlsplit((app.get("settings") or {}).get("server_url", ""))
            if parts.scheme in ("http", "https") and parts.netloc:
                origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF, *oidc_origins(globals().get("SOCIALACCOUNT_PROVIDERS")),
                        *env_list("GUICHET_CSP_FORM_ACTION", "")],
        "frame-ancestors": [NONE],
    },
}
PERMISSIONS_POLICY = {
    **dict.fromkeys(["accelerometer", "autoplay", "browsing-topics", "camera",
                     "display-capture", "encrypted-media", "gamepad", "geolocation", "gyroscope", "hid",
                     "idle-detection", "interest-cohort", "local-fonts", "magnetometer", "microphone", "midi",
                     "payment", "picture-in-picture", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking"],
                    []),
    # Security keys and passkeys (allauth MFA's WebAuthn) stay usable on our own pages.
    "publickey-credentials-create": ["self"],
    "publickey-credentials-get": ["self"],
}
INSTALLED_APPS += ["csp"]
# Right after SecurityMiddleware: every answer passes through them, even one that a later middleware gives itself.
MIDDLEWARE[1:1] = ["csp.middleware.CSPMiddleware", "django_permissions_policy.PermissionsPolicyMiddleware"]
# --- end of the Content-Security-Policy block ------------------------------------------------
