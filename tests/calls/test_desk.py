"""The guard's desk: today's slots, starting and ending calls, no-shows."""

import datetime
import re
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from calls import rules, services
from calls.models import AirRaidAlert, Booking, Call, CallPolicy, Suspension
from calls.services import CallError
from calls.views.desk import SlotState
from camp.models import AuditEntry
from prisoners.models import Contact, Prisoner
from tests.factories import (
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
    UserFactory,
)

MINUTE = datetime.timedelta(minutes=1)
DESK = reverse("calls:desk")
DESK_LIVE = reverse("calls:desk-live")
CALL_START = reverse("calls:call-start")


def open_call(*, line, prisoner=None, contact=None, monitor=None, started=2, limit=15, **kwargs):
    """A call in progress on ``line`` that started ``started`` minutes ago."""
    prisoner = prisoner or PrisonerFactory(site=line.site)
    contact = contact or ContactFactory(prisoner=prisoner)
    started_at = timezone.now() - started * MINUTE
    return CallFactory(
        line=line,
        prisoner=prisoner,
        contact=contact,
        started_at=started_at,
        deadline=started_at + limit * MINUTE,
        ended_at=None,
        outcome="",
        monitor=monitor or UserFactory(),
        **kwargs,
    )


def booked_slot(*, line, prisoner=None, starts_in=-5, minutes=15):
    """A booking of a slot on ``line`` starting ``starts_in`` minutes from now."""
    starts_at = (timezone.now() + starts_in * MINUTE).replace(microsecond=0)
    slot = CallSlotFactory(line=line, starts_at=starts_at, ends_at=starts_at + minutes * MINUTE)
    if prisoner is None:
        return BookingFactory(slot=slot)
    return BookingFactory(slot=slot, prisoner=prisoner)


def start_url(**params):
    return CALL_START + "?" + "&".join(f"{key}={value}" for key, value in params.items())


@pytest.fixture
def line(site):
    return LineFactory(site=site, name="Line 1")


@pytest.fixture
def prisoner(site):
    return PrisonerFactory(site=site)


@pytest.fixture
def contact(prisoner):
    return ContactFactory(prisoner=prisoner, name="Олена", city="Kursk", country="RU")


@pytest.fixture
def booking(line, prisoner, contact):
    return booked_slot(line=line, prisoner=prisoner)


# --- Permissions ----------------------------------------------------------------------


@pytest.fixture
def desk_urls(site, guard):
    """One URL per desk view, with objects of ``site`` (method, url, status for staff)."""
    booking = booked_slot(line=LineFactory(site=site))
    call = open_call(line=LineFactory(site=site))
    alert = AirRaidAlert.objects.create(
        site=site, started_at=timezone.now(), started_by=UserFactory()
    )
    return {
        "desk": ("get", DESK, 200),
        "desk-live": ("get", DESK_LIVE, 200),
        "call-start": ("get", start_url(booking=booking.pk), 200),
        "call-end": ("get", reverse("calls:call-end", args=[call.pk]), 200),
        "alert-start": ("post", reverse("calls:alert-start"), 302),
        "alert-end": ("post", reverse("calls:alert-end", args=[alert.pk]), 302),
        "booking-no-show": ("post", reverse("calls:booking-no-show", args=[booking.pk]), 302),
    }


@pytest.fixture
def other_site_urls(other_site):
    """The desk views pointed at objects of a site the users do not serve."""
    booking = booked_slot(line=LineFactory(site=other_site))
    call = open_call(line=LineFactory(site=other_site))
    alert = AirRaidAlert.objects.create(
        site=other_site, started_at=timezone.now(), started_by=UserFactory()
    )
    return {
        "call-start": ("get", start_url(booking=booking.pk)),
        "call-end": ("get", reverse("calls:call-end", args=[call.pk])),
        "call-end-post": ("post", reverse("calls:call-end", args=[call.pk])),
        "alert-end": ("post", reverse("calls:alert-end", args=[alert.pk])),
        "booking-no-show": ("post", reverse("calls:booking-no-show", args=[booking.pk])),
    }


URL_NAMES = [
    "desk",
    "desk-live",
    "call-start",
    "call-end",
    "alert-start",
    "alert-end",
    "booking-no-show",
]


@pytest.mark.parametrize("name", URL_NAMES)
def test_anonymous_is_sent_to_log_in(client, desk_urls, name):
    method, url, _ = desk_urls[name]
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", URL_NAMES)
def test_user_without_role_is_refused(client, no_role_user, desk_urls, name):
    client.force_login(no_role_user)
    method, url, _ = desk_urls[name]
    assert getattr(client, method)(url).status_code == 403


@pytest.mark.parametrize("role", ["guard", "supervisor", "administrator"])
@pytest.mark.parametrize("name", URL_NAMES)
def test_every_staff_role_uses_the_desk(role_clients, desk_urls, role, name):
    method, url, status = desk_urls[name]
    assert getattr(role_clients[role], method)(url).status_code == status


@pytest.mark.parametrize(
    "name", ["call-start", "call-end", "call-end-post", "alert-end", "booking-no-show"]
)
def test_another_sites_objects_are_not_found(guard_client, other_site_urls, name):
    method, url = other_site_urls[name]
    assert getattr(guard_client, method)(url).status_code == 404


@pytest.mark.parametrize("name", ["alert-start", "alert-end", "booking-no-show"])
def test_changes_need_post(guard_client, desk_urls, name):
    _, url, _ = desk_urls[name]
    assert guard_client.get(url).status_code == 405


def test_desk_without_a_site_says_so(client, db):
    client.force_login(UserFactory(username="drifter", role="guard"))
    response = client.get(DESK)
    assert response.status_code == 200
    assert b"not assigned to an internment site" in response.content


def test_alert_without_a_site_is_refused_with_a_message(client, db):
    client.force_login(UserFactory(username="drifter", role="guard"))
    response = client.post(reverse("calls:alert-start"), follow=True)
    assert b"You are not assigned to a site." in response.content
    assert not AirRaidAlert.objects.exists()


