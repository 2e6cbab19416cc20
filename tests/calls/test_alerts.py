"""Air-raid alerts: from siren to all clear, and the make-up calls they leave owed."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from calls import rules, selectors, services
from calls.models import AirRaidAlert, Booking, Call, CallPolicy
from calls.services import CallError
from tests.calls.test_desk import booked_slot, open_call
from tests.factories import (
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
)

MINUTE = datetime.timedelta(minutes=1)
DESK = reverse("calls:desk")


def _book(line, prisoner, start, minutes=15):
    slot = CallSlotFactory(line=line, starts_at=start, ends_at=start + minutes * MINUTE)
    return BookingFactory(slot=slot, prisoner=prisoner)


def _owed(site):
    return {prisoner.pk for prisoner in selectors.makeup_owed(site=site)}


def test_alert_from_siren_to_make_up_call(site, guard, supervisor):
    """Service level, on a fixed day in the middle of a month."""
    siren = datetime.datetime(2026, 3, 16, 12, 0, tzinfo=site.zone)
    CallPolicy.objects.create(
        site=site,
        effective_from=datetime.date(2020, 1, 1),
        max_calls_per_month=1,
        min_days_between=7,
    )
    line1, line2, line3 = (LineFactory(site=site, name=f"Line {n}") for n in (1, 2, 3))
    in_call, waiting, later, after, connected = (PrisonerFactory(site=site) for _ in range(5))
    contacts = {p.pk: ContactFactory(prisoner=p) for p in (in_call, waiting, connected)}
    # The prisoner in call already had this month's call.
    CallFactory(
        line=line3,
        prisoner=in_call,
        started_at=siren - 3 * 24 * 60 * MINUTE,
        ended_at=siren - 3 * 24 * 60 * MINUTE + 10 * MINUTE,
        outcome=Call.Outcome.CONNECTED,
    )
    in_call_booking = _book(line1, in_call, siren - 5 * MINUTE)
    waiting_booking = _book(line2, waiting, siren - 5 * MINUTE)
    later_booking = _book(line2, later, siren + 20 * MINUTE)
    after_booking = _book(line2, after, siren + 60 * MINUTE)
    # A call that connected before the siren has had its call; nothing is owed for it.
    connected_booking = _book(line3, connected, siren - 10 * MINUTE)
    CallFactory(
        line=line3,
        prisoner=connected,
        contact=contacts[connected.pk],
        booking=connected_booking,
        started_at=siren - 10 * MINUTE,
        ended_at=siren - MINUTE,
    )
    call = services.start_call(
        line=line1,
        prisoner=in_call,
        contact=contacts[in_call.pk],
        booking=in_call_booking,
        actor=guard,
        now=siren - 3 * MINUTE,
    )

    alert = services.start_alert(site=site, actor=guard, now=siren)

    call.refresh_from_db()
    assert call.outcome == Call.Outcome.INTERRUPTED_BY_ALERT
    assert call.ended_at == siren
    assert call.elapsed == 3 * MINUTE
    assert set(alert.suspended_slots.all()) == {
        in_call_booking.slot,
        waiting_booking.slot,
        connected_booking.slot,
    }
    with pytest.raises(CallError, match="air-raid alert is in progress"):
        services.start_call(
            line=line2,
            prisoner=waiting,
            contact=contacts[waiting.pk],
            actor=guard,
            now=siren + MINUTE,
        )

    services.end_alert(alert=alert, actor=supervisor, now=siren + 40 * MINUTE)

    statuses = {
        b.pk: b.status
        for b in Booking.objects.filter(
            pk__in=[
                in_call_booking.pk,
                waiting_booking.pk,
                later_booking.pk,
                after_booking.pk,
                connected_booking.pk,
            ]
        )
    }
    assert statuses == {
        in_call_booking.pk: Booking.Status.SUSPENDED,
        waiting_booking.pk: Booking.Status.SUSPENDED,
        later_booking.pk: Booking.Status.SUSPENDED,
        after_booking.pk: Booking.Status.BOOKED,
        connected_booking.pk: Booking.Status.BOOKED,
    }
    assert _owed(site) == {in_call.pk, waiting.pk, later.pk}
    owed_since = {p.pk: p.makeup_owed_since for p in selectors.makeup_owed(site=site)}
    assert owed_since[in_call.pk] == siren - 3 * MINUTE

    # The monthly maximum and the interval would refuse an ordinary call ...
    terms = rules.policy_terms(site, siren.date())
    refused = {r.rule for r in rules.refusals(prisoner=in_call, day=siren.date(), terms=terms)}
    assert refused >= {"max_calls_per_month", "min_days_between"}
    # ... but not the make-up call.
    makeup = services.start_call(
        line=line1,
        prisoner=in_call,
        contact=contacts[in_call.pk],
        actor=guard,
        now=siren + 50 * MINUTE,
    )
    assert makeup.is_makeup
    assert makeup.booking is None
    services.end_call(
        call=makeup, outcome=Call.Outcome.CONNECTED, actor=guard, now=siren + 55 * MINUTE
    )

    assert _owed(site) == {waiting.pk, later.pk}


def test_an_unanswered_make_up_call_leaves_the_prisoner_owed(site, guard):
    prisoner = PrisonerFactory(site=site)
    contact = ContactFactory(prisoner=prisoner)
    line = LineFactory(site=site)
    CallFactory(line=line, prisoner=prisoner, outcome=Call.Outcome.INTERRUPTED_BY_ALERT)
    call = services.start_call(line=line, prisoner=prisoner, contact=contact, actor=guard)
    services.end_call(call=call, outcome=Call.Outcome.NO_ANSWER, actor=guard)
    assert _owed(site) == {prisoner.pk}


def test_siren_and_all_clear_at_the_desk(guard_client, administrator_client, site):
    line_a, line_b = LineFactory(site=site, name="Line A"), LineFactory(site=site, name="Line B")
    waiting = booked_slot(line=line_a, starts_in=-5)
    call = open_call(line=line_b, started=3)

    response = guard_client.post(reverse("calls:alert-start"), follow=True)

    content = response.content.decode()
    assert response.redirect_chain[-1][0] == DESK
    assert "Air-raid alert sounded at" in content
    assert "1 call in progress was interrupted." in content
    assert "1 slot suspended so far." in content
    alert = AirRaidAlert.objects.get()
    assert reverse("calls:alert-end", args=[alert.pk]) in content
    assert reverse("calls:alert-start") not in content
    assert f"?booking={waiting.pk}" not in content
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.INTERRUPTED_BY_ALERT
    assert 3 * MINUTE <= call.elapsed < 4 * MINUTE
    waiting.refresh_from_db()
    assert waiting.status == Booking.Status.SUSPENDED
    owed = {p.pk for p in response.context["makeup"]}
    assert owed == {call.prisoner_id, waiting.prisoner_id}

    # Any staff role gives the all clear.
    response = administrator_client.post(reverse("calls:alert-end", args=[alert.pk]), follow=True)

    content = response.content.decode()
    assert "All clear at" in content
    assert re.search(r"the alert lasted \d+ min \d\d s\.", content)
    assert "1 slot was suspended by it." in content
    assert "1 booking was suspended; its prisoner is owed a make-up call." in content
    assert reverse("calls:alert-start") in content
    alert.refresh_from_db()
    assert alert.ended_at is not None


def test_a_second_siren_changes_nothing(guard_client, supervisor_client, site):
    guard_client.post(reverse("calls:alert-start"))
    response = supervisor_client.post(reverse("calls:alert-start"), follow=True)
    assert "already in progress" in response.content.decode()
    assert AirRaidAlert.objects.count() == 1


def test_a_second_all_clear_changes_nothing(guard_client, site, guard):
    alert = services.start_alert(site=site, actor=guard)
    url = reverse("calls:alert-end", args=[alert.pk])
    guard_client.post(url)
    ended_at = AirRaidAlert.objects.get().ended_at
    response = guard_client.post(url, follow=True)
    assert "already ended" in response.content.decode()
    assert AirRaidAlert.objects.get().ended_at == ended_at


def test_guard_starts_the_make_up_call_at_the_desk(guard_client, site, guard):
    CallPolicy.objects.create(
        site=site, effective_from=datetime.date(2020, 1, 1), max_calls_per_month=0
    )
    line = LineFactory(site=site)
    prisoner = PrisonerFactory(site=site)
    contact = ContactFactory(prisoner=prisoner)
    CallFactory(
        line=line,
        prisoner=prisoner,
        contact=contact,
        started_at=timezone.now() - 60 * MINUTE,
        ended_at=timezone.now() - 58 * MINUTE,
        outcome=Call.Outcome.INTERRUPTED_BY_ALERT,
    )
    url = f"{reverse('calls:call-start')}?line={line.pk}&prisoner={prisoner.isn}"
    assert "does not count against the limits" in guard_client.get(url).content.decode()

    response = guard_client.post(url, {"contact": contact.pk})

    assert response.status_code == 302
    call = Call.objects.in_progress().get()
    assert call.is_makeup
    guard_client.post(reverse("calls:call-end", args=[call.pk]), {"outcome": "connected"})
    assert _owed(site) == set()
