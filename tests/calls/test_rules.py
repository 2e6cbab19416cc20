"""The call policy, suspensions and the prisoner's state, at service level with fixed dates."""

import datetime

import pytest

from calls import rules, services
from calls.models import Booking, CallPolicy, Outcome, Suspension
from calls.services import CallError
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

MONDAY = datetime.date(2026, 3, 2)
DAY = datetime.timedelta(days=1)


def at(site, day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=site.zone)


def early(site, day):
    """A moment before the slots of ``day``: the ``now`` given to book_slot."""
    return at(site, day, 7)


@pytest.fixture
def line(site):
    return LineFactory(site=site, name="Line 1")


@pytest.fixture
def prisoner(site, supervisor):
    prisoner = PrisonerFactory(site=site)
    ContactFactory(prisoner=prisoner, requested_by=supervisor)
    return prisoner


def slot_on(line, day, hour=10, minute=0):
    return CallSlotFactory(line=line, starts_at=at(line.site, day, hour, minute))


def set_policy(site, effective_from, **terms):
    return CallPolicy.objects.create(site=site, effective_from=effective_from, **terms)


def connected_call(prisoner, line, started_at, **fields):
    contact = prisoner.contacts.first()
    return CallFactory(
        site=prisoner.site,
        line=line,
        prisoner=prisoner,
        contact=contact,
        monitor=contact.requested_by,
        started_at=started_at,
        **fields,
    )


def live_booking(slot, prisoner, **fields):
    return BookingFactory(
        slot=slot, prisoner=prisoner, booked_by=prisoner.contacts.first().requested_by, **fields
    )


def refusals_on(prisoner, day):
    return rules.refusals(prisoner=prisoner, day=day, terms=rules.policy_terms(prisoner.site, day))


def rules_of(found):
    return [refusal.rule for refusal in found]


# --- Each policy rule ------------------------------------------------------------------


def test_closed_programme_refuses_every_booking(site, prisoner):
    set_policy(site, MONDAY, calls_open=False)
    (refusal,) = refusals_on(prisoner, MONDAY)
    assert refusal.rule == "calls_closed"
    assert refusal.overridable
    # Closed until a new version opens it: no date can be promised.
    assert refusal.eligible_on is None


def test_min_days_between_counts_from_the_last_connected_call(site, line, prisoner):
    set_policy(site, MONDAY - 30 * DAY, min_days_between=7, max_calls_per_month=10)
    connected_call(prisoner, line, at(site, MONDAY, 9))
    (refusal,) = refusals_on(prisoner, MONDAY + 3 * DAY)
    assert refusal.rule == "min_days_between"
    assert refusal.eligible_on == MONDAY + 7 * DAY
    assert "Eligible from 09.03.2026" in str(refusal)
    assert refusals_on(prisoner, MONDAY + 6 * DAY)
    assert refusals_on(prisoner, MONDAY + 7 * DAY) == []


def test_min_days_between_ignores_unanswered_and_makeup_calls(site, line, prisoner):
    set_policy(site, MONDAY - 30 * DAY, min_days_between=7, max_calls_per_month=10)
    connected_call(prisoner, line, at(site, MONDAY - 10 * DAY))
    connected_call(prisoner, line, at(site, MONDAY - 2 * DAY), outcome=Outcome.NO_ANSWER)
    connected_call(prisoner, line, at(site, MONDAY - DAY), outcome=Outcome.BUSY)
    connected_call(prisoner, line, at(site, MONDAY - DAY, 11), is_makeup=True)
    assert refusals_on(prisoner, MONDAY) == []


def test_monthly_maximum_counts_connected_calls_and_live_bookings(site, line, prisoner):
    set_policy(site, MONDAY - 60 * DAY, min_days_between=0, max_calls_per_month=2)
    connected_call(prisoner, line, at(site, MONDAY))
    live_booking(slot_on(line, MONDAY + 5 * DAY), prisoner)
    (refusal,) = refusals_on(prisoner, MONDAY + 10 * DAY)
    assert refusal.rule == "max_calls_per_month"
    assert refusal.overridable
    assert refusal.eligible_on == datetime.date(2026, 4, 1)
    assert "2 are made or booked" in refusal.message


def test_monthly_maximum_ignores_other_months_failed_calls_and_dead_bookings(site, line, prisoner):
    set_policy(site, MONDAY - 60 * DAY, min_days_between=0, max_calls_per_month=2)
    connected_call(prisoner, line, at(site, MONDAY - 2 * DAY))  # February
    connected_call(prisoner, line, at(site, MONDAY), outcome=Outcome.NO_ANSWER)
    connected_call(prisoner, line, at(site, MONDAY + DAY), is_makeup=True)
    for hour, status in [(10, Booking.Status.CANCELLED), (11, Booking.Status.SUSPENDED)]:
        live_booking(
            slot_on(line, MONDAY + 2 * DAY, hour),
            prisoner,
            status=status,
            cancel_reason="Moved to another day.",
        )
    live_booking(slot_on(line, MONDAY + 3 * DAY), prisoner)
    assert refusals_on(prisoner, MONDAY + 10 * DAY) == []