# --- The desk page --------------------------------------------------------------------


def _rows(response):
    return {row.slot.pk: row for desk_line in response.context["lines"] for row in desk_line.slots}


def test_desk_shows_each_slot_with_its_state(guard_client, site, guard):
    line_a, line_b, line_c = (LineFactory(site=site, name=f"L{n}") for n in "ABC")
    free = CallSlotFactory(line=line_a, starts_at=timezone.now() + 30 * MINUTE)
    unused = CallSlotFactory(line=line_a, starts_at=timezone.now() - 40 * MINUTE)
    booked = booked_slot(line=line_a, starts_in=-5)
    future = booked_slot(line=line_a, starts_in=60)
    in_call = booked_slot(line=line_b, starts_in=-5)
    open_call(line=line_b, prisoner=in_call.prisoner, booking=in_call)
    done = booked_slot(line=line_b, starts_in=-40)
    CallFactory(
        line=line_b,
        prisoner=done.prisoner,
        booking=done,
        started_at=done.starts_at,
        ended_at=done.starts_at + 5 * MINUTE,
        outcome=Call.Outcome.NO_ANSWER,
    )
    no_show = booked_slot(line=line_c, starts_in=-40)
    no_show.status = Booking.Status.NO_SHOW
    no_show.save()
    cancelled = booked_slot(line=line_c, starts_in=-5)
    cancelled.status = Booking.Status.CANCELLED
    cancelled.cancel_reason = "Transferred"
    cancelled.save()
    alert = AirRaidAlert.objects.create(
        site=site,
        started_at=timezone.now() - 3 * 60 * MINUTE,
        ended_at=timezone.now() - 2 * 60 * MINUTE,
        started_by=guard,
    )
    suspended = booked_slot(line=line_c, starts_in=60)
    suspended.slot.suspended_by = alert
    suspended.slot.save()
    suspended.status = Booking.Status.SUSPENDED
    suspended.save()

    response = guard_client.get(DESK, {"day": "all"})

    assert response.status_code == 200
    rows = _rows(response)
    assert rows[free.pk].state == SlotState.FREE
    assert rows[unused.pk].state == SlotState.UNUSED
    assert rows[booked.slot.pk].state == SlotState.BOOKED
    assert rows[booked.slot.pk].can_start and rows[booked.slot.pk].can_no_show
    assert rows[future.slot.pk].state == SlotState.BOOKED
    assert not rows[future.slot.pk].can_start and not rows[future.slot.pk].can_no_show
    assert rows[in_call.slot.pk].state == SlotState.IN_CALL
    assert not rows[in_call.slot.pk].can_start
    assert rows[done.slot.pk].state == SlotState.DONE
    assert rows[done.slot.pk].last_outcome_label == "No answer"
    assert rows[no_show.slot.pk].state == SlotState.NO_SHOW
    # A cancelled booking does not hold its slot.
    assert rows[cancelled.slot.pk].state == SlotState.FREE
    assert rows[cancelled.slot.pk].booking is None
    assert rows[suspended.slot.pk].state == SlotState.SUSPENDED
    content = response.content.decode()
    assert f"{CALL_START}?booking={booked.pk}" in content
    assert reverse("calls:booking-no-show", args=[booked.pk]) in content
    assert f"{CALL_START}?booking={future.pk}" not in content
    assert [row.booking for row in response.context["next_due"]] == [booked, future]


def test_desk_offers_no_start_on_a_busy_line(guard_client, site, line):
    """The previous call ran over: the guard must end it before the next one starts."""
    open_call(line=line, started=20, limit=15)
    booking = booked_slot(line=line, starts_in=-2)
    response = guard_client.get(DESK)
    row = _rows(response)[booking.slot.pk]
    assert row.state == SlotState.BOOKED
    assert not row.can_start
    assert f"{CALL_START}?booking={booking.pk}" not in response.content.decode()


def test_desk_never_shows_a_withheld_surname(supervisor_client, site, line):
    hidden = PrisonerFactory(
        site=site, identity=Prisoner.Identity.WITHHELD, surname="Таємний", first_names="Андрій"
    )
    booked_slot(line=line, prisoner=hidden, starts_in=30)
    CallFactory(
        line=LineFactory(site=site), prisoner=hidden, outcome=Call.Outcome.INTERRUPTED_BY_ALERT
    )
    content = supervisor_client.get(DESK).content.decode()
    assert "Андрій" in content
    assert hidden.isn in content
    assert "Таємний" not in content


def test_a_withheld_prisoners_relatives_are_named_by_relationship_only(guard_client, site, line):
    hidden = PrisonerFactory(
        site=site, identity=Prisoner.Identity.WITHHELD, surname="Таємний", first_names="Андрій"
    )
    wife = ContactFactory(prisoner=hidden, name="Ольга Таємна")
    start = start_url(line=line.pk, prisoner=hidden.isn)
    assert "Таємн" not in guard_client.get(start).content.decode()

    response = guard_client.post(start, {"contact": wife.pk}, follow=True)

    call = Call.objects.get(prisoner=hidden)
    for page in (response, guard_client.get(reverse("calls:call-end", args=[call.pk]))):
        content = page.content.decode()
        assert "Wife" in content
        assert "Таємн" not in content


def test_desk_counts_down_to_each_calls_time_limit(guard_client, site, line):
    call = open_call(line=line, started=14)
    response = guard_client.get(DESK)
    content = response.content.decode()
    assert f'data-deadline="{int(call.deadline.timestamp())}"' in content
    # Without JavaScript the time limit and the time left are there as text.
    limit = timezone.localtime(call.deadline, site.zone).strftime("%H:%M:%S")
    assert limit in content
    assert "countdown-warning" in content
    assert " left" in content
    assert reverse("calls:call-end", args=[call.pk]) in content
    assert "js/desk.js" in content


