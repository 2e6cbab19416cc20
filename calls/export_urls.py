from django.urls import path

from calls.views import exports

app_name = "exports"
urlpatterns = [
    path("", exports.export_create, name="export-create"),
    path("history/", exports.export_list, name="export-list"),
    path("verify/", exports.export_verify, name="export-verify"),
]
