from django.urls import path

from prisoners import views

app_name = "prisoners"
urlpatterns = [
    path("", views.prisoner_list, name="prisoner-list"),
    path("new/", views.prisoner_create, name="prisoner-create"),
    path("<int:pk>/", views.prisoner_detail, name="prisoner-detail"),
    path("<int:pk>/edit/", views.prisoner_edit, name="prisoner-edit"),
    path("<int:pk>/status/", views.prisoner_status, name="prisoner-status"),
    path("<int:pk>/contacts/add/", views.contact_add, name="contact-add"),
    path("contacts/<int:pk>/approve/", views.contact_approve, name="contact-approve"),
    path("contacts/<int:pk>/revoke/", views.contact_revoke, name="contact-revoke"),
]