def test_desk_offers_the_alert_button_or_the_all_clear(guard_client, site, guard):
    content = guard_client.get(DESK).content.decode()
    assert reverse("calls:alert-start") in content
    alert = AirRaidAlert.objects.create(site=site, started_at=timezone.now(), started_by=guard)
    content = guard_client.get(DESK).content.decode()
    assert reverse("calls:alert-start") not in content
    assert reverse("calls:alert-end", args=[alert.pk]) in content
    assert "Air-raid alert since" in content


def test_desk_lists_prisoners_owed_a_make_up_call(guard_client, site, line):
    owed = PrisonerFactory(site=site)
    CallFactory(line=line, prisoner=owed, outcome=Call.Outcome.INTERRUPTED_BY_ALERT)
    response = guard_client.get(DESK)
    assert [p.pk for p in response.context["makeup"]] == [owed.pk]
    assert owed.isn in response.content.decode()


def test_desk_lists_prisoners_whose_calls_are_suspended(guard_client, guard, site):
    today = site.today()
    suspended = PrisonerFactory(site=site, first_names="Тарас")
    services.suspend_calls(
        prisoner=suspended,
        reason=Suspension.Reason.MEDICAL,
        authority="Camp doctor",
        document_reference="",
        starts_on=today,
        ends_on=today + datetime.timedelta(days=3),
        actor=guard,
    )
    ended = PrisonerFactory(site=site)
    services.suspend_calls(
        prisoner=ended,
        reason=Suspension.Reason.MEDICAL,
        authority="Camp doctor",
        document_reference="",
        starts_on=today - datetime.timedelta(days=5),
        ends_on=today - datetime.timedelta(days=1),
        actor=guard,
    )
    response = guard_client.get(DESK)
    assert [s.prisoner_id for s in response.context["suspended"]] == [suspended.pk]
    page = response.content.decode()
    assert suspended.isn in page
    assert f"until {formats.date_format(today + datetime.timedelta(days=3))}" in page
    assert ended.isn not in page


def _populate(site, count):
    """``count`` lines, each with a booked slot today, a call in progress in it, and
    a prisoner owed a make-up call."""
    noon = site.day_start(site.today()) + 12 * 60 * MINUTE
    for _ in range(count):
        line = LineFactory(site=site)
        booking = BookingFactory(
            slot=CallSlotFactory(line=line, starts_at=noon, ends_at=noon + 15 * MINUTE)
        )
        open_call(line=line, prisoner=booking.prisoner, booking=booking)
        CallFactory(line=line, outcome=Call.Outcome.INTERRUPTED_BY_ALERT)
        CallSlotFactory(line=line, starts_at=noon + 60 * MINUTE, ends_at=noon + 75 * MINUTE)
        Suspension.objects.create(
            prisoner=PrisonerFactory(site=site),
            reason=Suspension.Reason.PRISONER_REQUEST,
            authority="Prisoner",
            starts_on=site.today(),
            ends_on=site.today(),
            created_by=booking.booked_by,
        )


def test_desk_runs_the_same_queries_for_5_and_50_slots(guard_client, site):
    guard_client.get(DESK)  # Warm up the session and anything cached per process.
    _populate(site, 5)
    with CaptureQueriesContext(connection) as few:
        response = guard_client.get(DESK)
    assert len(response.context["calls"]) == 5
    _populate(site, 45)
    with CaptureQueriesContext(connection) as many:
        response = guard_client.get(DESK)
    assert len(response.context["calls"]) == 50
    assert len(response.context["makeup"]) == 50
    assert len(response.context["suspended"]) == 50
    # Each line's booked slot is listed; the free slot an hour later is one click away.
    assert sum(len(desk_line.slots) for desk_line in response.context["lines"]) == 50
    assert response.context["hidden_free"] == 50
    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]
    assert len(many) <= 15


# --- Starting a call ------------------------------------------------------------------


def test_guard_starts_a_call_from_a_booking(guard_client, guard, booking, contact):
    url = start_url(booking=booking.pk)
    page = guard_client.get(url)
    assert page.status_code == 200
    content = page.content.decode()
    assert contact.phone_number in content and "Kursk, RU" in content

    response = guard_client.post(url, {"contact": contact.pk})

    assert response.status_code == 302 and response.url == DESK
    call = Call.objects.get()
    assert call.booking == booking
    assert call.line == booking.slot.line
    assert call.monitor == guard
    assert call.number_dialled == contact.phone_number
    assert call.locality == "Kursk, RU"
    assert call.is_open
    page = guard_client.get(DESK)
    assert "Call started on Line 1" in page.content.decode()


def test_a_double_submitted_start_makes_one_call(guard_client, booking, contact):
    url = start_url(booking=booking.pk)
    guard_client.post(url, {"contact": contact.pk})
    response = guard_client.post(url, {"contact": contact.pk})
    assert response.status_code == 200
    # The line and the prisoner are both busy with the first call.
    assert "A call is already in progress on this line." in response.content.decode()
    assert Call.objects.count() == 1


def test_guard_starts_an_unscheduled_call_by_isn(guard_client, line, prisoner, contact):
    url = start_url(line=line.pk, prisoner=prisoner.isn.lower())
    assert contact.name in guard_client.get(url).content.decode()
    response = guard_client.post(url, {"contact": contact.pk})
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.booking, call.line, call.prisoner) == (None, line, prisoner)


