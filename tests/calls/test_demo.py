"""The demo data of the call room, on a small site."""

import datetime
import itertools
import random

import pytest
from django.db.models import Count, F

from calls import rules, selectors
from calls.demo import seed_calls
from calls.models import (
    AirRaidAlert,
    Booking,
    Call,
    CallPolicy,
    CallSlot,
    Line,
    Outcome,
    ScheduleWindow,
    Suspension,
)
from tests.factories import ContactFactory, PrisonerFactory

WEEKS = 12


@pytest.fixture
def seeded(site, supervisor, guard):
    arrived = site.today() - datetime.timedelta(days=200)
    for _n in range(20):
        prisoner = PrisonerFactory(
            site=site, arrived_on=arrived, captured_on=arrived - datetime.timedelta(days=3)
        )
        ContactFactory(prisoner=prisoner, requested_by=supervisor)
    return seed_calls(site=site, actor=supervisor, random=random.Random(7), weeks=WEEKS)


def test_demo_sets_up_lines_schedule_policy_and_slots(site, seeded):
    assert list(Line.objects.filter(site=site).values_list("name", flat=True)) == [
        "Line 1",
        "Line 2",
    ]
    weekdays = set(ScheduleWindow.objects.values_list("weekday", flat=True))
    assert weekdays == set(range(7))  # open every day: the demo desk is never empty
    today = site.today()
    assert CallPolicy.objects.in_force(site, today) is not None
    assert CallPolicy.objects.filter(site=site).count() == 2
    first = site.day_start(today - datetime.timedelta(weeks=WEEKS))
    slots = CallSlot.objects.filter(line__site=site)
    assert slots.filter(starts_at__lt=first + datetime.timedelta(days=7)).exists()
    assert slots.filter(starts_at__gte=site.day_start(today + datetime.timedelta(days=8))).exists()
    assert seeded["slots"] == slots.count()


def test_demo_history_grows_rarer_week_by_week(site, seeded):
    today = site.today()
    start = today - datetime.timedelta(weeks=WEEKS)
    per_week = [0] * WEEKS
    for started_at in Call.objects.values_list("started_at", flat=True):
        per_week[(started_at.astimezone(site.zone).date() - start).days // 7] += 1
    assert sum(per_week[:4]) > 2 * sum(per_week[-4:])
    assert sum(per_week[-4:]) > 0
    assert seeded["calls"] == Call.objects.count()


def test_demo_calls_are_closed_consistent_and_varied(site, seeded):
    calls = Call.objects.all()
    assert not calls.filter(ended_at__isnull=True).exists()
    assert not calls.filter(ended_at__lt=F("started_at")).exists()
    assert all(call.elapsed == call.ended_at - call.started_at for call in calls)
    outcomes = set(calls.values_list("outcome", flat=True))
    assert {Outcome.CONNECTED, Outcome.INTERRUPTED_BY_ALERT} <= outcomes
    assert outcomes & {Outcome.NO_ANSWER, Outcome.BUSY}
    assert calls.filter(flagged=True).exists()
    # Every call dialled one of the prisoner's contacts, on a line, inside its booked slot.
    assert not calls.exclude(contact__prisoner=F("prisoner")).exists()
    assert not calls.exclude(number_dialled=F("contact__phone_number")).exists()
    assert not calls.filter(started_at__lt=F("booking__slot__starts_at")).exists()
    assert not calls.filter(ended_at__gt=F("booking__slot__ends_at")).exists()
    assert not calls.exclude(booking__prisoner=F("prisoner")).exists()


def test_demo_calls_on_one_line_never_overlap(site, seeded):
    previous = {}
    for call in Call.objects.order_by("line_id", "started_at"):
        if call.line_id in previous:
            assert call.started_at >= previous[call.line_id]
        previous[call.line_id] = call.ended_at


def test_demo_alerts_interrupt_calls_and_suspend_slots(site, seeded):
    alerts = AirRaidAlert.objects.filter(site=site)
    assert alerts.count() >= 3
    assert not alerts.filter(ended_at__isnull=True).exists()
    interrupted = Call.objects.filter(outcome=Outcome.INTERRUPTED_BY_ALERT)
    assert interrupted.exists()
    for call in interrupted.select_related("booking__slot__suspended_by"):
        assert call.ended_at == call.booking.slot.suspended_by.started_at
    assert CallSlot.objects.filter(suspended_by__isnull=False).exists()
    assert Booking.objects.filter(status=Booking.Status.SUSPENDED).exists()
    # Make-up calls were given after the earlier alerts; the latest leaves some owed.
    assert Call.objects.filter(is_makeup=True, outcome=Outcome.CONNECTED).exists()
    assert selectors.makeup_owed(site=site).exists()


def test_demo_suspensions_hold(site, seeded):
    suspensions = Suspension.objects.filter(prisoner__site=site)
    assert suspensions.count() == 2
    today = site.today()
    assert suspensions.filter(starts_on__lte=today, ends_on__gte=today).count() == 1
    for suspension in suspensions:
        during = Booking.objects.filter(
            prisoner=suspension.prisoner,
            starts_at__gte=site.day_start(suspension.starts_on),
            starts_at__lt=site.day_start(suspension.ends_on + datetime.timedelta(days=1)),
        )
        assert not during.exists()


def test_demo_history_keeps_the_call_policy(site, seeded):
    """No prisoner had two counted connected calls closer than the policy allowed."""
    for prisoner_id in Call.objects.values_list("prisoner", flat=True).distinct():
        days = [
            started_at.astimezone(site.zone).date()
            for started_at in Call.objects.filter(
                prisoner_id=prisoner_id, outcome=Outcome.CONNECTED, is_makeup=False
            )
            .order_by("started_at")
            .values_list("started_at", flat=True)
        ]
        for earlier, later in itertools.pairwise(days):
            terms = rules.policy_terms(site, later)
            assert (later - earlier).days >= terms.min_days_between


def test_demo_books_the_coming_days(site, seeded):
    today = site.today()
    upcoming = Booking.objects.filter(
        slot__line__site=site,
        status=Booking.Status.BOOKED,
        starts_at__gte=site.day_start(today),
    )
    assert upcoming.count() == seeded["upcoming_bookings"] > 0
    # One live booking per slot and no prisoner twice at one time: the constraints held.
    assert not upcoming.values("slot").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_demo_is_not_added_twice(site, supervisor, seeded):
    calls = Call.objects.count()
    assert seed_calls(site=site, actor=supervisor, random=random.Random(7)) == {}
    assert Call.objects.count() == calls
