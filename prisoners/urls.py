from django.urls import path

from prisoners import views

app_name = "prisoners"
urlpatterns = [
    path("", views.prisoner_list, name="prisoner-list"),
]