def test_unscheduled_call_accepts_the_prisoners_id(guard_client, line, prisoner, contact):
    response = guard_client.get(start_url(line=line.pk, prisoner=prisoner.pk))
    assert response.context["prisoner"] == prisoner


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"line": "{line}", "prisoner": "NOBODY-1"}, "No prisoner with the ISN"),
        ({"line": "abc", "prisoner": "{isn}"}, "Choose one of the lines in service"),
        ({"line": "99999999999999999999999", "prisoner": "{isn}"}, "Choose one of the lines"),
        ({"line": "{other_line}", "prisoner": "{isn}"}, "Choose one of the lines in service"),
        ({"line": "{line}", "prisoner": "{other_isn}"}, "No prisoner with the ISN"),
        ({"line": "{line}"}, "This field is required"),
    ],
)
def test_bad_unscheduled_input_gets_a_clear_message(
    guard_client, line, prisoner, other_site, params, message
):
    values = {
        "line": line.pk,
        "isn": prisoner.isn,
        "other_line": LineFactory(site=other_site).pk,
        "other_isn": PrisonerFactory(site=other_site).isn,
    }
    url = start_url(**{key: value.format(**values) for key, value in params.items()})
    for response in (guard_client.get(url), guard_client.post(url, {"contact": "1"})):
        assert response.status_code == 200
        assert message in response.content.decode()
    assert not Call.objects.exists()


@pytest.mark.parametrize("value", ["abc", "", "99999999999999999999999", "12.5"])
def test_a_bogus_booking_is_not_found(guard_client, value):
    assert guard_client.get(start_url(booking=value)).status_code == 404


def test_start_refuses_a_contact_of_someone_else(guard_client, booking, site):
    stranger = ContactFactory(prisoner=PrisonerFactory(site=site))
    for value in (stranger.pk, "abc", ""):
        response = guard_client.post(start_url(booking=booking.pk), {"contact": value})
        assert response.status_code == 200
        assert "Choose" in response.content.decode()
    assert not Call.objects.exists()


def test_start_shows_that_there_is_no_approved_contact(guard_client, line, site, supervisor):
    prisoner = PrisonerFactory(site=site)
    pending = ContactFactory(
        prisoner=prisoner, status=Contact.Status.PENDING, decided_by=None, decided_at=None
    )
    url = start_url(line=line.pk, prisoner=prisoner.isn)
    assert "has no approved contact" in guard_client.get(url).content.decode()
    response = guard_client.post(url, {"contact": pending.pk})
    assert "approved contacts" in response.content.decode()
    assert not Call.objects.exists()


