from django.urls import path

from calls.views import reports

app_name = "reports"
urlpatterns = [
    path("", reports.index, name="index"),
    path("flagged/", reports.flagged_list, name="flagged"),
    path("flagged/<int:pk>/resolve/", reports.flagged_resolve, name="flagged-resolve"),
    path("contacts/", reports.contact_list, name="contacts"),
    path("contacts/<int:pk>/approve/", reports.contact_approve, name="contact-approve"),
    path("contacts/<int:pk>/revoke/", reports.contact_revoke, name="contact-revoke"),
    path("workload/", reports.workload, name="workload"),
    path("trends/", reports.trends, name="trends"),
    path("without-news/", reports.without_news, name="without-news"),
    path("without-news/<int:pk>/book/", reports.without_news_book, name="without-news-book"),
    path("frequency/", reports.frequency, name="frequency"),
    path("geneva/", reports.geneva, name="geneva"),
]
