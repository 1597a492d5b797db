"""Settings of the django-oidc-provider peer: Django's `startproject` defaults, SQLite in a
scratch directory, Django's own LoginView for the login page, and django-oidc-provider as its
installation guide says (docs/sections/installation.rst: the app in INSTALLED_APPS, its URLs
under /openid/, LOGIN_URL). Every value comes from run.sh's environment; nothing listens beyond
127.0.0.1.
"""
import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))

# A fresh key per run (run.sh); DEBUG off, as in a deployment (error pages without tracebacks).
SECRET_KEY = os.environ["OH_DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oidc_provider",
    "peer",
]

# `django-admin startproject`'s middleware list, unchanged (XFrameOptionsMiddleware included:
# X-Frame-Options: DENY on every page, Django's default).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peer.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite in run.sh's scratch directory: no database server, nothing kept between runs.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(os.environ["OH_DJANGO_DATA_DIR"], "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

USE_TZ = True
TIME_ZONE = "UTC"

# Django's LoginView (peer/urls.py) at the default LOGIN_URL; django-oidc-provider sends the
# browser there (OIDC_LOGIN_URL defaults to LOGIN_URL, oidc_provider/settings.py).
LOGIN_URL = "/accounts/login/"

# The issuer: SITE_URL + the path of the provider's URLs (oidc_provider/lib/utils/common.py
# get_issuer), so http://127.0.0.1:PORT/openid.
SITE_URL = os.environ["OH_DJANGO_SITE_URL"]

# Quiet server log: warnings and errors only, on stderr (run.sh prints it if the server dies).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
