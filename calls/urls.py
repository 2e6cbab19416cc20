from django.urls import path

from calls.views import desk, logbook, schedule

app_name = "calls"
urlpatterns = [
    # The desk: today's slots and the calls in progress.
    path("desk/", desk.desk, name="desk"),
    path("desk/live/", desk.desk_live, name="desk-live"),
    path("desk/calls/start/", desk.call_start, name="call-start"),
    path("desk/calls/<int:pk>/end/", desk.call_end, name="call-end"),
    path("desk/alerts/start/", desk.alert_start, name="alert-start"),
    path("desk/alerts/<int:pk>/end/", desk.alert_end, name="alert-end"),
    path("desk/bookings/<int:pk>/no-show/", desk.booking_no_show, name="booking-no-show"),
    # The logbook and its amendments.
    path("logbook/", logbook.logbook, name="logbook"),
    path("logbook/day.pdf", logbook.logbook_day_pdf, name="logbook-day-pdf"),
    path("logbook/transcribe/", logbook.call_transcribe, name="call-transcribe"),
    path("logbook/<int:pk>/", logbook.call_detail, name="call-detail"),
    path("logbook/<int:pk>/amend/", logbook.call_amend, name="call-amend"),
    # Schedule, bookings, policy and suspensions: supervisors.
    path("schedule/", schedule.schedule, name="schedule"),
    path("schedule/lines/add/", schedule.line_add, name="line-add"),
    path("schedule/lines/<int:pk>/toggle/", schedule.line_toggle, name="line-toggle"),
    path("schedule/windows/add/", schedule.window_add, name="window-add"),
    path("schedule/windows/<int:pk>/remove/", schedule.window_remove, name="window-remove"),
    path("schedule/slots/generate/", schedule.slots_generate, name="slots-generate"),
    path("schedule/policy/add/", schedule.policy_add, name="policy-add"),
    path("bookings/", schedule.booking_list, name="booking-list"),
    path("bookings/slots/<int:pk>/book/", schedule.slot_book, name="slot-book"),
    path("bookings/<int:pk>/cancel/", schedule.booking_cancel, name="booking-cancel"),
    path("suspensions/prisoners/<int:pk>/add/", schedule.suspension_add, name="suspension-add"),
]