def test_booking_with_its_connected_call_counts_once(site, line, prisoner):
    set_policy(site, MONDAY - 60 * DAY, min_days_between=0, max_calls_per_month=2)
    booking = live_booking(slot_on(line, MONDAY), prisoner)
    connected_call(prisoner, line, at(site, MONDAY), booking=booking)
    assert refusals_on(prisoner, MONDAY + DAY) == []


# --- The prisoner's own state ----------------------------------------------------------


def test_prisoner_not_interned_cannot_book(site, line, prisoner, supervisor):
    Prisoner.objects.filter(pk=prisoner.pk).update(status=Prisoner.Status.IN_HOSPITAL)
    prisoner.refresh_from_db()
    (refusal,) = refusals_on(prisoner, MONDAY)
    assert refusal.rule == "not_interned"
    assert not refusal.overridable
    with pytest.raises(CallError, match="not interned"):
        services.book_slot(
            slot=slot_on(line, MONDAY),
            prisoner=prisoner,
            actor=supervisor,
            override_reason="Family emergency.",
            now=early(site, MONDAY),
        )
    assert not Booking.objects.exists()


def test_prisoner_without_approved_contact_cannot_book(site, line, supervisor):
    prisoner = PrisonerFactory(site=site)
    ContactFactory(
        prisoner=prisoner, status=Contact.Status.PENDING, requested_by=supervisor, decided_by=None
    )
    (refusal,) = refusals_on(prisoner, MONDAY)
    assert refusal.rule == "no_contact"
    with pytest.raises(CallError, match="no approved contact"):
        services.book_slot(
            slot=slot_on(line, MONDAY), prisoner=prisoner, actor=supervisor, now=early(site, MONDAY)
        )
    assert not Booking.objects.exists()


def test_suspension_blocks_booking_until_the_day_after_it_ends(site, line, prisoner, supervisor):
    Suspension.objects.create(
        prisoner=prisoner,
        reason=Suspension.Reason.SECURITY_INVESTIGATION,
        authority="Investigator",
        starts_on=MONDAY - DAY,
        ends_on=MONDAY + 3 * DAY,
        created_by=supervisor,
    )
    (refusal,) = refusals_on(prisoner, MONDAY)
    assert refusal.rule == "suspended"
    assert refusal.eligible_on == MONDAY + 4 * DAY
    assert not refusal.overridable
    with pytest.raises(CallError) as caught:
        services.book_slot(
            slot=slot_on(line, MONDAY + 3 * DAY),
            prisoner=prisoner,
            actor=supervisor,
            override_reason="The family asked.",
            now=early(site, MONDAY),
        )
    assert "Eligible from 06.03.2026" in " ".join(caught.value.messages)
    assert not Booking.objects.exists()
    booking = services.book_slot(
        slot=slot_on(line, MONDAY + 4 * DAY),
        prisoner=prisoner,
        actor=supervisor,
        now=early(site, MONDAY),
    )
    assert booking.override_reason == ""


def test_policy_version_from_a_future_date_does_not_apply_today(site, line, prisoner, supervisor):
    set_policy(site, MONDAY + 7 * DAY, calls_open=False)
    assert rules.policy_terms(site, MONDAY).policy is None
    assert refusals_on(prisoner, MONDAY) == []
    assert rules_of(refusals_on(prisoner, MONDAY + 7 * DAY)) == ["calls_closed"]
    booking = services.book_slot(
        slot=slot_on(line, MONDAY), prisoner=prisoner, actor=supervisor, now=early(site, MONDAY)
    )
    assert booking.pk
    with pytest.raises(CallError, match="closed"):
        services.book_slot(
            slot=slot_on(line, MONDAY + 7 * DAY),
            prisoner=prisoner,
            actor=supervisor,
            now=early(site, MONDAY),
        )


# --- Who may book, and overrides -------------------------------------------------------


def test_guard_cannot_book_unless_the_policy_allows(site, line, prisoner, guard):
    slot = slot_on(line, MONDAY)
    with pytest.raises(CallError, match="only supervisors"):
        services.book_slot(slot=slot, prisoner=prisoner, actor=guard, now=early(site, MONDAY))
    assert not Booking.objects.exists()
    set_policy(site, MONDAY, guards_may_book=True)
    booking = services.book_slot(slot=slot, prisoner=prisoner, actor=guard, now=early(site, MONDAY))
    assert booking.booked_by == guard


def test_supervisor_override_with_reason_is_kept_on_booking_and_in_audit(
    site, line, prisoner, supervisor
):
    set_policy(site, MONDAY - 30 * DAY, min_days_between=7)
    connected_call(prisoner, line, at(site, MONDAY - 2 * DAY))
    booking = services.book_slot(
        slot=slot_on(line, MONDAY),
        prisoner=prisoner,
        actor=supervisor,
        override_reason="  His father is dying.  ",
        now=early(site, MONDAY),
    )
    assert booking.override_reason == "His father is dying."
    entry = AuditEntry.objects.get(action="calls.booking.created", target_id=str(booking.pk))
    assert entry.actor == supervisor
    assert entry.data["overridden"] == ["min_days_between"]
    assert entry.data["override_reason"] == "His father is dying."


