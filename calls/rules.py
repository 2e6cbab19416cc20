"""Who may call when: the call policy, suspensions and the prisoner's own state.

``refusals`` is the one place these rules live; booking and starting a call both
ask it, and every refusal says which rule refused and when the prisoner becomes
eligible again.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from calls.models import ONE_DAY, Booking, Call, CallPolicy, CallSlot, Line, Outcome, Suspension
from camp.models import Site
from prisoners.models import Contact, Prisoner

# A guard may open a booked slot's call a little early; the time limit still counts from the start.
EARLY_START = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str
    eligible_on: datetime.date | None = None
    # Policy rules may be overridden by a supervisor with a written reason.
    overridable: bool = False

    def __str__(self):
        if self.eligible_on:
            return _("%(message)s Eligible from %(date)s.") % {
                "message": self.message,
                "date": date_format(self.eligible_on),
            }
        return self.message


@dataclass(frozen=True)
class PolicyTerms:
    """The rules in force: a saved CallPolicy, or the camp defaults when a site has none."""

    policy: CallPolicy | None
    calls_open: bool
    max_minutes: int
    min_days_between: int
    max_calls_per_month: int
    guards_may_book: bool


def policy_terms(site: Site, day: datetime.date) -> PolicyTerms:
    policy = CallPolicy.objects.in_force(site, day)
    source = policy or CallPolicy(site=site)
    return PolicyTerms(
        policy=policy,
        calls_open=source.calls_open,
        max_minutes=source.max_minutes,
        min_days_between=source.min_days_between,
        max_calls_per_month=source.max_calls_per_month,
        guards_may_book=source.guards_may_book,
    )


def active_suspension(prisoner: Prisoner, day: datetime.date) -> Suspension | None:
    return (
        Suspension.objects.filter(prisoner=prisoner, starts_on__lte=day, ends_on__gte=day)
        .order_by("-ends_on")
        .first()
    )


def _month_bounds(day: datetime.date, site: Site) -> tuple[datetime.datetime, datetime.datetime]:
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return site.day_start(first), site.day_start(following)


def refusals(
    *,
    prisoner: Prisoner,
    day: datetime.date,
    terms: PolicyTerms,
    makeup: bool = False,
) -> list[Refusal]:
    """Every rule that stops ``prisoner`` from calling on ``day`` (empty: allowed).

    A make-up call is owed after an air-raid alert and does not count against,
    nor is it limited by, the minimum interval and the monthly maximum.
    Runs a handful of queries.
    """
    found = []
    if prisoner.status != Prisoner.Status.INTERNED:
        found.append(
            Refusal(
                "not_interned",
                _("The prisoner is not interned (status: %(status)s).")
                % {"status": prisoner.get_status_display()},
            )
        )
    if not Contact.objects.approved().filter(prisoner=prisoner).exists():
        found.append(Refusal("no_contact", _("The prisoner has no approved contact.")))
    if suspension := active_suspension(prisoner, day):
        found.append(
            Refusal(
                "suspended",
                _("Calls are suspended (%(reason)s, %(authority)s).")
                % {"reason": suspension.get_reason_display(), "authority": suspension.authority},
                eligible_on=suspension.ends_on + datetime.timedelta(days=1),
            )
        )
    if not terms.calls_open:
        found.append(
            Refusal(
                "calls_closed", _("The call programme is closed at this site."), overridable=True
            )
        )
    if makeup:
        return found

    counted_calls = Call.objects.filter(
        prisoner=prisoner, outcome=Outcome.CONNECTED, is_makeup=False
    )
    site = prisoner.site
    last_connected = (
        counted_calls.filter(started_at__lt=site.day_start(day + ONE_DAY))
        .order_by("-started_at")
        .first()
    )
    if last_connected and terms.min_days_between:
        last_day = last_connected.started_at.astimezone(site.zone).date()
        eligible_on = last_day + datetime.timedelta(days=terms.min_days_between)
        if day < eligible_on:
            found.append(
                Refusal(
                    "min_days_between",
                    _(
                        "The last connected call was on %(date)s; "
                        "the policy asks %(days)d days between calls."
                    )
                    % {"date": date_format(last_day), "days": terms.min_days_between},
                    eligible_on=eligible_on,
                    overridable=True,
                )
            )

    month_start, month_end = _month_bounds(day, site)
    in_month = Q(starts_at__gte=month_start, starts_at__lt=month_end)
    calls_this_month = counted_calls.filter(
        started_at__gte=month_start, started_at__lt=month_end
    ).count()
    # Live bookings that have not yet led to a call count too, or one could book past the limit.
    pending_bookings = (
        Booking.objects.filter(
            in_month, prisoner=prisoner, status=Booking.Status.BOOKED, is_makeup=False
        )
        .exclude(calls__outcome=Outcome.CONNECTED)
        .count()
    )
    if calls_this_month + pending_bookings >= terms.max_calls_per_month:
        found.append(
            Refusal(
                "max_calls_per_month",
                _("The policy allows %(limit)d calls a month; %(count)d are made or booked.")
                % {
                    "limit": terms.max_calls_per_month,
                    "count": calls_this_month + pending_bookings,
                },
                eligible_on=month_end.date(),
                overridable=True,
            )
        )
    return found


# --- At the desk ------------------------------------------------------------------------
# What the desk offers, decided from what it has already read (no query): the same
# conditions ``services.start_call`` and ``mark_no_show`` enforce, which refuse the rest.


def _booking_is_live(booking: Booking, slot: CallSlot) -> bool:
    return (
        booking.status == Booking.Status.BOOKED
        and slot.suspended_by_id is None
        and slot.line.active
    )


def booking_may_start(
    *,
    booking: Booking,
    slot: CallSlot,
    now: datetime.datetime,
    alert_active: bool,
    line_busy: bool,
) -> bool:
    """Whether the call of ``booking`` (in ``slot``) may start now: the booking is live, its
    slot neither suspended nor over and opened ``EARLY_START`` ahead, its line in service and
    without a call in progress, and no air-raid alert. The prisoner's own rules are checked
    when the call starts."""
    return (
        _booking_is_live(booking, slot)
        and not alert_active
        and not line_busy
        and slot.starts_at - EARLY_START <= now < slot.ends_at
    )


def booking_may_be_no_show(
    *, booking: Booking, slot: CallSlot, now: datetime.datetime, has_calls: bool
) -> bool:
    """Whether ``booking`` may be marked a no-show: live, its slot started, no call made in it."""
    return _booking_is_live(booking, slot) and not has_calls and slot.starts_at <= now


def booking_holds_line(*, booking: Booking, slot: CallSlot, now: datetime.datetime) -> bool:
    """Whether ``booking`` holds its line at ``now``, so that no unscheduled call may start
    on it (``selectors.line_has_booked_slot``, which ``services.start_call`` asks)."""
    return booking.status == Booking.Status.BOOKED and slot.starts_at <= now < slot.ends_at


def line_for_unscheduled_call(lines: list[Line], *, busy: set[int], held: set[int]) -> Line | None:
    """The first of ``lines`` on which an unscheduled (or make-up) call may start now: in
    service, with no call in progress (``busy``) and no booked prisoner holding it (``held``),
    both sets of line ids. None when every line is taken."""
    return next(
        (line for line in lines if line.active and line.pk not in busy and line.pk not in held),
        None,
    )
