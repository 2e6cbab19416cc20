from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from camp import two_factor, views
from camp.forms import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Log-in, log-out and password change only: no password reset, the camp has no mail
    # (an administrator sets a new password in /admin/).
    path(
        "accounts/login/",
        views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("account/two-factor/", include(two_factor.urls)),
    path("account/language/", views.language_set, name="language-set"),
    path("audit/", views.audit_trail, name="audit-trail"),
    path("prisoners/", include("prisoners.urls")),
    path("letters/", include("letters.urls")),
    path("", include("calls.urls")),
    path("reports/", include("calls.report_urls")),
    path("exports/", include("calls.export_urls")),
    path("admin/", admin.site.urls),
]

# Also answers a database outage, with 503 (camp.middleware.server_error).
handler500 = "camp.middleware.server_error"
