"""The demo data of the call room, on a small camp seeded as ``seed_demo`` seeds it."""

import datetime
import itertools
import random
from collections import Counter

import pytest
from django.db import transaction
from django.db.models import Count, F, Sum

from calls import rules, selectors
from calls.demo import seed_calls
from calls.models import (
    AirRaidAlert,
    Amendment,
    Booking,
    Call,
    CallPolicy,
    CallSlot,
    Line,
    Outcome,
    ScheduleWindow,
    Suspension,
)
from camp.models import AuditEntry
from camp.roles import Role
from prisoners.demo import Progress, seed_prisoners
from prisoners.models import Prisoner
from tests.factories import SiteFactory, UserFactory

# Long enough for the programme to be suspended and reinstated on the way.
WEEKS = 26


class CountingProgress(Progress):
    def __init__(self):
        self.rows = 0
        self.stages = []

    def stage(self, label):
        self.stages.append(label)

    def advance(self, rows):
        self.rows += rows


@pytest.fixture(scope="module")
def camp(django_db_setup, django_db_blocker):
    """One camp for the whole module, rolled back at its end: each test reads it in a
    savepoint of its own. Seeding takes about a second."""
    with django_db_blocker.unblock(), transaction.atomic():
        site = SiteFactory(name="North camp", code="NC")
        # "!": no password to hash; nobody logs in here.
        supervisor = UserFactory(
            username="supervisor", password="!", role=Role.SUPERVISOR, sites=[site]
        )
        UserFactory(username="guard", password="!", role=Role.GUARD, sites=[site])
        progress = CountingProgress()
        seed_prisoners(site=site, actor=supervisor, count=70, weeks=WEEKS, random=random.Random(7))
        counts = seed_calls(
            site=site, actor=supervisor, random=random.Random(7), weeks=WEEKS, progress=progress
        )
        yield site, supervisor, counts, progress
        transaction.set_rollback(True)


@pytest.fixture
def site(camp, db):
    return camp[0]


@pytest.fixture
def supervisor(camp):
    return camp[1]


@pytest.fixture
def seeded(camp):
    return camp[2]


@pytest.fixture
def progress(camp):
    return camp[3]


