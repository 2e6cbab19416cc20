"""Who may call when: the call policy, suspensions and the prisoner's own state.

``_judge`` is the one place these rules live, deciding on what ``_standings`` read of
each prisoner: booking and starting a call ask ``refusals`` (one prisoner), the
pages that list prisoners ask ``refusals_of`` (a page of them, in two queries).
Every refusal says which rule refused and when the prisoner becomes eligible again.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
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


def _month_bounds(day: datetime.date, site: Site) -> tuple[datetime.datetime, datetime.datetime]:
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return site.day_start(first), site.day_start(following)


@dataclass(frozen=True)
class _Standing:
    """What the rules read of one prisoner for one day."""

    has_approved_contact: bool
    suspension: Suspension | None
    # The last connected call that counts (not a make-up) started before the day's end.
    last_connected_at: datetime.datetime | None
    # Counted connected calls of the day's month, and live bookings of it not yet
    # connected: both count against the monthly maximum.
    calls_in_month: int
    bookings_in_month: int


def _count(queryset: QuerySet) -> Coalesce:
    """The number of rows of ``queryset``, all of the outer query's prisoner
    (``prisoner=OuterRef("pk")``), as an expression of the outer query."""
    per_prisoner = queryset.order_by().values("prisoner").annotate(number=Count("*"))
    return Coalesce(Subquery(per_prisoner.values("number")), 0)


def _standings(
    prisoners: Sequence[Prisoner], *, day: datetime.date, site: Site
) -> dict[int, _Standing]:
    """The ``_Standing`` of each of ``prisoners`` (held at ``site``) on ``day``, by id.
    One query, and one more when any of them is suspended, however many they are."""
    month_start, month_end = _month_bounds(day, site)
    counted_calls = Call.objects.filter(
        prisoner=OuterRef("pk"), outcome=Outcome.CONNECTED, is_makeup=False
    )
    rows = list(
        Prisoner.objects.filter(pk__in=[prisoner.pk for prisoner in prisoners])
        .order_by()
        .annotate(
            has_approved_contact=Exists(Contact.objects.approved().filter(prisoner=OuterRef("pk"))),
            suspension_id=Subquery(
                Suspension.objects.filter(
                    prisoner=OuterRef("pk"), starts_on__lte=day, ends_on__gte=day
                )
                .order_by("-ends_on")
                .values("pk")[:1]
            ),
            counted_last_connected_at=Subquery(
                counted_calls.filter(started_at__lt=site.day_start(day + ONE_DAY))
                .order_by("-started_at")
                .values("started_at")[:1]
            ),
            calls_in_month=_count(
                counted_calls.filter(started_at__gte=month_start, started_at__lt=month_end)
            ),
            bookings_in_month=_count(
                Booking.objects.filter(
                    prisoner=OuterRef("pk"),
                    starts_at__gte=month_start,
                    starts_at__lt=month_end,
                    status=Booking.Status.BOOKED,
                    is_makeup=False,
                ).exclude(calls__outcome=Outcome.CONNECTED)
            ),
        )
        .values_list(
            "pk",
            "has_approved_contact",
            "suspension_id",
            "counted_last_connected_at",
            "calls_in_month",
            "bookings_in_month",
        )
    )
    suspended = [row[2] for row in rows if row[2] is not None]
    suspensions = Suspension.objects.in_bulk(suspended) if suspended else {}
    return {
        pk: _Standing(
            has_approved_contact=has_contact,
            suspension=suspensions.get(suspension_id),
            last_connected_at=last_connected_at,
            calls_in_month=calls,
            bookings_in_month=bookings,
        )
        for pk, has_contact, suspension_id, last_connected_at, calls, bookings in rows
    }


def refusals(
    *,
    prisoner: Prisoner,
    day: datetime.date,
    terms: PolicyTerms,
    makeup: bool = False,
) -> list[Refusal]:
    """Every rule that stops ``prisoner`` from calling on ``day`` (empty: allowed).
    One query, two when he is suspended."""
    site = prisoner.site
    (standing,) = _standings([prisoner], day=day, site=site).values()
    return _judge(prisoner, standing, day=day, site=site, terms=terms, makeup=makeup)


def refusals_of(
    prisoners: Sequence[Prisoner], *, day: datetime.date, site: Site, terms: PolicyTerms
) -> dict[int, list[Refusal]]:
    """``refusals`` of each of ``prisoners`` (held at ``site``) on ``day``, by id; for
    a make-up call when one is owed him. Two queries at most, however many they are."""
    found = _standings(prisoners, day=day, site=site)
    return {
        prisoner.pk: _judge(
            prisoner,
            found[prisoner.pk],
            day=day,
            site=site,
            terms=terms,
            makeup=prisoner.is_owed_makeup,
        )
        for prisoner in prisoners
    }


def _judge(
    prisoner: Prisoner,
    standing: _Standing,
    *,
    day: datetime.date,
    site: Site,
    terms: PolicyTerms,
    makeup: bool,
) -> list[Refusal]:
    """Every rule that stops ``prisoner``, as ``standing`` finds him, from calling on
    ``day`` at ``site`` (empty: allowed). No query.

    A make-up call is owed after an air-raid alert and does not count against,
    nor is it limited by, the minimum interval and the monthly maximum.
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
    if not standing.has_approved_contact:
        found.append(Refusal("no_contact", _("The prisoner has no approved contact.")))
    if suspension := standing.suspension:
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

    if standing.last_connected_at and terms.min_days_between:
        last_day = standing.last_connected_at.astimezone(site.zone).date()
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

    made_or_booked = standing.calls_in_month + standing.bookings_in_month
    if made_or_booked >= terms.max_calls_per_month:
        _month_start, month_end = _month_bounds(day, site)
        found.append(
            Refusal(
                "max_calls_per_month",
                _("The policy allows %(limit)d calls a month; %(count)d are made or booked.")
                % {"limit": terms.max_calls_per_month, "count": made_or_booked},
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
