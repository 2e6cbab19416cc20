"""The bookings page: a day's slots, booking a prisoner, refusals and overrides, cancelling."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calls.models import AirRaidAlert, Booking, CallPolicy, Outcome, Suspension
from camp.models import AuditEntry
from prisoners.models import Contact, Prisoner
from tests.factories import (
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
)

DAY = datetime.timedelta(days=1)


def at(site, day, hour=10, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=site.zone)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def refusal_text(response):
    return " ".join(response.context["form"].non_field_errors())


@pytest.fixture
def tomorrow(site):
    return site.today() + DAY


@pytest.fixture
def line(site):
    return LineFactory(site=site, name="Line 1")


@pytest.fixture
def slot(line, tomorrow):
    return CallSlotFactory(line=line, starts_at=at(line.site, tomorrow, 10))


@pytest.fixture
def prisoner(site, supervisor):
    prisoner = PrisonerFactory(site=site, surname="Шевченко", first_names="Тарас")
    ContactFactory(prisoner=prisoner, requested_by=supervisor)
    return prisoner


def book(client, slot, isn, **data):
    return client.post(reverse("calls:slot-book", args=[slot.pk]), {"isn": isn, **data})


def list_url(day):
    return f"{reverse('calls:booking-list')}?day={day.isoformat()}"


# --- The day's slots ------------------------------------------------------------------


def test_booking_list_shows_today_by_default(site, supervisor_client):
    response = supervisor_client.get(reverse("calls:booking-list"))
    assert response.status_code == 200
    assert response.context["day"] == site.today()
    assert "There are no slots on this day." in response.content.decode()


def test_booking_list_shows_slots_by_line_with_bookings(
    site, supervisor, supervisor_client, line, slot, prisoner, tomorrow
):
    other_line = LineFactory(site=site, name="Line 2")
    free = CallSlotFactory(line=other_line, starts_at=at(site, tomorrow, 11))
    BookingFactory(slot=slot, prisoner=prisoner, booked_by=supervisor)
    CallSlotFactory(line=line, starts_at=at(site, tomorrow + DAY, 10))  # another day
    response = supervisor_client.get(list_url(tomorrow))
    sheet = response.context["sheet"]
    assert [(line.name, [s.pk for s in slots]) for line, slots in sheet] == [
        ("Line 1", [slot.pk]),
        ("Line 2", [free.pk]),
    ]
    html = response.content.decode()
    assert "Шевченко Тарас Іванович" in html and prisoner.isn in html
    assert "free" in html
    assert reverse("calls:slot-book", args=[free.pk]) in html
    assert reverse("calls:slot-book", args=[slot.pk]) not in html


def test_cancelled_booking_does_not_hold_the_slot(
    site, supervisor, supervisor_client, slot, prisoner, tomorrow
):
    BookingFactory(
        slot=slot,
        prisoner=prisoner,
        booked_by=supervisor,
        status=Booking.Status.CANCELLED,
        cancel_reason="Moved.",
    )
    response = supervisor_client.get(list_url(tomorrow))
    (_line, (shown,)) = response.context["sheet"][0]
    assert shown.booking is None
    assert reverse("calls:slot-book", args=[slot.pk]) in response.content.decode()


def test_past_suspended_and_out_of_service_slots_cannot_be_booked(
    site, supervisor, supervisor_client, line
):
    now = timezone.now()
    past = CallSlotFactory(line=line, starts_at=now - datetime.timedelta(hours=2))
    alert = AirRaidAlert.objects.create(
        site=site, started_at=now - datetime.timedelta(hours=1), started_by=supervisor
    )
    suspended = CallSlotFactory(
        line=line, starts_at=now + datetime.timedelta(hours=3), suspended_by=alert
    )
    closed_line = LineFactory(site=site, active=False)
    out_of_service = CallSlotFactory(line=closed_line, starts_at=now + datetime.timedelta(hours=3))
    days = {
        slot.starts_at.astimezone(site.zone).date() for slot in (past, suspended, out_of_service)
    }
    html = "".join(supervisor_client.get(list_url(day)).content.decode() for day in days)
    for slot in (past, suspended, out_of_service):
        assert reverse("calls:slot-book", args=[slot.pk]) not in html
    assert "Suspended by air-raid alert" in html
    assert "Out of service" in html


@pytest.mark.parametrize("value", ["yesterday", "2026-02-30", "9999-12-31", "0001-01-01"])
def test_unusable_day_shows_today_with_a_message(site, supervisor_client, value):
    response = supervisor_client.get(reverse("calls:booking-list"), {"day": value})
    assert response.status_code == 200
    assert response.context["day"] == site.today()
    assert f"“{value}” is not a usable date; showing today." in messages_of(response)


def test_booking_list_runs_the_same_queries_for_5_or_50_slots(
    site, supervisor, supervisor_client, line, tomorrow
):
    def fill(numbers):
        start = at(site, tomorrow, 8)
        for n in numbers:
            slot = CallSlotFactory(line=line, starts_at=start + n * datetime.timedelta(minutes=15))
            if n % 2:
                prisoner = PrisonerFactory(site=site)
                BookingFactory(slot=slot, prisoner=prisoner, booked_by=supervisor)

    fill(range(5))
    with CaptureQueriesContext(connection) as five:
        supervisor_client.get(list_url(tomorrow))
    fill(range(5, 50))
    with CaptureQueriesContext(connection) as fifty:
        response = supervisor_client.get(list_url(tomorrow))
    assert sum(len(slots) for _line, slots in response.context["sheet"]) == 50
    assert len(fifty) == len(five)


# --- Booking a slot -------------------------------------------------------------------


def test_booking_form_offers_the_override_only_to_supervisors(
    site, supervisor_client, guard_client, slot
):
    CallPolicy.objects.create(site=site, effective_from=site.today(), guards_may_book=True)
    url = reverse("calls:slot-book", args=[slot.pk])
    assert "override_reason" in supervisor_client.get(url).context["form"].fields
    assert "override_reason" not in guard_client.get(url).context["form"].fields


def test_supervisor_books_a_prisoner_by_isn(
    site, supervisor, supervisor_client, slot, prisoner, tomorrow
):
    response = book(supervisor_client, slot, f" {prisoner.isn.lower()} ")
    assert response.status_code == 302
    assert response.url == list_url(tomorrow)
    booking = Booking.objects.get()
    assert (booking.slot, booking.prisoner, booking.booked_by) == (slot, prisoner, supervisor)
    assert booking.override_reason == ""
    response = supervisor_client.get(response.url)
    assert f"Шевченко Тарас Іванович ({prisoner.isn}) booked on Line 1 at 10:00." in messages_of(
        response
    )
    assert AuditEntry.objects.filter(action="calls.booking.created", actor=supervisor).exists()


@pytest.mark.parametrize("isn", ["", "NO-SUCH-1"])
def test_unknown_isn_is_refused(supervisor_client, slot, isn):
    response = book(supervisor_client, slot, isn)
    assert response.status_code == 200
    assert response.context["form"].errors["isn"]
    assert not Booking.objects.exists()


def test_prisoner_of_another_site_cannot_be_booked(supervisor_client, slot, other_site):
    stranger = PrisonerFactory(site=other_site)
    response = book(supervisor_client, slot, stranger.isn)
    assert "No prisoner with ISN" in " ".join(response.context["form"].errors["isn"])
    assert not Booking.objects.exists()


def test_booked_slot_is_refused(site, supervisor, supervisor_client, slot, prisoner):
    BookingFactory(slot=slot, prisoner=PrisonerFactory(site=site), booked_by=supervisor)
    response = book(supervisor_client, slot, prisoner.isn)
    assert "This slot is already booked." in refusal_text(response)
    assert Booking.objects.count() == 1


def test_slot_that_is_over_is_refused(supervisor_client, line, prisoner):
    over = CallSlotFactory(line=line, starts_at=timezone.now() - datetime.timedelta(hours=1))
    response = book(supervisor_client, over, prisoner.isn)
    assert "This slot is over." in refusal_text(response)
    assert not Booking.objects.exists()


def _not_interned(site, prisoner, supervisor, tomorrow):
    Prisoner.objects.filter(pk=prisoner.pk).update(status=Prisoner.Status.TRANSFERRED)
    return "The prisoner is not interned (status: Transferred)."


def _no_contact(site, prisoner, supervisor, tomorrow):
    Contact.objects.filter(prisoner=prisoner).update(
        status=Contact.Status.REVOKED, revoke_reason="Number no longer in use."
    )
    return "The prisoner has no approved contact."


def _suspended(site, prisoner, supervisor, tomorrow):
    Suspension.objects.create(
        prisoner=prisoner,
        reason=Suspension.Reason.SECURITY_INVESTIGATION,
        authority="Investigator Koval",
        starts_on=site.today(),
        ends_on=tomorrow + 3 * DAY,
        created_by=supervisor,
    )
    return (
        "Calls are suspended (Security investigation, Investigator Koval). "
        f"Eligible from {(tomorrow + 4 * DAY):%d.%m.%Y}."
    )


def _calls_closed(site, prisoner, supervisor, tomorrow):
    CallPolicy.objects.create(site=site, effective_from=site.today(), calls_open=False)
    return "The call programme is closed at this site."


def _too_soon(site, prisoner, supervisor, tomorrow):
    CallPolicy.objects.create(site=site, effective_from=site.today() - 40 * DAY)
    contact = prisoner.contacts.get()
    CallFactory(
        site=site,
        line=LineFactory(site=site),
        prisoner=prisoner,
        contact=contact,
        monitor=supervisor,
        started_at=at(site, tomorrow - 3 * DAY),
    )
    last = tomorrow - 3 * DAY
    return (
        f"The last connected call was on {last:%d.%m.%Y}; the policy asks 7 days between "
        f"calls. Eligible from {(last + 7 * DAY):%d.%m.%Y}."
    )


def _monthly_maximum(site, prisoner, supervisor, tomorrow):
    CallPolicy.objects.create(
        site=site, effective_from=site.today(), min_days_between=0, max_calls_per_month=1
    )
    other = CallSlotFactory(line=LineFactory(site=site), starts_at=at(site, tomorrow, 15))
    BookingFactory(slot=other, prisoner=prisoner, booked_by=supervisor)
    next_month = (tomorrow.replace(day=1) + 32 * DAY).replace(day=1)
    return (
        "The policy allows 1 calls a month; 1 are made or booked. "
        f"Eligible from {next_month:%d.%m.%Y}."
    )


REFUSALS = {
    "not_interned": (_not_interned, False),
    "no_contact": (_no_contact, False),
    "suspended": (_suspended, False),
    "calls_closed": (_calls_closed, True),
    "min_days_between": (_too_soon, True),
    "max_calls_per_month": (_monthly_maximum, True),
}


@pytest.mark.parametrize("rule", REFUSALS)
def test_refusal_names_the_rule_and_when_the_prisoner_is_eligible(
    site, supervisor, supervisor_client, slot, prisoner, tomorrow, rule
):
    arrange, overridable = REFUSALS[rule]
    expected = arrange(site, prisoner, supervisor, tomorrow)
    before = Booking.objects.count()
    response = book(supervisor_client, slot, prisoner.isn)
    assert response.status_code == 200
    text = refusal_text(response)
    assert expected in text
    assert response.context["override_may_help"] is overridable
    assert response.context["override_cannot_help"] is not overridable
    assert ("give a reason for the override" in text) is overridable
    assert Booking.objects.count() == before
    assert not AuditEntry.objects.filter(action="calls.booking.created").exists()


@pytest.mark.parametrize("rule", [rule for rule, (_f, ok) in REFUSALS.items() if ok])
def test_supervisor_overrides_a_policy_refusal_with_a_reason(
    site, supervisor, supervisor_client, slot, prisoner, tomorrow, rule
):
    REFUSALS[rule][0](site, prisoner, supervisor, tomorrow)
    response = book(supervisor_client, slot, prisoner.isn, override_reason="Mother is dying.")
    assert response.status_code == 302
    booking = Booking.objects.get(slot=slot)
    assert booking.override_reason == "Mother is dying."
    entry = AuditEntry.objects.get(action="calls.booking.created", target_id=str(booking.pk))
    assert entry.data["overridden"] == [rule]
    assert entry.data["override_reason"] == "Mother is dying."
    assert "overriding the call policy" in messages_of(supervisor_client.get(response.url))[0]


@pytest.mark.parametrize("rule", [rule for rule, (_f, ok) in REFUSALS.items() if not ok])
def test_override_cannot_lift_the_prisoners_own_state(
    site, supervisor, supervisor_client, slot, prisoner, tomorrow, rule
):
    REFUSALS[rule][0](site, prisoner, supervisor, tomorrow)
    response = book(supervisor_client, slot, prisoner.isn, override_reason="Please.")
    assert response.status_code == 200
    assert not Booking.objects.filter(slot=slot).exists()


def test_override_page_keeps_the_isn_and_points_at_the_reason(
    site, supervisor, supervisor_client, slot, prisoner, tomorrow
):
    _calls_closed(site, prisoner, supervisor, tomorrow)
    html = book(supervisor_client, slot, prisoner.isn).content.decode()
    assert f'value="{prisoner.isn}"' in html
    assert "Book, overriding the policy" in html


def test_guard_cannot_override_even_when_guards_may_book(
    site, supervisor, guard_client, slot, prisoner, tomorrow
):
    CallPolicy.objects.create(
        site=site, effective_from=site.today() - 40 * DAY, guards_may_book=True
    )
    CallFactory(
        site=site,
        line=LineFactory(site=site),
        prisoner=prisoner,
        contact=prisoner.contacts.get(),
        monitor=supervisor,
        started_at=at(site, tomorrow - 2 * DAY),
    )
    response = book(guard_client, slot, prisoner.isn, override_reason="I say so.")
    assert response.status_code == 200
    assert "7 days between calls" in refusal_text(response)
    assert response.context["override_may_help"] is False
    assert not Booking.objects.exists()


def test_guard_books_when_the_policy_allows(site, guard, guard_client, slot, prisoner):
    CallPolicy.objects.create(site=site, effective_from=site.today(), guards_may_book=True)
    assert book(guard_client, slot, prisoner.isn).status_code == 302
    assert Booking.objects.get().booked_by == guard


def test_makeup_booking_is_marked(site, supervisor, supervisor_client, slot, prisoner, tomorrow):
    CallFactory(
        site=site,
        line=LineFactory(site=site),
        prisoner=prisoner,
        contact=prisoner.contacts.get(),
        monitor=supervisor,
        started_at=at(site, site.today() - DAY),
        outcome=Outcome.INTERRUPTED_BY_ALERT,
    )
    book(supervisor_client, slot, prisoner.isn)
    assert Booking.objects.get().is_makeup
    assert "make-up" in supervisor_client.get(list_url(tomorrow)).content.decode()


# --- Cancelling -----------------------------------------------------------------------


@pytest.fixture
def booking(supervisor, slot, prisoner):
    return BookingFactory(slot=slot, prisoner=prisoner, booked_by=supervisor)


def test_supervisor_cancels_a_booking_with_a_reason(
    supervisor, supervisor_client, booking, tomorrow
):
    response = supervisor_client.post(
        reverse("calls:booking-cancel", args=[booking.pk]), {"reason": " Prisoner in hospital "}
    )
    assert response.url == list_url(tomorrow)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.cancel_reason == "Prisoner in hospital"
    entry = AuditEntry.objects.get(action="calls.booking.cancelled")
    assert (entry.actor, entry.data["reason"]) == (supervisor, "Prisoner in hospital")
    response = supervisor_client.get(response.url)
    assert "cancelled; the slot is free again" in messages_of(response)[0]
    assert reverse("calls:slot-book", args=[booking.slot.pk]) in response.content.decode()


def test_a_booking_with_a_call_is_not_offered_for_cancelling(supervisor_client, site, line):
    today = site.today()
    slot = CallSlotFactory(line=line, starts_at=at(site, today, 0, 1))
    booking = BookingFactory(slot=slot, prisoner=PrisonerFactory(site=site))
    CallFactory(line=line, prisoner=booking.prisoner, booking=booking, started_at=slot.starts_at)
    content = supervisor_client.get(list_url(today)).content.decode()
    assert booking.prisoner.isn in content
    assert reverse("calls:booking-cancel", args=[booking.pk]) not in content


@pytest.mark.parametrize("data", [{}, {"reason": ""}, {"reason": "   "}])
def test_cancel_without_reason_changes_nothing(supervisor_client, booking, tomorrow, data):
    response = supervisor_client.post(
        reverse("calls:booking-cancel", args=[booking.pk]), data, follow=True
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.BOOKED
    assert "Give the reason for cancelling; the booking stands." in messages_of(response)
    assert not AuditEntry.objects.exists()


def test_cancelling_twice_is_refused_with_a_message(supervisor_client, booking):
    url = reverse("calls:booking-cancel", args=[booking.pk])
    supervisor_client.post(url, {"reason": "Moved."})
    response = supervisor_client.post(url, {"reason": "Again."}, follow=True)
    assert "Only a live booking can be cancelled." in messages_of(response)
    assert AuditEntry.objects.filter(action="calls.booking.cancelled").count() == 1