def local_day(site, moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(site.zone).date()


def test_demo_sets_up_lines_schedule_policy_and_slots(site, seeded):
    lines = Line.objects.filter(site=site)
    assert lines.count() == seeded["lines"] >= 2
    # Open every day, so the demo desk is never empty.
    assert set(ScheduleWindow.objects.values_list("weekday", flat=True)) == set(range(7))
    today = site.today()
    assert CallPolicy.objects.in_force(site, today) is not None
    # Calls grow rarer, and the programme was suspended once and reinstated.
    assert CallPolicy.objects.filter(site=site).count() == 4
    assert CallPolicy.objects.filter(site=site, calls_open=False).count() == 1
    first = site.day_start(today - datetime.timedelta(weeks=WEEKS))
    slots = CallSlot.objects.filter(line__site=site)
    assert slots.filter(starts_at__lt=first + datetime.timedelta(days=1)).exists()
    assert slots.filter(starts_at__gte=site.day_start(today + datetime.timedelta(days=8))).exists()
    assert seeded["slots"] == slots.count()
    assert seeded["calls"] == Call.objects.count()
    assert seeded["bookings"] == Booking.objects.count()


def test_demo_calls_only_after_arrival_and_while_interned(site, seeded):
    for prisoner in Prisoner.objects.filter(site=site).prefetch_related("status_changes"):
        history = sorted(
            (change.effective_on, change.status) for change in prisoner.status_changes.all()
        )
        for starts_at in prisoner.bookings.values_list("starts_at", flat=True):
            day = local_day(site, starts_at)
            assert day >= prisoner.arrived_on
            status = [status for since, status in history if since <= day][-1]
            assert status == Prisoner.Status.INTERNED
            # Only once a supervisor had approved a contact.
            assert prisoner.contacts.approved().filter(decided_at__lt=starts_at).exists()


def test_demo_calls_are_closed_consistent_and_varied(site, seeded):
    calls = Call.objects.all()
    assert not calls.filter(ended_at__isnull=True).exists()
    assert not calls.filter(ended_at__lt=F("started_at")).exists()
    assert all(call.elapsed == call.ended_at - call.started_at for call in calls)
    outcomes = Counter(calls.values_list("outcome", flat=True))
    assert set(outcomes) == set(Outcome.values)
    # Several attempts a slot: more unanswered and busy tries than connected calls.
    assert outcomes[Outcome.CONNECTED] < sum(outcomes.values()) / 2
    assert calls.count() > 2 * Booking.objects.filter(calls__isnull=False).distinct().count()
    assert calls.filter(flagged=True).exists()
    assert not calls.filter(over_limit=True, flagged=False).exists()
    # Every call dialled one of the prisoner's contacts, on a line, inside its booked slot.
    assert not calls.exclude(contact__prisoner=F("prisoner")).exists()
    assert not calls.exclude(number_dialled=F("contact__phone_number")).exists()
    assert not calls.exclude(line=F("booking__slot__line")).exists()
    assert not calls.filter(started_at__lt=F("booking__slot__starts_at")).exists()
    assert not calls.filter(ended_at__gt=F("booking__slot__ends_at")).exists()
    assert not calls.exclude(booking__prisoner=F("prisoner")).exists()
    assert not calls.exclude(is_makeup=F("booking__is_makeup")).exists()


def test_demo_attempts_share_the_slots_time_limit(site, seeded):
    """Each attempt's limit is what the earlier attempts in the slot left of the policy's."""
    used = {}
    for call in Call.objects.select_related("policy").order_by("booking_id", "started_at"):
        before = used.get(call.booking_id, datetime.timedelta(0))
        limit = datetime.timedelta(minutes=call.policy.max_minutes)
        assert call.deadline - call.started_at == limit - before
        assert call.over_limit == (call.ended_at > call.deadline)
        used[call.booking_id] = before + call.elapsed


def test_demo_calls_on_one_line_never_overlap(site, seeded):
    previous = {}
    for call in Call.objects.order_by("line_id", "started_at"):
        if call.line_id in previous:
            assert call.started_at >= previous[call.line_id]
        previous[call.line_id] = call.ended_at


def test_demo_alerts_interrupt_calls_and_suspend_slots(site, seeded):
    alerts = AirRaidAlert.objects.filter(site=site)
    assert alerts.count() == seeded["alerts"] >= 3
    assert not alerts.filter(ended_at__isnull=True).exists()
    interrupted = Call.objects.filter(outcome=Outcome.INTERRUPTED_BY_ALERT)
    assert interrupted.exists()
    for call in interrupted.select_related("booking__slot__suspended_by"):
        assert call.ended_at == call.booking.slot.suspended_by.started_at
    # No call in a suspended slot went on past the siren.
    assert not Call.objects.filter(
        booking__slot__suspended_by__isnull=False,
        ended_at__gt=F("booking__slot__suspended_by__started_at"),
    ).exists()
    assert CallSlot.objects.filter(suspended_by__isnull=False).exists()
    suspended = Booking.objects.filter(status=Booking.Status.SUSPENDED)
    assert suspended.exists()
    assert not suspended.filter(slot__suspended_by__isnull=True).exists()
    assert not suspended.filter(calls__outcome=Outcome.CONNECTED).exists()
    # Make-up calls were given after the earlier alerts; the latest leaves some owed,
    # and they are booked for the coming days.
    assert Call.objects.filter(is_makeup=True, outcome=Outcome.CONNECTED).exists()
    owed = selectors.makeup_owed(site=site)
    assert owed.exists()
    assert Booking.objects.filter(
        prisoner__in=owed, is_makeup=True, starts_at__gt=site.day_start(site.today())
    ).exists()


def test_demo_suspensions_hold(site, seeded):
    suspensions = Suspension.objects.filter(prisoner__site=site)
    assert suspensions.count() == seeded["suspensions"] >= 2
    today = site.today()
    assert suspensions.filter(starts_on__lte=today, ends_on__gte=today).exists()
    assert suspensions.filter(ends_on__lt=today).exists()
    for suspension in suspensions:
        during = Booking.objects.filter(
            prisoner=suspension.prisoner,
            starts_at__gte=site.day_start(suspension.starts_on),
            starts_at__lt=site.day_start(suspension.ends_on + datetime.timedelta(days=1)),
        )
        assert not during.exists()


def test_demo_books_nothing_while_the_programme_is_closed(site, seeded):
    closed = CallPolicy.objects.get(site=site, calls_open=False)
    reopened = CallPolicy.objects.filter(effective_from__gt=closed.effective_from).earliest(
        "effective_from"
    )
    assert not Booking.objects.filter(
        starts_at__gte=site.day_start(closed.effective_from),
        starts_at__lt=site.day_start(reopened.effective_from),
    ).exists()
    assert Booking.objects.filter(starts_at__gte=site.day_start(reopened.effective_from)).exists()


def policy_on(site):
    """The policy in force on a day, read once: ``rules.policy_terms`` costs a query a day."""
    policies = list(CallPolicy.objects.filter(site=site).order_by("effective_from"))
    return lambda day: [policy for policy in policies if policy.effective_from <= day][-1]


def test_demo_history_keeps_the_minimum_days_between_connected_calls(site, seeded):
    """No prisoner had two counted connected calls closer than the policy allowed."""
    policy = policy_on(site)
    connected = (
        Call.objects.filter(prisoner__site=site, outcome=Outcome.CONNECTED, is_makeup=False)
        .order_by("prisoner_id", "started_at")
        .values_list("prisoner_id", "started_at")
    )
    checked = 0
    for _prisoner, calls in itertools.groupby(connected, key=lambda row: row[0]):
        days = [local_day(site, started_at) for _prisoner, started_at in calls]
        for earlier, later in itertools.pairwise(days):
            assert (later - earlier).days >= policy(later).min_days_between
            checked += 1
    assert checked > 100
    assert rules.policy_terms(site, later).min_days_between == policy(later).min_days_between


def test_demo_history_keeps_the_monthly_maximum_but_for_overrides(site, seeded):
    """Live bookings count against the month, connected or not; make-ups never do,
    and a supervisor's override is the only way past the maximum."""
    policy = policy_on(site)
    counted = (
        Booking.objects.filter(prisoner__site=site, status=Booking.Status.BOOKED, is_makeup=False)
        .order_by("prisoner_id", "starts_at")
        .values_list("prisoner_id", "starts_at", "override_reason")
    )
    earlier = Counter()
    full_months = 0
    for prisoner_id, starts_at, override_reason in counted:
        day = local_day(site, starts_at)
        month = (prisoner_id, day.year, day.month)
        limit = policy(day).max_calls_per_month
        if not override_reason:
            assert earlier[month] < limit
        full_months += earlier[month] + 1 == limit
        earlier[month] += 1
    assert full_months > 0
    assert Booking.objects.exclude(override_reason="").exists()


def test_demo_amendments_are_applied_to_the_entries(site, seeded):
    amendments = Amendment.objects.select_related("call")
    assert amendments.count() == seeded["amendments"] > 0
    assert {amendment.author for amendment in amendments} == {seeded_author(site)}
    for amendment in amendments:
        call = amendment.call
        assert call.amendment_count == 1
        assert amendment.created_at > call.ended_at
        for field, change in amendment.changes.items():
            assert getattr(call, field) == change["to"] != change["from"]
    assert Call.objects.aggregate(total=Sum("amendment_count"))["total"] == amendments.count()


def seeded_author(site):
    return AuditEntry.objects.get(action="calls.booking.created", site=site).actor


def test_demo_books_the_coming_days(site, seeded):
    today = site.today()
    upcoming = Booking.objects.filter(slot__line__site=site, starts_at__gte=site.day_start(today))
    assert upcoming.count() == seeded["upcoming_bookings"] > 0
    assert set(upcoming.values_list("status", flat=True)) == {Booking.Status.BOOKED}
    assert not Call.objects.filter(booking__in=upcoming).exists()
    # One live booking per slot and no prisoner twice at one time: the constraints held.
    assert not upcoming.values("slot").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_demo_writes_one_audit_entry_per_kind_of_thing(site, seeded):
    actions = Counter(AuditEntry.objects.values_list("action", flat=True))
    assert actions["calls.slots.generated"] == 1
    assert actions["calls.booking.created"] == 1
    assert actions["calls.call.amended"] == 1
    assert actions["calls.line.added"] == seeded["lines"]
    assert sum(actions.values()) < 50


def test_demo_reports_every_row_to_the_progress_bar(site, seeded, progress):
    simulated = seeded["bookings"]
    written = seeded["slots"] + seeded["bookings"] + seeded["calls"] + seeded["amendments"]
    assert progress.rows == simulated + written
    assert progress.stages[-1] == "amendments"


def test_demo_is_not_added_twice(site, supervisor, seeded):
    calls = Call.objects.count()
    assert seed_calls(site=site, actor=supervisor, random=random.Random(7)) == {}
    assert Call.objects.count() == calls
