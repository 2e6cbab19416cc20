"""Promises of the call rules at their edges: a suspension's last day, and the camp
defaults when a site has no call policy (with another site's policy beside it)."""

import datetime

import pytest
from django.urls import reverse

from calls import services
from calls.models import Booking, CallPolicy, Outcome, Suspension
from calls.services import CallError
from tests.factories import BookingFactory, CallSlotFactory, ContactFactory, LineFactory

MONDAY = datetime.date(2026, 3, 2)
DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)


def at(site, day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=site.zone)


@pytest.fixture
def prisoner(site, supervisor):
    return ContactFactory(prisoner__site=site, requested_by=supervisor).prisoner


@pytest.fixture
def line(site):
    return LineFactory(site=site, name="Line 1")


# --- A suspension's last day -----------------------------------------------------------


@pytest.mark.parametrize(
    "time_zone",
    [
        "Europe/Kyiv",
        # West of UTC: late evening at the site is already the next day in UTC.
        "America/New_York",
    ],
)
def test_a_suspension_cancels_a_booking_on_its_last_day(
    site, line, prisoner, supervisor, time_zone
):
    site.time_zone = time_zone
    site.save(update_fields=["time_zone"])
    first_day = site.today() + 2 * DAY
    last_day = first_day + 2 * DAY

    def booking_at(day, hour, minute):
        starts_at = at(site, day, hour, minute)
        slot = CallSlotFactory(line=line, starts_at=starts_at, ends_at=starts_at + 15 * MINUTE)
        return BookingFactory(slot=slot, prisoner=prisoner, booked_by=supervisor)

    bookings = {
        "the evening before": booking_at(first_day - DAY, 23, 30),
        "the first morning": booking_at(first_day, 0, 0),
        "the last evening": booking_at(last_day, 23, 30),
        "the morning after": booking_at(last_day + DAY, 0, 0),
    }

    suspension = services.suspend_calls(
        prisoner=prisoner,
        reason=Suspension.Reason.MEDICAL,
        authority="Camp doctor",
        document_reference="",
        starts_on=first_day,
        ends_on=last_day,
        actor=supervisor,
    )

    statuses = {
        when: Booking.objects.get(pk=booking.pk).status for when, booking in bookings.items()
    }
    assert statuses == {
        "the evening before": Booking.Status.BOOKED,
        "the first morning": Booking.Status.CANCELLED,
        "the last evening": Booking.Status.CANCELLED,
        "the morning after": Booking.Status.BOOKED,
    }
    assert suspension.cancelled_bookings == 2


# --- The camp defaults -----------------------------------------------------------------


@pytest.fixture
def other_sites_policy(other_site):
    """Another site's policy, different in every term: none of it may apply here."""
    return CallPolicy.objects.create(
        site=other_site,
        effective_from=datetime.date(2020, 1, 1),
        calls_open=False,
        max_minutes=5,
        min_days_between=0,
        max_calls_per_month=1,
        guards_may_book=True,
    )


def _book(site, line, prisoner, actor, day):
    slot = CallSlotFactory(line=line, starts_at=at(site, day))
    return services.book_slot(slot=slot, prisoner=prisoner, actor=actor, now=at(site, MONDAY, 7))


def test_a_call_without_a_policy_gets_the_default_fifteen_minutes(
    site, line, prisoner, guard, other_sites_policy
):
    started = at(site, MONDAY)
    call = services.start_call(
        line=line, prisoner=prisoner, contact=prisoner.contacts.get(), actor=guard, now=started
    )
    assert call.policy is None
    assert call.deadline == started + 15 * MINUTE


def test_without_a_policy_only_supervisors_book(site, line, prisoner, guard, other_sites_policy):
    with pytest.raises(CallError, match="only supervisors"):
        _book(site, line, prisoner, guard, MONDAY)
    assert not Booking.objects.exists()


def test_without_a_policy_calls_are_seven_days_apart_and_four_a_month(
    site, line, prisoner, guard, supervisor, other_sites_policy
):
    call = services.start_call(
        line=line,
        prisoner=prisoner,
        contact=prisoner.contacts.get(),
        actor=guard,
        now=at(site, MONDAY, 9),
    )
    services.end_call(
        call=call, outcome=Outcome.CONNECTED, actor=guard, now=at(site, MONDAY, 9, 10)
    )

    with pytest.raises(CallError) as caught:
        _book(site, line, prisoner, supervisor, MONDAY + 6 * DAY)
    refused = " ".join(caught.value.messages)
    assert "the policy asks 7 days between calls" in refused
    assert "Eligible from 09.03.2026" in refused

    # One connected call and three live bookings make the four of the month.
    for week in (1, 2, 3):
        assert _book(site, line, prisoner, supervisor, MONDAY + 7 * week * DAY).pk

    with pytest.raises(CallError) as caught:
        _book(site, line, prisoner, supervisor, MONDAY + 28 * DAY)
    refused = " ".join(caught.value.messages)
    assert "The policy allows 4 calls a month; 4 are made or booked." in refused
    assert "Eligible from 01.04.2026" in refused
    assert Booking.objects.count() == 3


def test_the_schedule_states_the_defaults_when_the_site_has_no_policy(
    supervisor_client, site, other_sites_policy
):
    page = supervisor_client.get(reverse("calls:schedule")).content.decode()
    assert "the camp defaults apply" in page
    assert "15 minutes a call, 7 days between connected calls, 4 calls a month" in page
