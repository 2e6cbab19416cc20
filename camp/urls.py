from django.contrib import admin
from django.urls import include, path

from camp import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("prisoners/", include("prisoners.urls")),
    path("letters/", include("letters.urls")),
    path("", include("calls.urls")),
    path("reports/", include("calls.report_urls")),
    path("exports/", include("calls.export_urls")),
    path("admin/", admin.site.urls),
]
