"""Every desk panel and every alert effect stays within its site, with a second site present.

The scenes are built through the services, as the desk builds them: a make-up debt
is a call cut off by a real siren, so these tests hold however the debt is stored.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from calls import services
from calls.models import Booking, Call, Suspension
from camp.roles import Role
from tests.factories import (
    BookingFactory,
    CallSlotFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
    UserFactory,
)

MINUTE = datetime.timedelta(minutes=1)
DESK = reverse("calls:desk")


@pytest.fixture
def other_guard(other_site):
    return UserFactory(username="south-guard", role=Role.GUARD, sites=[other_site])


@pytest.fixture
def other_guard_client(other_guard, client_class):
    client = client_class()
    client.force_login(other_guard)
    return client


def _eligible(site, staff, surname):
    prisoner = PrisonerFactory(site=site, surname=surname)
    return prisoner, ContactFactory(prisoner=prisoner, requested_by=staff)


def _slot_now(line):
    """A slot on ``line`` that started five minutes ago."""
    starts_at = (timezone.now() - 5 * MINUTE).replace(microsecond=0)
    return CallSlotFactory(line=line, starts_at=starts_at, ends_at=starts_at + 15 * MINUTE)


def _desk_scene(site, staff, prefix):
    """At ``site``: a call in progress, a prisoner owed a make-up call, a booked slot
    later today and a suspension in force; returns the prisoners by what they show."""
    on_call, on_call_contact = _eligible(site, staff, f"{prefix}Дзвонишин")
    owed, owed_contact = _eligible(site, staff, f"{prefix}Перерваний")
    booked = PrisonerFactory(site=site, surname=f"{prefix}Записаний")
    suspended = PrisonerFactory(site=site, surname=f"{prefix}Зупинений")
    first = LineFactory(site=site, name=f"{prefix} line 1")
    second = LineFactory(site=site, name=f"{prefix} line 2")
    # The make-up debt: a call cut off by a siren, and no connected call since.
    services.start_call(line=second, prisoner=owed, contact=owed_contact, actor=staff)
    alert = services.start_alert(site=site, actor=staff)
    services.end_alert(alert=alert, actor=staff)
    services.start_call(line=first, prisoner=on_call, contact=on_call_contact, actor=staff)
    later = (timezone.now() + 60 * MINUTE).replace(second=0, microsecond=0)
    BookingFactory(
        slot=CallSlotFactory(line=second, starts_at=later, ends_at=later + 15 * MINUTE),
        prisoner=booked,
        booked_by=staff,
    )
    services.suspend_calls(
        prisoner=suspended,
        reason=Suspension.Reason.MEDICAL,
        authority="Camp doctor",
        document_reference="",
        starts_on=site.today(),
        ends_on=site.today() + datetime.timedelta(days=3),
        actor=staff,
    )
    return {
        "call in progress": (on_call, on_call_contact.phone_number),
        "owed a make-up call": (owed, owed.isn),
        "booked today": (booked, booked.isn),
        "suspended today": (suspended, suspended.isn),
    }


def test_the_desk_lists_only_its_own_sites_calls_debts_bookings_and_suspensions(
    guard_client, guard, site, other_site, other_guard
):
    own = _desk_scene(site, guard, "North")
    other = _desk_scene(other_site, other_guard, "South")

    page = guard_client.get(DESK).content.decode()

    for panel, (prisoner, detail) in own.items():
        assert prisoner.surname in page, f"the desk misses its own prisoner {panel}"
        assert detail in page, panel
    for panel, (prisoner, detail) in other.items():
        assert prisoner.surname not in page, f"another site's prisoner {panel} is listed"
        assert prisoner.isn not in page, panel
        assert detail not in page, panel
    assert "North line 1" in page
    assert "South line" not in page


def test_the_other_sites_desk_shows_its_own_scene(
    other_guard_client, guard, site, other_site, other_guard
):
    """The same check from the second site's side: the filter is the user's site,
    not whichever site was made first."""
    own = _desk_scene(other_site, other_guard, "South")
    other = _desk_scene(site, guard, "North")

    page = other_guard_client.get(DESK).content.decode()

    for panel, (prisoner, _detail) in own.items():
        assert prisoner.surname in page, f"the desk misses its own prisoner {panel}"
    for panel, (prisoner, _detail) in other.items():
        assert prisoner.surname not in page, f"another site's prisoner {panel} is listed"


def test_an_alert_at_one_site_leaves_the_other_sites_calls_and_slots_alone(
    guard, site, other_site, other_guard, other_guard_client
):
    scene = {}
    for where, staff in ((site, guard), (other_site, other_guard)):
        caller, contact = _eligible(where, staff, "Дзвонишин")
        call = services.start_call(
            line=LineFactory(site=where), prisoner=caller, contact=contact, actor=staff
        )
        waiting, _contact = _eligible(where, staff, "Чекаленко")
        booking = BookingFactory(slot=_slot_now(LineFactory(site=where)), prisoner=waiting)
        scene[where.pk] = (call, booking)

    alert = services.start_alert(site=site, actor=guard)
    services.end_alert(alert=alert, actor=guard)

    own_call = Call.objects.get(pk=scene[site.pk][0].pk)
    own_booking = Booking.objects.select_related("slot").get(pk=scene[site.pk][1].pk)
    assert own_call.outcome == Call.Outcome.INTERRUPTED_BY_ALERT
    assert own_booking.status == Booking.Status.SUSPENDED
    assert own_booking.slot.suspended_by == alert

    other_call = Call.objects.get(pk=scene[other_site.pk][0].pk)
    other_booking = Booking.objects.select_related("slot").get(pk=scene[other_site.pk][1].pk)
    assert other_call.ended_at is None
    assert other_call.outcome == ""
    assert other_booking.status == Booking.Status.BOOKED
    assert other_booking.slot.suspended_by is None
    # The other site's desk: its call still running, nobody owed a make-up call.
    page = other_guard_client.get(DESK).content.decode()
    assert reverse("calls:call-end", args=[other_call.pk]) in page
    assert "Nobody is owed a make-up call." in page
    assert reverse("calls:alert-start") in page


def test_an_alert_at_another_site_neither_shows_nor_stops_calls_here(
    guard_client, guard, site, other_site, other_guard
):
    alert = services.start_alert(site=other_site, actor=other_guard)
    caller, contact = _eligible(site, guard, "Дзвонишин")

    page = guard_client.get(DESK).content.decode()
    call = services.start_call(
        line=LineFactory(site=site), prisoner=caller, contact=contact, actor=guard
    )

    assert reverse("calls:alert-start") in page
    assert reverse("calls:alert-end", args=[alert.pk]) not in page
    assert "Air-raid alert since" not in page
    assert call.is_open
