from django.urls import path

from letters import views

app_name = "letters"
urlpatterns = [
    # The mail desk: today's pile recorded at once, waiting items moved along.
    path("", views.desk, name="desk"),
    path("batch/", views.batch_record, name="batch-record"),
    path("step/", views.letter_step, name="letter-step"),
    # A prisoner's register.
    path("prisoners/<int:pk>/", views.prisoner_register, name="prisoner-register"),
    path("prisoners/<int:pk>/record/", views.letter_record, name="letter-record"),
    # One item, its history and its corrections.
    path("<int:pk>/", views.letter_detail, name="letter-detail"),
    path("<int:pk>/amend/", views.letter_amend, name="letter-amend"),
    # GCIII Art. 70.
    path("capture-cards/overdue/", views.capture_card_overdue, name="capture-card-overdue"),
]
