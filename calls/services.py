"""Every change to slots, bookings, calls and the logbook goes through these functions.

Each runs in one transaction, writes its audit entry in it, and raises
``CallError`` with a message for the user when a rule refuses. Rules that must
hold under concurrency (one booking per slot, one call per line, ending a call
once) are database constraints and row locks, not checks in Python alone.
``now`` parameters exist for transcription and tests; live calls use the server clock.
"""

import contextlib
import datetime

import psycopg
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from calls import rules, selectors
from calls.models import (
    AMENDABLE_FIELDS,
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
from camp import audit
from camp.models import Site
from camp.roles import SUPERVISORS, has_role
from prisoners.models import Contact, Prisoner


class CallError(ValidationError):
    """A call, booking or logbook rule refused the change; the message is for the user."""


def _constraint_name(error: IntegrityError) -> str:
    return getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") or ""


@contextlib.contextmanager
def refusing_conflicts(refusals: dict[str, str], *, otherwise: str):
    """Run a write in a savepoint; a constraint it breaks becomes its refusal.

    Two rows that conflict on an exclusion constraint, inserted at the same moment,
    can make PostgreSQL report ``deadlock detected`` instead of the violation; that
    too is the conflict, and gets ``otherwise``.
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        raise CallError(refusals.get(_constraint_name(error), otherwise)) from None
    except OperationalError as error:
        if not isinstance(error.__cause__, psycopg.errors.DeadlockDetected):
            raise
        raise CallError(otherwise) from None


def _refuse_unless_line_in_service(line_id: int) -> None:
    """Share-lock the line's row and read ``active`` again: taking a line out of service
    (which locks the row for update) then waits for this transaction, or this one for
    it. Lines are locked before prisoners, as ``set_line_active`` does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT active FROM calls_line WHERE id = %s FOR SHARE", [line_id])
        (active,) = cursor.fetchone()
    if not active:
        raise CallError(_("This line is out of service."))


def _lock_prisoner(prisoner: Prisoner) -> Prisoner:
    """The prisoner's row, locked until the transaction ends: the rules that count a
    prisoner's bookings and calls are checked and applied by one request at a time."""
    return (
        Prisoner.objects.select_for_update(of=("self",)).select_related("site").get(pk=prisoner.pk)
    )


# --- Lines and schedule ---------------------------------------------------------------


@transaction.atomic
def add_line(*, site: Site, name: str, actor) -> Line:
    duplicate = CallError({"name": _("This site already has a line with this name.")})
    if Line.objects.filter(site=site, name=name).exists():
        raise duplicate
    try:
        with transaction.atomic():
            line = Line.objects.create(site=site, name=name)
    except IntegrityError:
        raise duplicate from None
    audit.record(actor=actor, action="calls.line.added", target=line, site=site)
    return line


def _live_bookings_of_line(line: Line, now: datetime.datetime):
    """Bookings of ``line`` still to be used: booked, slot not over, no call made in it."""
    return Booking.objects.filter(
        ~Exists(Call.objects.filter(booking=OuterRef("pk"))),
        slot__line=line,
        status=Booking.Status.BOOKED,
        ends_at__gt=now,
    )


@transaction.atomic
def set_line_active(
    *,
    line: Line,
    active: bool,
    actor,
    cancel_bookings: bool = False,
    now: datetime.datetime | None = None,
) -> Line:
    """Put ``line`` in or out of service; ``line`` itself is changed and returned.

    A line out of service takes no bookings and no calls, so its live bookings
    (slot not over, no call made in it) cannot stay. Taking it out while it holds
    some is refused with their number (``error.live_bookings``) unless
    ``cancel_bookings``: then each is suspended, its reason kept in
    ``cancel_reason``, so its prisoner is owed a make-up call; ``line.suspended_bookings``
    counts them. Each suspension and the line's change are audited.

    The line's row stays locked (FOR UPDATE) until commit. No booking or call slips
    in meanwhile as long as ``book_slot`` and ``start_call`` lock that row FOR SHARE
    before the prisoner's and re-read ``active``: whichever comes second waits, then
    sees the line out of service, or has its booking counted here. Locks are taken
    line, prisoners, bookings, the order those two follow, so none of them deadlock.
    """
    now = now or timezone.now()
    list(Line.objects.select_for_update().filter(pk=line.pk).values_list("pk", flat=True))
    suspended = []
    if not active:
        live = _live_bookings_of_line(line, now)
        candidates = list(live.order_by("pk").values_list("pk", "prisoner_id"))
        if candidates and not cancel_bookings:
            count = len(candidates)
            error = CallError(
                ngettext(
                    "“%(line)s” holds %(count)d live booking: cancel it, and its prisoner is "
                    "owed a make-up call, or keep the line in service.",
                    "“%(line)s” holds %(count)d live bookings: cancel them, and their "
                    "prisoners are owed a make-up call, or keep the line in service.",
                    count,
                )
                % {"line": line.name, "count": count}
            )
            error.live_bookings = count
            raise error
        if candidates:
            prisoner_ids = sorted({prisoner_id for _pk, prisoner_id in candidates})
            list(
                Prisoner.objects.select_for_update()
                .filter(pk__in=prisoner_ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            booking_ids = [pk for pk, _prisoner_id in candidates]
            list(
                Booking.objects.select_for_update()
                .filter(pk__in=booking_ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            # Read again under the locks: a call started or a booking cancelled meanwhile
            # leaves the booking as it is.
            suspended = list(live.filter(pk__in=booking_ids).values_list("pk", flat=True))
        reason = _(
            "Line “%(line)s” taken out of service: booking cancelled, make-up call owed."
        ) % {"line": line.name}
        Booking.objects.filter(pk__in=suspended).update(
            status=Booking.Status.SUSPENDED, cancel_reason=reason
        )
        for booking_id in suspended:
            audit.record(
                actor=actor,
                action="calls.booking.suspended",
                target=Booking(pk=booking_id),
                site=line.site,
                data={"reason": reason, "line": line.pk},
            )
    line.active = active
    line.save(update_fields=["active"])
    if active:
        audit.record(actor=actor, action="calls.line.activated", target=line, site=line.site)
    else:
        audit.record(
            actor=actor,
            action="calls.line.deactivated",
            target=line,
            site=line.site,
            data={"suspended_bookings": len(suspended)},
        )
    line.suspended_bookings = len(suspended)
    return line


@transaction.atomic
def add_schedule_window(
    *,
    line: Line,
    weekday: int,
    starts_at: datetime.time,
    ends_at: datetime.time,
    slot_minutes: int,
    actor,
) -> ScheduleWindow:
    if ends_at <= starts_at:
        raise CallError({"ends_at": _("The window must end after it starts.")})
    overlapping = ScheduleWindow.objects.filter(
        line=line, weekday=weekday, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if overlapping.exists():
        raise CallError(_("This window overlaps another window of the same line on that day."))
    window = ScheduleWindow.objects.create(
        line=line, weekday=weekday, starts_at=starts_at, ends_at=ends_at, slot_minutes=slot_minutes
    )
    audit.record(actor=actor, action="calls.schedulewindow.added", target=window, site=line.site)
    return window


@transaction.atomic
def remove_schedule_window(*, window: ScheduleWindow, actor) -> None:
    """Remove a weekly window; slots already generated from it stay."""
    audit.record(
        actor=actor,
        action="calls.schedulewindow.removed",
        target=window,
        site=window.line.site,
        data={"window": str(window)},
    )
    window.delete()


def _window_slots(window: ScheduleWindow, day: datetime.date, zone):
    start = datetime.datetime.combine(day, window.starts_at, tzinfo=zone)
    end = datetime.datetime.combine(day, window.ends_at, tzinfo=zone)
    length = datetime.timedelta(minutes=window.slot_minutes)
    while start + length <= end:
        yield CallSlot(line=window.line, starts_at=start, ends_at=start + length)
        start += length


@transaction.atomic
def generate_slots(*, site: Site, date_from: datetime.date, date_to: datetime.date, actor) -> int:
    """Create the slots of the weekly schedule for a date range; return how many are new.

    Slots that already exist, or that would overlap an existing slot of the line,
    are skipped by the database constraint, so running it twice creates nothing.
    """
    if date_to < date_from:
        raise CallError({"date_to": _("The end date is before the start date.")})
    if (date_to - date_from).days > 366:
        raise CallError({"date_to": _("Generate at most a year of slots at once.")})
    windows = list(
        ScheduleWindow.objects.filter(line__site=site, line__active=True).select_related("line")
    )
    candidates = []
    day = date_from
    while day <= date_to:
        for window in windows:
            if window.weekday == day.weekday():
                candidates.extend(_window_slots(window, day, site.zone))
        day += datetime.timedelta(days=1)
    before = CallSlot.objects.filter(line__site=site).count()
    CallSlot.objects.bulk_create(candidates, ignore_conflicts=True, batch_size=1000)
    created = CallSlot.objects.filter(line__site=site).count() - before
    audit.record(
        actor=actor,
        action="calls.slots.generated",
        target=site,
        site=site,
        data={"from": date_from.isoformat(), "to": date_to.isoformat(), "created": created},
    )
    return created


# --- Policy and suspensions -----------------------------------------------------------


@transaction.atomic
def set_call_policy(*, site: Site, effective_from: datetime.date, actor, **terms) -> CallPolicy:
    """Put a new version of the call policy in force from a date; earlier versions stay."""
    if effective_from < site.today():
        raise CallError({"effective_from": _("A policy cannot take effect in the past.")})
    if CallPolicy.objects.filter(site=site, effective_from=effective_from).exists():
        raise CallError({"effective_from": _("A policy already takes effect on this date.")})
    policy = CallPolicy.objects.create(
        site=site, effective_from=effective_from, created_by=actor, **terms
    )
    audit.record(
        actor=actor,
        action="calls.callpolicy.set",
        target=policy,
        site=site,
        data={"effective_from": effective_from.isoformat(), **terms},
    )
    return policy


def _overlap_refusal(
    *, prisoner: Prisoner, starts_on: datetime.date, ends_on: datetime.date
) -> CallError | None:
    """The refusal of a suspension of ``prisoner`` over these days, naming the one it
    would overlap (the earliest); None when it overlaps none."""
    existing = (
        Suspension.objects.filter(prisoner=prisoner, starts_on__lte=ends_on, ends_on__gte=starts_on)
        .order_by("starts_on", "pk")
        .first()
    )
    if existing is None:
        return None
    return CallError(
        _(
            "The prisoner's calls are already suspended from %(from)s until %(until)s "
            "(%(reason)s, %(authority)s). Suspensions of one prisoner may not overlap: "
            "choose days outside that one."
        )
        % {
            "from": existing.starts_on.isoformat(),
            "until": existing.ends_on.isoformat(),
            "reason": existing.get_reason_display(),
            "authority": existing.authority,
        }
    )


@transaction.atomic
def suspend_calls(
    *,
    prisoner: Prisoner,
    reason: str,
    authority: str,
    document_reference: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
    actor,
) -> Suspension:
    """Stop a prisoner's calls from ``starts_on`` to ``ends_on``.

    Refused when it would overlap another suspension of the prisoner, naming that
    one; a database constraint refuses the same, also for writes that arrive
    together. Live bookings inside the suspension that have not led to a call are
    cancelled with the suspension as their reason; ``suspension.cancelled_bookings``
    counts them. The prisoner's row stays locked until commit, so a booking made at
    the same moment is either cancelled here or refused by the suspension.
    """
    if ends_on < starts_on:
        raise CallError({"ends_on": _("The suspension must end on or after its first day.")})
    if reason not in Suspension.Reason.values:
        raise CallError({"reason": _("Choose one of the listed reasons.")})
    prisoner = (
        Prisoner.objects.select_for_update(of=("self",)).select_related("site").get(pk=prisoner.pk)
    )
    dates = {"starts_on": starts_on, "ends_on": ends_on}
    refusal = _overlap_refusal(prisoner=prisoner, **dates)
    if refusal is not None:
        raise refusal
    try:
        with transaction.atomic():
            suspension = Suspension.objects.create(
                prisoner=prisoner,
                reason=reason,
                authority=authority,
                document_reference=document_reference,
                starts_on=starts_on,
                ends_on=ends_on,
                created_by=actor,
            )
    except IntegrityError as error:
        if _constraint_name(error) != "calls_suspension_no_overlap_per_prisoner":
            raise
        refusal = _overlap_refusal(prisoner=prisoner, **dates) or CallError(
            _("The prisoner's calls are already suspended on some of these days.")
        )
        raise refusal from None
    site = prisoner.site
    inside = Booking.objects.select_for_update().filter(
        ~Exists(Call.objects.filter(booking=OuterRef("pk"))),
        prisoner=prisoner,
        status=Booking.Status.BOOKED,
        starts_at__gte=site.day_start(starts_on),
        starts_at__lt=site.day_start(ends_on + datetime.timedelta(days=1)),
    )
    cancel_reason = _("Calls suspended: %(reason)s, %(authority)s.") % {
        "reason": suspension.get_reason_display(),
        "authority": authority,
    }
    cancelled = [booking.pk for booking in inside]
    Booking.objects.filter(pk__in=cancelled).update(
        status=Booking.Status.CANCELLED, cancel_reason=cancel_reason
    )
    for booking_id in cancelled:
        audit.record(
            actor=actor,
            action="calls.booking.cancelled",
            target=Booking(pk=booking_id),
            site=site,
            data={"reason": cancel_reason, "suspension": suspension.pk},
        )
    audit.record(
        actor=actor,
        action="calls.suspension.added",
        target=suspension,
        site=site,
        data={
            "reason": reason,
            "from": starts_on.isoformat(),
            "until": ends_on.isoformat(),
            "cancelled_bookings": cancelled,
        },
    )
    suspension.cancelled_bookings = len(cancelled)
    return suspension


# --- Bookings -------------------------------------------------------------------------


def _raise_refusals(found: list[rules.Refusal]) -> None:
    error = CallError([str(refusal) for refusal in found])
    # Views read these to tell whether a supervisor's override could help.
    error.refusals = list(found)
    raise error


@transaction.atomic
def book_slot(
    *,
    slot: CallSlot,
    prisoner: Prisoner,
    actor,
    override_reason: str = "",
    now: datetime.datetime | None = None,
) -> Booking:
    """Book ``prisoner`` into ``slot``.

    Refused when the prisoner may not call (see ``calls.rules``). A supervisor may
    override refusals of the call policy with a written reason, which is kept.
    Two bookings of one slot, or overlapping bookings of one prisoner, are refused
    by database constraints even when they arrive at the same instant.
    """
    now = now or timezone.now()
    site = slot.line.site
    if prisoner.site_id != site.pk:
        raise CallError(_("The prisoner is held at another site."))
    _refuse_unless_line_in_service(slot.line_id)
    prisoner = _lock_prisoner(prisoner)
    if slot.ends_at <= now:
        raise CallError(_("This slot is over."))
    if slot.suspended_by_id:
        raise CallError(_("This slot was suspended by an air-raid alert."))
    day = slot.starts_at.astimezone(site.zone).date()
    terms = rules.policy_terms(site, day)
    is_supervisor = has_role(actor, *SUPERVISORS)
    if not is_supervisor and not terms.guards_may_book:
        raise CallError(_("The call policy lets only supervisors book slots."))
    makeup = prisoner.is_owed_makeup
    found = rules.refusals(prisoner=prisoner, day=day, terms=terms, makeup=makeup)
    override_reason = override_reason.strip()
    if any(not refusal.overridable for refusal in found):
        _raise_refusals(found)
    if found and not (is_supervisor and override_reason):
        if is_supervisor:
            found.append(
                rules.Refusal("override", _("To book anyway, give a reason for the override."))
            )
        _raise_refusals(found)
    overlap = _("This prisoner is already booked at that time.")
    with refusing_conflicts(
        {
            "calls_booking_one_per_slot": _("This slot is already booked."),
            "calls_booking_no_overlap_per_prisoner": overlap,
        },
        otherwise=overlap,
    ):
        booking = Booking.objects.create(
            slot=slot,
            prisoner=prisoner,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            is_makeup=makeup,
            override_reason=override_reason if found else "",
            booked_by=actor,
        )
    audit.record(
        actor=actor,
        action="calls.booking.created",
        target=booking,
        site=site,
        data={
            "prisoner": prisoner.isn,
            "overridden": [refusal.rule for refusal in found],
            "override_reason": booking.override_reason,
            "makeup": makeup,
        },
    )
    return booking


# How far ahead ``book_next_free_slot`` looks for a slot.
NEXT_SLOT_DAYS = 14


def _free_slots(site: Site, now: datetime.datetime, days: int):
    """Slots of ``site``'s lines in service, not suspended, starting from ``now`` on
    within ``days`` days and holding no live booking; earliest first."""
    return (
        CallSlot.objects.filter(
            ~Exists(
                Booking.objects.filter(slot=OuterRef("pk")).exclude(status=Booking.Status.CANCELLED)
            ),
            line__site=site,
            line__active=True,
            suspended_by__isnull=True,
            starts_at__gte=now,
            starts_at__lt=now + datetime.timedelta(days=days),
        )
        .select_related("line__site")
        .order_by("starts_at", "line__name", "pk")
    )


@transaction.atomic
def book_next_free_slot(
    *, prisoner: Prisoner, actor, now: datetime.datetime | None = None
) -> Booking:
    """Book ``prisoner`` into the earliest free slot of his site, within
    ``NEXT_SLOT_DAYS`` days from ``now``, on a day the rules let him call.

    The day is chosen by asking ``rules.refusals`` for each day that has a free slot;
    the booking itself is made by ``book_slot``, so the same rules (checked again
    under the prisoner's lock), constraints and audit apply. When no day is allowed,
    ``book_slot`` is asked for the earliest free slot and its refusal is raised, the
    same words as anywhere else. A slot taken in the meantime (or one overlapping
    another booking of the prisoner) gives way to the next allowed one. A handful of
    queries per day with a free slot, then those of ``book_slot``.
    """
    now = now or timezone.now()
    prisoner = Prisoner.objects.select_related("site").get(pk=prisoner.pk)
    site = prisoner.site
    slots = list(_free_slots(site, now, NEXT_SLOT_DAYS))
    if not slots:
        raise CallError(
            _("No free slot in the next %(days)d days at this site.") % {"days": NEXT_SLOT_DAYS}
        )
    makeup = prisoner.is_owed_makeup
    allowed_days: dict[datetime.date, bool] = {}

    def allowed(slot: CallSlot) -> bool:
        day = slot.starts_at.astimezone(site.zone).date()
        if day not in allowed_days:
            terms = rules.policy_terms(site, day)
            allowed_days[day] = not rules.refusals(
                prisoner=prisoner, day=day, terms=terms, makeup=makeup
            )
        return allowed_days[day]

    candidates = [slot for slot in slots if allowed(slot)] or slots[:1]
    # Conflicts with another booking: the next candidate may be free of them.
    conflicts = (
        [_("This slot is already booked.")],
        [_("This prisoner is already booked at that time.")],
    )
    for slot in candidates:
        try:
            return book_slot(slot=slot, prisoner=prisoner, actor=actor, now=now)
        except CallError as error:
            if error.messages not in conflicts or slot is candidates[-1]:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@transaction.atomic
def cancel_booking(*, booking: Booking, reason: str, actor) -> Booking:
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.status != Booking.Status.BOOKED:
        raise CallError(_("Only a live booking can be cancelled."))
    if booking.calls.exists():
        raise CallError(_("A call was already made in this slot; it cannot be cancelled."))
    if not reason.strip():
        raise CallError({"reason": _("Give the reason for cancelling.")})
    booking.status = Booking.Status.CANCELLED
    booking.cancel_reason = reason.strip()
    booking.save(update_fields=["status", "cancel_reason"])
    audit.record(
        actor=actor,
        action="calls.booking.cancelled",
        target=booking,
        site=booking.slot.line.site,
        data={"reason": booking.cancel_reason},
    )
    return booking


@transaction.atomic
def mark_no_show(*, booking: Booking, actor, now: datetime.datetime | None = None) -> Booking:
    now = now or timezone.now()
    booking = (
        Booking.objects.select_for_update().select_related("slot__line__site").get(pk=booking.pk)
    )
    if booking.status != Booking.Status.BOOKED:
        raise CallError(_("Only a live booking can be marked as a no-show."))
    if booking.slot.starts_at > now:
        raise CallError(_("The slot has not started yet."))
    if booking.calls.exists():
        raise CallError(_("A call was made in this slot."))
    booking.status = Booking.Status.NO_SHOW
    booking.save(update_fields=["status"])
    audit.record(
        actor=actor, action="calls.booking.no_show", target=booking, site=booking.slot.line.site
    )
    return booking


# --- Calls at the desk ----------------------------------------------------------------


def _used_time(booking: Booking) -> datetime.timedelta:
    return booking.calls.filter(ended_at__isnull=False).aggregate(used=Sum("elapsed"))[
        "used"
    ] or datetime.timedelta(0)


@transaction.atomic
def start_call(
    *,
    line: Line,
    prisoner: Prisoner,
    contact: Contact,
    actor,
    booking: Booking | None = None,
    now: datetime.datetime | None = None,
) -> Call:
    """Start a monitored call on ``line``; the monitor is ``actor``, the time the server's.

    With a booking, the slot's time limit counts every attempt made in it. Without
    one the call is unscheduled: the line must be free and the prisoner eligible.
    """
    now = now or timezone.now()
    site = line.site
    day = now.astimezone(site.zone).date()
    if prisoner.site_id != site.pk:
        raise CallError(_("The prisoner is held at another site."))
    _refuse_unless_line_in_service(line.pk)
    prisoner = _lock_prisoner(prisoner)
    if selectors.active_alert(site):
        raise CallError(_("An air-raid alert is in progress: no calls until the all clear."))
    if contact.prisoner_id != prisoner.pk or contact.status != Contact.Status.APPROVED:
        raise CallError({"contact": _("Choose one of the prisoner's approved contacts.")})
    terms = rules.policy_terms(site, day)
    limit = datetime.timedelta(minutes=terms.max_minutes)
    if booking is not None:
        booking = Booking.objects.select_for_update().select_related("slot").get(pk=booking.pk)
        if booking.prisoner_id != prisoner.pk or booking.slot.line_id != line.pk:
            raise CallError(_("This booking is for another prisoner or line."))
        if booking.status != Booking.Status.BOOKED:
            raise CallError(
                _("This booking is %(status)s.") % {"status": booking.get_status_display().lower()}
            )
        if booking.slot.suspended_by_id:
            raise CallError(_("This slot was suspended by an air-raid alert."))
        if not booking.slot.starts_at - rules.EARLY_START <= now < booking.slot.ends_at:
            raise CallError(_("This slot is not open now."))
        found = [
            refusal
            for refusal in rules.refusals(prisoner=prisoner, day=day, terms=terms, makeup=True)
            if not refusal.overridable
        ]
        if found:
            _raise_refusals(found)
        remaining = limit - _used_time(booking)
        if remaining <= datetime.timedelta(0):
            raise CallError(_("The time of this slot is used up."))
        makeup = booking.is_makeup
    else:
        if selectors.line_has_booked_slot(line, now):
            raise CallError(_("A booked prisoner holds this line now; use the booking."))
        makeup = prisoner.is_owed_makeup
        found = rules.refusals(prisoner=prisoner, day=day, terms=terms, makeup=makeup)
        if found:
            _raise_refusals(found)
        remaining = limit
    line_busy = _("A call is already in progress on this line.")
    with refusing_conflicts(
        {
            "calls_call_one_in_progress_per_prisoner": _("This prisoner is already on a call."),
            "calls_call_one_in_progress_per_line": line_busy,
        },
        otherwise=line_busy,
    ):
        call = Call.objects.create(
            site=site,
            prisoner=prisoner,
            contact=contact,
            number_dialled=contact.phone_number,
            locality=contact.locality,
            line=line,
            booking=booking,
            policy=terms.policy,
            started_at=now,
            deadline=now + remaining,
            monitor=actor,
            is_makeup=makeup,
        )
    audit.record(
        actor=actor,
        action="calls.call.started",
        target=call,
        site=site,
        data={"prisoner": prisoner.isn, "line": line.name, "scheduled": booking is not None},
    )
    return call


@transaction.atomic
def end_call(
    *,
    call: Call,
    outcome: str,
    actor,
    language: str = "",
    notes: str = "",
    flag_reason: str = "",
    now: datetime.datetime | None = None,
) -> Call:
    """End a call in progress, once: the row lock makes a second, simultaneous end fail.

    Elapsed time is derived from the server's start and end. A call that ran past
    its limit is flagged for review automatically.
    """
    now = now or timezone.now()
    if outcome not in Outcome.values:
        raise CallError({"outcome": _("Choose an outcome.")})
    call = Call.objects.select_for_update().get(pk=call.pk)
    if not call.is_open:
        raise CallError(_("This call has already ended."))
    reasons = [flag_reason.strip()] if flag_reason.strip() else []
    call.over_limit = now > call.deadline
    if call.over_limit:
        reasons.append(_("Ran past the time limit."))
    call.ended_at = now
    call.outcome = outcome
    call.language = language
    call.notes = notes
    call.flagged = bool(reasons)
    call.flag_reason = " ".join(reasons)
    call.save(
        update_fields=[
            "ended_at",
            "outcome",
            "language",
            "notes",
            "flagged",
            "flag_reason",
            "over_limit",
        ]
    )
    audit.record(
        actor=actor,
        action="calls.call.ended",
        target=call,
        site=call.site,
        data={"outcome": outcome, "flagged": call.flagged},
    )
    return call


# --- Air-raid alerts ------------------------------------------------------------------


def _suspend_slots(alert: AirRaidAlert, slots) -> int:
    slot_ids = list(slots.filter(suspended_by__isnull=True).values_list("pk", flat=True))
    CallSlot.objects.filter(pk__in=slot_ids).update(suspended_by=alert)
    # A slot whose call connected before the siren has had its call; nothing is owed.
    Booking.objects.filter(slot_id__in=slot_ids, status=Booking.Status.BOOKED).exclude(
        calls__outcome=Outcome.CONNECTED
    ).update(status=Booking.Status.SUSPENDED)
    return len(slot_ids)


@transaction.atomic
def start_alert(*, site: Site, actor, now: datetime.datetime | None = None) -> AirRaidAlert:
    """Siren: end every call in progress as interrupted and suspend the slots in progress."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            alert = AirRaidAlert.objects.create(site=site, started_at=now, started_by=actor)
    except IntegrityError:
        raise CallError(_("An air-raid alert is already in progress at this site.")) from None
    interrupted = 0
    for call in Call.objects.select_for_update().filter(site=site, ended_at__isnull=True):
        call.ended_at = now
        call.outcome = Outcome.INTERRUPTED_BY_ALERT
        call.save(update_fields=["ended_at", "outcome"])
        interrupted += 1
    suspended = _suspend_slots(alert, selectors.slots_in_progress(site, now))
    audit.record(
        actor=actor,
        action="calls.alert.started",
        target=alert,
        site=site,
        data={"interrupted_calls": interrupted, "suspended_slots": suspended},
    )
    return alert


@transaction.atomic
def end_alert(*, alert: AirRaidAlert, actor, now: datetime.datetime | None = None) -> AirRaidAlert:
    """All clear: every slot inside the alert is suspended, its prisoner owed a make-up."""
    now = now or timezone.now()
    alert = AirRaidAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.ended_at is not None:
        raise CallError(_("This alert has already ended."))
    alert.ended_at = now
    alert.ended_by = actor
    alert.save(update_fields=["ended_at", "ended_by"])
    inside = CallSlot.objects.filter(
        line__site=alert.site, starts_at__lt=now, ends_at__gt=alert.started_at
    )
    suspended = _suspend_slots(alert, inside)
    audit.record(
        actor=actor,
        action="calls.alert.ended",
        target=alert,
        site=alert.site,
        data={"suspended_slots": suspended},
    )
    return alert


# --- The logbook ----------------------------------------------------------------------


def may_amend(call: Call, user) -> bool:
    """Supervisors amend any entry; the monitor amends their own on the day of the call."""
    if call.is_open:
        return False
    if has_role(user, *SUPERVISORS):
        return True
    zone = call.site.zone
    return (
        call.monitor_id == user.pk and call.started_at.astimezone(zone).date() == call.site.today()
    )


def _jsonable(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


@transaction.atomic
def amend_call(*, call: Call, changes: dict, reason: str, actor) -> Amendment:
    """Correct a closed entry with an amendment: each field's old and new value, the
    reason, the author and the time. A database trigger applies it to the entry's
    columns in this transaction, so ``call`` comes back holding the current values."""
    call = Call.objects.select_for_update().select_related("site").get(pk=call.pk)
    if not may_amend(call, actor):
        raise CallError(_("You may not amend this entry."))
    if not reason.strip():
        raise CallError({"reason": _("Give the reason for the amendment.")})
    unknown = set(changes) - set(AMENDABLE_FIELDS)
    if unknown:
        raise CallError(
            _("These fields cannot be amended: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    current = call.amendable_values()
    diff = {
        name: {"from": _jsonable(current[name]), "to": _jsonable(value)}
        for name, value in changes.items()
        if current[name] != value
    }
    if not diff:
        raise CallError(_("Nothing would change."))
    after = {**current, **{name: changes[name] for name in diff}}
    errors = {}
    if after["ended_at"] is None or after["ended_at"] < after["started_at"]:
        errors["ended_at"] = _("The call cannot end before it started.")
    if after["outcome"] not in Outcome.values:
        errors["outcome"] = _("Choose an outcome.")
    if after["flagged"] and not after["flag_reason"].strip():
        errors["flag_reason"] = _("Give the reason for flagging.")
    if current["flagged"] and not after["flagged"] and not has_role(actor, *SUPERVISORS):
        # The flag asks a supervisor to look; the monitor cannot withdraw that request.
        errors["flagged"] = _("Only a supervisor can clear a review flag.")
    if errors:
        raise CallError(errors)
    amendment = Amendment.objects.create(
        call=call, changes=diff, reason=reason.strip(), author=actor
    )
    call.refresh_from_db()
    audit.record(
        actor=actor,
        action="calls.call.amended",
        target=call,
        site=call.site,
        data={"amendment": amendment.pk, "fields": sorted(diff)},
    )
    return amendment


@transaction.atomic
def transcribe_call(
    *,
    site: Site,
    prisoner: Prisoner,
    number_dialled: str,
    locality: str,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    outcome: str,
    actor,
    monitor=None,
    line: Line | None = None,
    contact: Contact | None = None,
    language: str = "",
    notes: str = "",
) -> Call:
    """Enter a past call from the paper logbook, marked as transcribed by ``actor``.

    ``monitor`` is the guard named in the paper book, when known; otherwise ``actor``.
    """
    errors = {}
    if prisoner.site_id != site.pk:
        errors["prisoner"] = _("The prisoner is held at another site.")
    if line is not None and line.site_id != site.pk:
        errors["line"] = _("The line belongs to another site.")
    if contact is not None and contact.prisoner_id != prisoner.pk:
        errors["contact"] = _("This contact belongs to another prisoner.")
    if ended_at < started_at:
        errors["ended_at"] = _("The call cannot end before it started.")
    if ended_at > timezone.now():
        errors["ended_at"] = _("A transcribed call must lie in the past.")
    if outcome not in Outcome.values:
        errors["outcome"] = _("Choose an outcome.")
    if errors:
        raise CallError(errors)
    terms = rules.policy_terms(site, started_at.astimezone(site.zone).date())
    deadline = started_at + datetime.timedelta(minutes=terms.max_minutes)
    call = Call.objects.create(
        site=site,
        prisoner=prisoner,
        contact=contact,
        number_dialled=number_dialled,
        locality=locality,
        line=line,
        policy=terms.policy,
        started_at=started_at,
        deadline=deadline,
        over_limit=ended_at > deadline,
        ended_at=ended_at,
        outcome=outcome,
        language=language,
        notes=notes,
        monitor=monitor or actor,
        transcribed_by=actor,
    )
    audit.record(
        actor=actor,
        action="calls.call.transcribed",
        target=call,
        site=site,
        data={"prisoner": prisoner.isn, "started_at": started_at.isoformat()},
    )
    return call
