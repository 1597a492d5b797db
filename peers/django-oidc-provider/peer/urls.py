"""URLs: Django's standard LoginView and django-oidc-provider's URLs under /openid/ (its
installation guide, docs/sections/installation.rst)."""
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