def test_start_shows_every_refusal(guard_client, line, site, supervisor):
    prisoner = PrisonerFactory(site=site, status=Prisoner.Status.IN_HOSPITAL)
    contact = ContactFactory(prisoner=prisoner)
    today = site.today()
    Suspension.objects.create(
        prisoner=prisoner,
        reason=Suspension.Reason.SECURITY_INVESTIGATION,
        authority="Investigator Koval",
        starts_on=today - datetime.timedelta(days=1),
        ends_on=today + datetime.timedelta(days=5),
        created_by=supervisor,
    )
    response = guard_client.post(
        start_url(line=line.pk, prisoner=prisoner.isn), {"contact": contact.pk}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "not interned" in content
    assert "Calls are suspended" in content and "Investigator Koval" in content
    assert not Call.objects.exists()


def test_start_refuses_a_busy_line(guard_client, line, prisoner, contact):
    open_call(line=line)
    response = guard_client.post(
        start_url(line=line.pk, prisoner=prisoner.isn), {"contact": contact.pk}
    )
    assert "A call is already in progress on this line." in response.content.decode()
    assert Call.objects.filter(prisoner=prisoner).count() == 0


def test_start_refuses_during_an_alert(guard_client, guard, site, booking, contact):
    AirRaidAlert.objects.create(site=site, started_at=timezone.now(), started_by=guard)
    response = guard_client.post(start_url(booking=booking.pk), {"contact": contact.pk})
    assert "air-raid alert is in progress" in response.content.decode()
    assert not Call.objects.exists()


def test_start_refuses_past_the_monthly_limit(guard_client, line, prisoner, contact, site):
    CallPolicy.objects.create(
        site=site, effective_from=datetime.date(2020, 1, 1), max_calls_per_month=0
    )
    response = guard_client.post(
        start_url(line=line.pk, prisoner=prisoner.isn), {"contact": contact.pk}
    )
    assert "calls a month" in response.content.decode()
    assert not Call.objects.exists()


def test_start_from_a_closed_booking_is_explained(guard_client, booking, contact):
    booking.status = Booking.Status.NO_SHOW
    booking.save()
    url = start_url(booking=booking.pk)
    assert "no call can be started from it" in guard_client.get(url).content.decode()
    response = guard_client.post(url, {"contact": contact.pk})
    assert "This booking is no-show." in response.content.decode()
    assert not Call.objects.exists()


# --- Ending a call --------------------------------------------------------------------


def test_guard_ends_a_call_with_elapsed_time_from_the_server(guard_client, guard, line):
    call = open_call(line=line, started=2)
    url = reverse("calls:call-end", args=[call.pk])
    page = guard_client.get(url)
    assert "Elapsed so far" in page.content.decode()
    assert "2 min" in page.content.decode()

    response = guard_client.post(
        url, {"outcome": "connected", "language": " uk ", "notes": "Spoke with wife."}
    )

    assert response.status_code == 302 and response.url == DESK
    call.refresh_from_db()
    assert not call.is_open
    assert call.outcome == Call.Outcome.CONNECTED
    assert (call.language, call.notes) == ("uk", "Spoke with wife.")
    assert 2 * MINUTE <= call.elapsed < 3 * MINUTE
    assert not call.flagged
    assert "ended: Connected after 2 min" in guard_client.get(DESK).content.decode()


def test_guard_flags_a_call_for_review(guard_client, line):
    call = open_call(line=line)
    guard_client.post(
        reverse("calls:call-end", args=[call.pk]),
        {"outcome": "ended_by_monitor", "flag_reason": "Spoke of troop movements."},
    )
    call.refresh_from_db()
    assert call.flagged
    assert call.flag_reason == "Spoke of troop movements."


def test_ending_needs_an_outcome(guard_client, line):
    call = open_call(line=line)
    for outcome in ("", "victory"):
        response = guard_client.post(
            reverse("calls:call-end", args=[call.pk]), {"outcome": outcome}
        )
        assert response.status_code == 200
        assert "outcome" in response.content.decode().lower()
    call.refresh_from_db()
    assert call.is_open


def test_a_call_is_never_ended_twice(guard_client, line):
    call = open_call(line=line)
    url = reverse("calls:call-end", args=[call.pk])
    guard_client.post(url, {"outcome": "connected"})
    ended_at = Call.objects.get().ended_at
    for response in (
        guard_client.post(url, {"outcome": "busy"}, follow=True),
        guard_client.get(url, follow=True),
    ):
        assert response.redirect_chain[-1][0] == DESK
        assert "already ended" in response.content.decode()
    call.refresh_from_db()
    assert (call.outcome, call.ended_at) == ("connected", ended_at)
    assert AuditEntry.objects.filter(action="calls.call.ended").count() == 1


def test_ending_a_call_ended_meanwhile_redirects(guard_client, guard, line, monkeypatch):
    """The call was open when the page loaded but another guard ended it first."""
    call = open_call(line=line)
    real_end_call = services.end_call

    def end_twice(**kwargs):
        real_end_call(**{**kwargs, "outcome": "busy"})
        return real_end_call(**kwargs)

    monkeypatch.setattr(services, "end_call", end_twice)
    response = guard_client.post(
        reverse("calls:call-end", args=[call.pk]), {"outcome": "connected"}, follow=True
    )
    assert "already ended" in response.content.decode()
    call.refresh_from_db()
    assert call.outcome == "busy"


def test_a_call_past_its_limit_is_flagged(site, line, prisoner, contact, guard):
    start = timezone.now() - 20 * MINUTE
    call = services.start_call(
        line=line, prisoner=prisoner, contact=contact, actor=guard, now=start
    )
    ended = services.end_call(
        call=call, outcome="connected", actor=guard, flag_reason="", now=start + 16 * MINUTE
    )
    assert ended.over_limit and ended.flagged
    assert "Ran past the time limit." in ended.flag_reason
    ended.refresh_from_db()
    assert ended.elapsed == 16 * MINUTE


def test_a_call_within_its_limit_is_not_flagged(site, line, prisoner, contact, guard):
    start = timezone.now() - 20 * MINUTE
    call = services.start_call(
        line=line, prisoner=prisoner, contact=contact, actor=guard, now=start
    )
    ended = services.end_call(call=call, outcome="no_answer", actor=guard, now=start + 14 * MINUTE)
    assert not ended.over_limit and not ended.flagged


# --- No-shows -------------------------------------------------------------------------


def test_guard_marks_a_no_show(guard_client, booking):
    url = reverse("calls:booking-no-show", args=[booking.pk])
    response = guard_client.post(url, follow=True)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.NO_SHOW
    assert "marked as a no-show" in response.content.decode()
    # A second submission changes nothing and says why.
    response = guard_client.post(url, follow=True)
    assert "Only a live booking" in response.content.decode()
    assert AuditEntry.objects.filter(action="calls.booking.no_show").count() == 1


def test_no_show_waits_for_the_slot_to_start(guard_client, line):
    booking = booked_slot(line=line, starts_in=30)
    response = guard_client.post(reverse("calls:booking-no-show", args=[booking.pk]), follow=True)
    assert "has not started yet" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED


# --- Concurrency ----------------------------------------------------------------------


def _race(count, action):
    """Run ``action(i)`` in ``count`` threads released at once; return results or errors."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        try:
            barrier.wait(timeout=10)
            results[index] = action(index)
        except Exception as error:  # The test inspects what each thread got.
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ten_simultaneous_ends_end_a_call_once(site):
    guard = UserFactory(username="racer")
    call = open_call(line=LineFactory(site=site), monitor=guard)

    results = _race(10, lambda _: services.end_call(call=call, outcome="connected", actor=guard))

    ended = [result for result in results if isinstance(result, Call)]
    refused = [result for result in results if isinstance(result, CallError)]
    assert len(ended) == 1
    assert len(refused) == 9
    assert all("already ended" in error.messages[0] for error in refused)
    assert AuditEntry.objects.filter(action="calls.call.ended").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_starts_on_one_line_make_one_call(site):
    guard = UserFactory(username="racer")
    line = LineFactory(site=site)
    contacts = [ContactFactory(prisoner=PrisonerFactory(site=site)) for _ in range(2)]

    results = _race(
        2,
        lambda index: services.start_call(
            line=line, prisoner=contacts[index].prisoner, contact=contacts[index], actor=guard
        ),
    )

    assert sorted(type(result).__name__ for result in results) == ["Call", "CallError"]
    refused = next(result for result in results if isinstance(result, CallError))
    assert "already in progress on this line" in refused.messages[0]
    assert Call.objects.in_progress().filter(line=line).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_ten_simultaneous_end_call_posts_end_it_once(site, client_class):
    guard = UserFactory(username="racer", role="guard", sites=[site])
    call = open_call(line=LineFactory(site=site), monitor=guard)
    url = reverse("calls:call-end", args=[call.pk])
    clients = []
    for _ in range(10):
        client = client_class()
        client.force_login(guard)
        clients.append(client)

    results = _race(
        10, lambda index: clients[index].post(url, {"outcome": "connected"}, follow=True)
    )

    assert all(response.status_code == 200 for response in results), results
    pages = [response.content.decode() for response in results]
    assert sum("already ended" in page for page in pages) == 9
    assert Call.objects.get(pk=call.pk).outcome == Call.Outcome.CONNECTED
    assert AuditEntry.objects.filter(action="calls.call.ended").count() == 1


def test_a_slot_holds_several_attempts_within_its_time(guard, site, line):
    booking = booked_slot(line=line, starts_in=-1)
    wife = ContactFactory(prisoner=booking.prisoner, name="Олена")
    daughter = ContactFactory(prisoner=booking.prisoner, name="Марія")
    now = timezone.now()
    first = services.start_call(
        line=line, prisoner=booking.prisoner, contact=wife, actor=guard, booking=booking, now=now
    )
    services.end_call(call=first, outcome="no_answer", actor=guard, now=now + 4 * MINUTE)
    second = services.start_call(
        line=line,
        prisoner=booking.prisoner,
        contact=daughter,
        actor=guard,
        booking=booking,
        now=now + 5 * MINUTE,
    )
    # The slot's limit counts the first attempt's four minutes on the line.
    assert second.deadline == now + 5 * MINUTE + 11 * MINUTE
    assert second.booking == booking
    services.end_call(call=second, outcome="connected", actor=guard, now=now + 16 * MINUTE)
    second.refresh_from_db()
    assert not second.over_limit
    assert list(booking.calls.order_by("started_at")) == [first, second]


def test_desk_lists_now_and_what_is_next(guard_client, site):
    line = LineFactory(site=site, name="L1")
    now_booked = booked_slot(line=line, starts_in=-5)
    later_booked = booked_slot(line=line, starts_in=40)
    later_free = CallSlotFactory(line=line, starts_at=timezone.now() + 100 * MINUTE)
    tonight = CallSlotFactory(line=line, starts_at=timezone.now() + 150 * MINUTE)
    unused = CallSlotFactory(line=line, starts_at=timezone.now() - 40 * MINUTE)
    waiting = booked_slot(line=line, starts_in=-70)
    done = booked_slot(line=line, starts_in=-100)
    CallFactory(line=line, prisoner=done.prisoner, booking=done, started_at=done.starts_at)
    other = LineFactory(site=site, name="L2")
    free_now = CallSlotFactory(line=other, starts_at=timezone.now() - 5 * MINUTE)

    response = guard_client.get(DESK)

    listed = set(_rows(response))
    # The slot in progress on each line, and what someone holds in the coming hours.
    assert listed == {now_booked.slot.pk, later_booked.slot.pk, waiting.slot.pk, free_now.pk}
    assert _rows(response)[waiting.slot.pk].can_no_show
    assert response.context["hidden_free"] == 1
    content = response.content.decode()
    assert f"{DESK}?day=all" in content
    assert "Show the whole day (1 free slot not shown)" in content
    whole_day = guard_client.get(DESK, {"day": "all"})
    assert {later_free.pk, tonight.pk, unused.pk, done.slot.pk} <= set(_rows(whole_day))
    assert whole_day.context["hidden_free"] == 0


# --- The desk's rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_in", "expected"),
    [(11, False), (10, True), (0, True), (-14, True), (-15, False)],
)
def test_a_booked_call_may_start_from_ten_minutes_before_its_slot(line, starts_in, expected):
    booking = booked_slot(line=line, starts_in=starts_in)
    now = booking.slot.starts_at - starts_in * MINUTE
    assert (
        rules.booking_may_start(
            booking=booking, slot=booking.slot, now=now, alert_active=False, line_busy=False
        )
        is expected
    )


def test_a_booked_call_may_not_start_in_an_alert_on_a_busy_line_or_when_not_live(line, guard):
    booking = booked_slot(line=line, starts_in=-1)
    now = timezone.now()

    def may_start(**kwargs):
        options = {"alert_active": False, "line_busy": False, **kwargs}
        return rules.booking_may_start(booking=booking, slot=booking.slot, now=now, **options)

    assert may_start()
    assert not may_start(alert_active=True)
    assert not may_start(line_busy=True)
    booking.slot.line.active = False
    assert not may_start()
    booking.slot.line.active = True
    booking.slot.suspended_by = AirRaidAlert(pk=1)
    assert not may_start()
    booking.slot.suspended_by = None
    booking.status = Booking.Status.NO_SHOW
    assert not may_start()


def test_a_no_show_needs_a_live_booking_whose_slot_started_without_a_call(line):
    booking = booked_slot(line=line, starts_in=-1)
    slot, now = booking.slot, timezone.now()
    assert rules.booking_may_be_no_show(booking=booking, slot=slot, now=now, has_calls=False)
    assert not rules.booking_may_be_no_show(booking=booking, slot=slot, now=now, has_calls=True)
    assert not rules.booking_may_be_no_show(
        booking=booking, slot=slot, now=slot.starts_at - MINUTE, has_calls=False
    )


def test_a_booking_holds_its_line_for_its_whole_slot(line):
    booking = booked_slot(line=line, starts_in=-1)
    slot = booking.slot
    assert rules.booking_holds_line(booking=booking, slot=slot, now=slot.starts_at)
    assert rules.booking_holds_line(booking=booking, slot=slot, now=slot.ends_at - MINUTE)
    assert not rules.booking_holds_line(booking=booking, slot=slot, now=slot.ends_at)
    assert not rules.booking_holds_line(booking=booking, slot=slot, now=slot.starts_at - MINUTE)
    booking.status = Booking.Status.SUSPENDED
    assert not rules.booking_holds_line(booking=booking, slot=slot, now=slot.starts_at)


def test_an_unscheduled_call_takes_the_first_line_in_service_free_and_not_held(site):
    out, busy, held, free, later = (
        LineFactory(site=site, name=name, active=name != "A") for name in ("A", "B", "C", "D", "E")
    )
    lines = [out, busy, held, free, later]
    assert rules.line_for_unscheduled_call(lines, busy={busy.pk}, held={held.pk}) == free
    assert (
        rules.line_for_unscheduled_call(lines, busy={busy.pk, free.pk, later.pk}, held={held.pk})
        is None
    )


def test_the_start_page_and_the_service_agree_on_the_early_start(guard, line, contact, prisoner):
    booking = booked_slot(line=line, prisoner=prisoner, starts_in=11)
    now = timezone.now()
    with pytest.raises(CallError, match="not open now"):
        services.start_call(
            line=line, prisoner=prisoner, contact=contact, actor=guard, booking=booking, now=now
        )
    call = services.start_call(
        line=line,
        prisoner=prisoner,
        contact=contact,
        actor=guard,
        booking=booking,
        now=booking.slot.starts_at - rules.EARLY_START,
    )
    assert call.booking == booking


# --- Fewer steps: shortcuts, the make-up list, one contact ---------------------------


def test_the_keys_start_the_next_due_call_and_end_the_nearest_limit(guard_client, site):
    line_a, line_b, line_c = (LineFactory(site=site, name=f"L{n}") for n in "ABC")
    open_call(line=line_a, started=10)
    open_call(line=line_b, started=2)
    # Due first but its line is busy: the key skips to the first that may start.
    waiting = booked_slot(line=line_a, starts_in=-3)
    ready = booked_slot(line=line_c, starts_in=-2)

    response = guard_client.get(DESK)

    assert [row.booking for row in response.context["next_due"]] == [waiting, ready]
    assert response.context["start_next"].booking == ready
    content = response.content.decode()
    assert content.count('data-shortcut="KeyS"') == 1
    assert f'id="next-start-{ready.pk}" class="btn btn-primary no-print" href="' in content
    start_key = content.index('data-shortcut="KeyS"')
    assert content.rindex(f"?booking={ready.pk}", 0, start_key) > content.rindex("<a", 0, start_key)
    first_call = response.context["calls"][0]
    assert first_call.line == line_a
    end_key = content.index('data-shortcut="KeyE"')
    assert content.rindex(reverse("calls:call-end", args=[first_call.pk]), 0, end_key) > 0
    assert content.count('data-shortcut="KeyE"') == 1
    assert "when the call on its line has ended" in content
    assert "js/desk-keys.js" in content


def test_calls_in_progress_and_the_next_due_come_first_on_the_page(guard_client, site, line):
    call = open_call(line=line, started=3)
    ready = booked_slot(line=LineFactory(site=site, name="L2"), starts_in=-1)
    LineFactory(site=site, name="L3")  # Free for the make-up call.
    owed = PrisonerFactory(site=site)
    CallFactory(line=line, prisoner=owed, outcome=Call.Outcome.INTERRUPTED_BY_ALERT)

    content = guard_client.get(DESK).content.decode()

    main = content[content.index('id="main"') :]
    links = [
        main.index(f'<a id="call-end-{call.pk}"'),
        main.index(f'id="next-start-{ready.pk}"'),
        main.index(f'id="makeup-start-{owed.pk}"'),
        main.index(f'id="slot-start-{ready.pk}"'),
        main.index('id="siren"'),
        main.index('name="prisoner"'),
    ]
    assert links == sorted(links)
    # Nothing focusable comes before the call in progress (with scripts running).
    before = re.sub(r"<noscript>.*?</noscript>", "", main[: links[0]], flags=re.DOTALL)
    assert "<a " not in before and "<button" not in before and "<input" not in before


def test_the_make_up_list_starts_a_call_on_a_free_line(guard_client, site):
    busy = LineFactory(site=site, name="A")
    held = LineFactory(site=site, name="B")
    free = LineFactory(site=site, name="C")
    open_call(line=busy)
    booked_slot(line=held, starts_in=-1)
    owed = PrisonerFactory(site=site)
    contact = ContactFactory(prisoner=owed)
    CallFactory(line=free, prisoner=owed, outcome=Call.Outcome.INTERRUPTED_BY_ALERT)

    response = guard_client.get(DESK)

    assert response.context["makeup_line"] == free
    url = start_url(line=free.pk, prisoner=owed.isn).replace("&", "&amp;")
    assert f'href="{url}"' in response.content.decode()
    assert "Start call on C" in response.content.decode()
    page = guard_client.get(start_url(line=free.pk, prisoner=owed.isn))
    assert "make-up: does not count against the limits" in page.content.decode()
    guard_client.post(start_url(line=free.pk, prisoner=owed.isn), {"contact": contact.pk})
    call = Call.objects.in_progress().get(prisoner=owed)
    assert call.is_makeup and call.line == free


def test_the_make_up_list_says_why_no_call_can_start(guard_client, site, guard):
    line = LineFactory(site=site)
    owed = PrisonerFactory(site=site)
    CallFactory(line=line, prisoner=owed, outcome=Call.Outcome.INTERRUPTED_BY_ALERT)
    open_call(line=line)

    content = guard_client.get(DESK).content.decode()
    assert f'id="makeup-start-{owed.pk}"' not in content
    assert "Every line is busy or booked now" in content

    Call.objects.in_progress().update(ended_at=timezone.now(), outcome=Call.Outcome.BUSY)
    AirRaidAlert.objects.create(site=site, started_at=timezone.now(), started_by=guard)
    content = guard_client.get(DESK).content.decode()
    assert f'id="makeup-start-{owed.pk}"' not in content
    assert "Make-up calls can start after the all clear." in content


def test_a_single_approved_contact_is_chosen_already(guard_client, booking, contact):
    content = guard_client.get(start_url(booking=booking.pk)).content.decode()
    assert f'value="{contact.pk}"' in content
    radio = content[content.index(f'value="{contact.pk}"') :]
    assert "checked" in radio[: radio.index(">")]
    assert "only approved contact is chosen" in content
    assert 'type="submit" class="btn btn-primary btn-lg" autofocus' in content


def test_two_approved_contacts_leave_the_choice_to_the_guard(guard_client, booking, contact):
    ContactFactory(prisoner=booking.prisoner, name="Марія")
    content = guard_client.get(start_url(booking=booking.pk)).content.decode()
    assert "checked" not in content
    assert "autofocus" not in content


def test_lines_out_of_service_fold_away(guard_client, site):
    LineFactory(site=site, name="Working")
    LineFactory(site=site, name="Broken", active=False)

    response = guard_client.get(DESK)

    assert [d.line.name for d in response.context["lines_in_service"]] == ["Working"]
    assert [d.line.name for d in response.context["lines_out"]] == ["Broken"]
    content = response.content.decode()
    folded = content[content.index('<details id="lines-out-of-service"') :]
    assert "1 line out of service" in folded
    assert "Broken" in folded[: folded.index("</details>")]
    assert content.index("Working") < content.index('<details id="lines-out-of-service"')


# --- Feedback -------------------------------------------------------------------------


def test_empty_desk_says_what_to_do_next(guard_client, site):
    LineFactory(site=site)
    content = guard_client.get(DESK).content.decode()
    assert "No call in progress. Start the next due call" in content
    assert "Nobody else is booked in the coming hours." in content
    assert "an unscheduled call, at the foot of the page" in content
    assert "Nobody is owed a make-up call." in content


def test_the_siren_is_always_there_and_asks_first(guard_client, site, guard):
    content = guard_client.get(DESK).content.decode()
    siren = content[content.index('<div class="desk-siren') :]
    assert reverse("calls:alert-start") in siren
    assert 'data-confirm="Sound the air-raid alert?' in siren
    alert = AirRaidAlert.objects.create(site=site, started_at=timezone.now(), started_by=guard)
    content = guard_client.get(DESK_LIVE).content.decode()
    siren = content[content.index('<div class="desk-siren') :]
    assert reverse("calls:alert-end", args=[alert.pk]) in siren
    assert 'data-confirm="Give the all clear?' in siren
    assert reverse("calls:alert-start") not in content


def test_the_countdown_reads_as_a_duration(guard_client, site, line):
    call = open_call(line=line, started=3, limit=15)
    response = guard_client.get(DESK)
    countdown = response.context["calls"][0].countdown
    assert countdown.startswith("11 min ") and countdown.endswith(" s left")
    content = response.content.decode()
    assert 'data-label-duration-minutes="%(minutes)d min %(seconds)02d s"' in content
    assert "desk-countdown" in content
    late = open_call(line=LineFactory(site=site), started=17, limit=15)
    page = guard_client.get(reverse("calls:call-end", args=[late.pk])).content.decode()
    assert "over by 2 min" in page
    assert call.pk != late.pk


def test_the_end_page_starts_on_the_outcome_and_ends_with_ctrl_enter(guard_client, line):
    call = open_call(line=line)
    content = guard_client.get(reverse("calls:call-end", args=[call.pk])).content.decode()
    outcome = content[content.index('<select name="outcome"') :]
    assert "autofocus" in outcome[: outcome.index(">")]
    assert "data-submit-shortcut" in content
    assert 'aria-keyshortcuts="Control+Enter"' in content


# --- The desk keeps itself up to date -------------------------------------------------


def test_the_live_panels_show_what_another_terminal_did(guard_client, site, guard, line):
    page = guard_client.get(DESK).content.decode()
    assert f'data-refresh-url="{DESK_LIVE}"' in page
    assert 'data-refresh-seconds="5"' in page
    assert "js/desk-refresh.js" in page
    assert guard_client.get(DESK, {"day": "all"}).context["whole_day"]
    assert (
        f'data-refresh-url="{DESK_LIVE}?day=all"'
        in guard_client.get(DESK, {"day": "all"}).content.decode()
    )

    booking = booked_slot(line=line, starts_in=-1)
    AirRaidAlert.objects.create(site=site, started_at=timezone.now(), started_by=guard)
    response = guard_client.get(DESK_LIVE)

    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )
    content = response.content.decode()
    assert "<html" not in content and "<nav" not in content
    assert content.lstrip().startswith('<div class="desk-live" data-generated-at="')
    assert "Air-raid alert since" in content
    assert booking.prisoner.isn in content
    assert f"?booking={booking.pk}" not in content  # No call starts during an alert.


def test_the_live_panels_need_a_site(client, db):
    client.force_login(UserFactory(username="drifter", role="guard"))
    assert client.get(DESK_LIVE).status_code == 404


def test_the_live_panels_run_a_fixed_number_of_queries(
    guard_client, site, django_assert_max_num_queries
):
    guard_client.get(DESK_LIVE)  # Warm up the session.
    _populate(site, 5)
    with CaptureQueriesContext(connection) as few:
        guard_client.get(DESK_LIVE)
    _populate(site, 30)
    with django_assert_max_num_queries(len(few)):
        response = guard_client.get(DESK_LIVE)
    assert len(response.context["calls"]) == 35
    assert len(few) <= 14


@pytest.mark.parametrize("client_fixture", ["supervisor_client", "guard_client"])
def test_the_open_desk_keeps_the_session_alive(request, site, monkeypatch, client_fixture):
    """The idle limit is 30 minutes: the desk's refresh is a request like any other, so a
    desk left open never reaches it."""
    from django.conf import settings

    from camp.middleware import SessionTimeoutMiddleware as Timeout

    client = request.getfixturevalue(client_fixture)
    start = time.time()
    session = client.session
    session[Timeout.STARTED] = int(start) - 60 * 60
    session[Timeout.SEEN] = int(start) - 29 * 60
    session.save()

    clock = {"now": start}
    monkeypatch.setattr("camp.middleware.time.time", lambda: clock["now"])
    # The desk stays open for two hours: one refresh every few seconds, checked every
    # 25 minutes here; every one of them keeps the session.
    for _ in range(5):
        assert client.get(DESK_LIVE).status_code == 200
        assert client.session[Timeout.SEEN] == int(clock["now"])
        clock["now"] += 25 * 60
    assert settings.SESSION_IDLE_TIMEOUT > 25 * 60


def test_a_desk_left_without_refreshing_times_out(supervisor_client, site, monkeypatch):
    """The counter-check: the same idle time without the refresh ends a supervisor's
    session, and the refresh then answers with the log-in page's redirect, on which the
    page's script reloads."""
    from camp.middleware import SessionTimeoutMiddleware as Timeout

    session = supervisor_client.session
    session[Timeout.STARTED] = session[Timeout.SEEN] = int(time.time()) - 31 * 60
    session.save()
    response = supervisor_client.get(DESK_LIVE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