def test_override_reason_is_not_kept_when_nothing_was_overridden(site, line, prisoner, supervisor):
    booking = services.book_slot(
        slot=slot_on(line, MONDAY),
        prisoner=prisoner,
        actor=supervisor,
        override_reason="Just in case.",
        now=early(site, MONDAY),
    )
    assert booking.override_reason == ""


def test_supervisor_override_without_reason_is_refused(site, line, prisoner, supervisor):
    set_policy(site, MONDAY, calls_open=False)
    with pytest.raises(CallError) as caught:
        services.book_slot(
            slot=slot_on(line, MONDAY),
            prisoner=prisoner,
            actor=supervisor,
            override_reason="   ",
            now=early(site, MONDAY),
        )
    assert "give a reason for the override" in " ".join(caught.value.messages)
    assert rules_of(caught.value.refusals) == ["calls_closed", "override"]
    assert not Booking.objects.exists()
    assert not AuditEntry.objects.filter(action="calls.booking.created").exists()


def test_guard_cannot_override_the_policy(site, line, prisoner, guard):
    set_policy(site, MONDAY - 30 * DAY, guards_may_book=True, min_days_between=7)
    connected_call(prisoner, line, at(site, MONDAY - DAY))
    with pytest.raises(CallError, match="7 days between calls"):
        services.book_slot(
            slot=slot_on(line, MONDAY),
            prisoner=prisoner,
            actor=guard,
            override_reason="I think it is fine.",
            now=early(site, MONDAY),
        )
    assert not Booking.objects.exists()


def test_makeup_call_is_not_limited_by_the_interval_or_monthly_maximum(
    site, line, prisoner, supervisor
):
    set_policy(site, MONDAY - 30 * DAY, min_days_between=7, max_calls_per_month=1)
    connected_call(prisoner, line, at(site, MONDAY - DAY, 9))
    connected_call(prisoner, line, at(site, MONDAY - DAY, 10), outcome=Outcome.INTERRUPTED_BY_ALERT)
    booking = services.book_slot(
        slot=slot_on(line, MONDAY), prisoner=prisoner, actor=supervisor, now=early(site, MONDAY)
    )
    assert booking.is_makeup
    assert booking.override_reason == ""


def test_slot_on_a_line_out_of_service_cannot_be_booked(site, line, prisoner, supervisor):
    slot = slot_on(line, MONDAY)
    services.set_line_active(line=line, active=False, actor=supervisor)
    with pytest.raises(CallError, match="out of service"):
        services.book_slot(slot=slot, prisoner=prisoner, actor=supervisor, now=early(site, MONDAY))
    assert not Booking.objects.exists()


# --- A page of prisoners at once ---------------------------------------------------------


def test_a_page_of_prisoners_is_judged_as_each_alone_in_two_queries(
    site, line, supervisor, django_assert_num_queries
):
    set_policy(site, MONDAY - 60 * DAY, min_days_between=7, max_calls_per_month=2)
    day = MONDAY + 10 * DAY

    def with_contact(**fields):
        prisoner = PrisonerFactory(site=site, **fields)
        ContactFactory(prisoner=prisoner, requested_by=supervisor)
        return prisoner

    free = with_contact()
    recent = with_contact()
    connected_call(recent, line, at(site, MONDAY + 8 * DAY, 9))
    busy_month = with_contact()
    connected_call(busy_month, line, at(site, MONDAY))
    live_booking(slot_on(line, MONDAY + 20 * DAY), busy_month)
    suspended = with_contact()
    Suspension.objects.create(
        prisoner=suspended,
        reason=Suspension.Reason.SECURITY_INVESTIGATION,
        authority="Investigator",
        starts_on=MONDAY,
        ends_on=MONDAY + 12 * DAY,
        created_by=supervisor,
    )
    lonely = PrisonerFactory(site=site)
    owed = with_contact()
    connected_call(owed, line, at(site, MONDAY + 9 * DAY, 9))
    connected_call(owed, line, at(site, MONDAY + 9 * DAY, 10), outcome=Outcome.INTERRUPTED_BY_ALERT)
    page = list(Prisoner.objects.select_related("site").order_by("pk"))
    assert page[-1].is_owed_makeup
    terms = rules.policy_terms(site, day)

    with django_assert_num_queries(2):
        judged = rules.refusals_of(page, day=day, site=site, terms=terms)

    assert {pk: rules_of(found) for pk, found in judged.items()} == {
        free.pk: [],
        recent.pk: ["min_days_between"],
        busy_month.pk: ["max_calls_per_month"],
        suspended.pk: ["suspended"],
        lonely.pk: ["no_contact"],
        # Owed a make-up call: neither the interval nor the month holds it back.
        owed.pk: [],
    }
    for prisoner in page:
        alone = rules.refusals(
            prisoner=prisoner, day=day, terms=terms, makeup=prisoner.is_owed_makeup
        )
        assert [str(refusal) for refusal in judged[prisoner.pk]] == list(map(str, alone))
