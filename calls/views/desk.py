"""The guard's desk: today's slots, the calls in progress, the air-raid alert.

Every change goes through ``calls.services``; objects come from the
``get_*_for_user`` selectors, so another site's objects answer 404. Mutating views
accept POST only and redirect after success (Post/Redirect/Get); a repeated
submission meets the services' row locks and constraints and changes nothing.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib import messages
from django.db import models
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls import rules, selectors, services
from calls.forms.desk import CallEndForm, CallStartForm, UnscheduledCallForm
from calls.models import Booking, Call, CallSlot, Line, Outcome
from calls.services import CallError
from camp.forms import add_service_error
from camp.roles import STAFF, role_required
from camp.templatetags.durations import duration_labels, format_duration

# The countdown turns to a warning this long before the time limit.
WARN_BEFORE = datetime.timedelta(minutes=2)
# The desk lists the slots starting within this time; the rest of the day is one click away.
DESK_AHEAD = datetime.timedelta(hours=2)
# The open desk asks the server for its panels this often (static/js/desk-refresh.js).
REFRESH_SECONDS = 5


class SlotState(models.TextChoices):
    FREE = "free", gettext_lazy("Free")
    UNUSED = "unused", gettext_lazy("Not used")
    BOOKED = "booked", gettext_lazy("Booked")
    IN_CALL = "in_call", gettext_lazy("In call")
    DONE = "done", gettext_lazy("Call made")
    NO_SHOW = "no_show", gettext_lazy("No-show")
    SUSPENDED = "suspended", gettext_lazy("Suspended by alert")
    LINE_OUT = "line_out", gettext_lazy("Line out of service")


# Bootstrap badge of each state.
STATE_BADGES = {
    SlotState.FREE: "text-bg-light border",
    SlotState.UNUSED: "text-bg-light text-body-secondary",
    SlotState.BOOKED: "text-bg-primary",
    SlotState.IN_CALL: "text-bg-success",
    SlotState.DONE: "text-bg-secondary",
    SlotState.NO_SHOW: "text-bg-warning",
    SlotState.SUSPENDED: "text-bg-danger",
    SlotState.LINE_OUT: "text-bg-dark",
}

# What the guard reads under a booked slot that no action can serve any more.
LINE_OUT_NOTES = {
    Booking.Status.SUSPENDED: gettext_lazy(
        "Line out of service — booking cancelled, make-up call owed."
    ),
    Booking.Status.BOOKED: gettext_lazy(
        "Line out of service — no call in this slot; a supervisor decides on a make-up call."
    ),
}


@dataclass
class DeskSlot:
    """A slot as the desk shows it: who holds it, its state and what the guard may do."""

    slot: CallSlot
    booking: Booking | None
    state: SlotState
    is_over: bool
    can_start: bool
    can_no_show: bool
    # A call in progress on the slot's line: the booked call waits for it to end.
    line_busy: bool = False
    # Why a booked slot offers no action, when its state alone does not say.
    note: str = ""

    @property
    def badge(self) -> str:
        return STATE_BADGES[self.state]

    @property
    def last_outcome_label(self) -> str:
        outcome = getattr(self.booking, "last_outcome", None)
        return Outcome(outcome).label if outcome else ""


@dataclass
class DeskLine:
    line: Line
    slots: list[DeskSlot] = field(default_factory=list)
    call: Call | None = None
    # Free slots of the coming hours left out of the short view.
    hidden_free: int = 0


def _desk_slot(
    slot: CallSlot, *, now: datetime.datetime, alert_active: bool, busy_lines: set[int]
) -> DeskSlot:
    booking = slot.live_bookings[0] if slot.live_bookings else None
    suspended = slot.suspended_by_id is not None
    if booking is None and suspended:
        state = SlotState.SUSPENDED
    elif booking is None:
        state = SlotState.UNUSED if slot.ends_at <= now else SlotState.FREE
    elif booking.status == Booking.Status.NO_SHOW:
        state = SlotState.NO_SHOW
    elif booking.has_open_call:
        state = SlotState.IN_CALL
    elif booking.status == Booking.Status.SUSPENDED and not suspended:
        # Outside an alert, only taking its line out of service suspends a booking.
        state = SlotState.LINE_OUT
    elif booking.status == Booking.Status.SUSPENDED or (suspended and not booking.has_calls):
        state = SlotState.SUSPENDED
    elif booking.has_calls:
        state = SlotState.DONE
    elif not slot.line.active:
        # Booked before the line went out of service, and not cancelled then.
        state = SlotState.LINE_OUT
    else:
        state = SlotState.BOOKED
    return DeskSlot(
        slot=slot,
        booking=booking,
        state=state,
        is_over=slot.ends_at <= now,
        can_start=booking is not None
        and rules.booking_may_start(
            booking=booking,
            slot=slot,
            now=now,
            alert_active=alert_active,
            line_busy=slot.line_id in busy_lines,
        ),
        can_no_show=booking is not None
        and rules.booking_may_be_no_show(
            booking=booking, slot=slot, now=now, has_calls=booking.has_calls
        ),
        line_busy=slot.line_id in busy_lines,
        note=LINE_OUT_NOTES[booking.status] if state == SlotState.LINE_OUT else "",
    )


def countdown_labels() -> dict[str, str]:
    """The clocks' words, for the server's text and for static/js/desk.js alike."""
    return {
        "left": _("%(time)s left"),
        "over": _("over by %(time)s"),
        **{f"duration_{key}": label for key, label in duration_labels().items()},
    }


def _countdown(delta: datetime.timedelta) -> str:
    label = countdown_labels()["left" if delta >= datetime.timedelta(0) else "over"]
    return label % {"time": format_duration(abs(delta))}


def _local_time(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _no_site(request):
    return render(request, "calls/desk_no_site.html")


# --- The desk -------------------------------------------------------------------------


def _desk_panels(site, *, whole_day: bool) -> dict:
    """What the desk's live panels show (``calls/_desk_live.html``): the alert, the calls in
    progress, the next due, the make-up list with a free line for each, the slots by line
    and the suspensions. A fixed number of queries however many slots and calls.

    The short view (``whole_day`` false) lists, of the coming hours, each line's slot in
    progress and the slots someone holds; the free ones are counted, one click away.
    """
    now = timezone.now()
    alert = selectors.active_alert(site)
    calls = list(selectors.calls_in_progress(site=site))
    for call in calls:
        call.countdown = _countdown(call.deadline - now)
        call.warning = call.deadline - now <= WARN_BEFORE
    lines = {line.pk: DeskLine(line) for line in Line.objects.filter(site=site).order_by("name")}
    for call in calls:
        if call.line_id in lines:
            lines[call.line_id].call = call
    busy_lines = {call.line_id for call in calls}
    rows = [
        _desk_slot(slot, now=now, alert_active=alert is not None, busy_lines=busy_lines)
        for slot in selectors.desk_slots(
            site=site, day=site.today(), now=now, ahead=None if whole_day else DESK_AHEAD
        )
    ]
    held_lines = {
        row.slot.line_id
        for row in rows
        if row.booking and rules.booking_holds_line(booking=row.booking, slot=row.slot, now=now)
    }
    for row in rows:
        desk_line = lines[row.slot.line_id]
        in_progress = row.slot.starts_at <= now < row.slot.ends_at
        if whole_day or in_progress or row.state not in (SlotState.FREE, SlotState.UNUSED):
            desk_line.slots.append(row)
        else:
            desk_line.hidden_free += 1
    next_due = sorted(
        (row for row in rows if row.state == SlotState.BOOKED and row.slot.ends_at > now),
        key=lambda row: (row.slot.starts_at, row.slot.line.name),
    )
    free_line = (
        None
        if alert
        else rules.line_for_unscheduled_call(
            [desk_line.line for desk_line in lines.values()], busy=busy_lines, held=held_lines
        )
    )
    return {
        "site": site,
        "now": now,
        "labels": countdown_labels(),
        "alert": alert,
        "calls": calls,
        "lines": list(lines.values()),
        # Lines out of service fold away below the others.
        "lines_in_service": [desk_line for desk_line in lines.values() if desk_line.line.active],
        "lines_out": [desk_line for desk_line in lines.values() if not desk_line.line.active],
        "hidden_free": sum(
            desk_line.hidden_free for desk_line in lines.values() if desk_line.line.active
        ),
        "next_due": next_due,
        # The shortcut S starts the first call that may start now.
        "start_next": next((row for row in next_due if row.can_start), None),
        "whole_day": whole_day,
        "ahead_hours": DESK_AHEAD.seconds // 3600,
        "makeup": list(selectors.makeup_owed(site=site)),
        "makeup_line": free_line,
        "suspended": list(selectors.suspended_today(site=site, day=site.today())),
    }


@require_GET
@role_required(*STAFF)
def desk(request):
    """Today at the desk's site: what is happening now and what comes next, or with
    ``?day=all`` every slot of the day. The page then keeps itself up to date from
    ``desk_live``."""
    site = request.site
    if site is None:
        return _no_site(request)
    whole_day = request.GET.get("day") == "all"
    return render(
        request,
        "calls/desk.html",
        {
            **_desk_panels(site, whole_day=whole_day),
            "refresh_seconds": REFRESH_SECONDS,
            "unscheduled_form": UnscheduledCallForm(site=site),
        },
    )


@require_GET
@role_required(*STAFF)
def desk_live(request):
    """The desk's live panels alone, as HTML, for the open desk to swap in every few seconds
    (``static/js/desk-refresh.js``): an alert or a booking made at another terminal shows
    without reloading. Each request also counts as activity for the session's idle limit,
    so an open desk keeps its session (``camp.middleware.SessionTimeoutMiddleware``)."""
    if request.site is None:
        raise Http404
    return render(
        request,
        "calls/_desk_live.html",
        _desk_panels(request.site, whole_day=request.GET.get("day") == "all"),
    )


# --- Starting and ending calls --------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def call_start(request):
    """Start a call: ``?booking=<id>`` for a booked slot, or ``?line=<id>&prisoner=<ISN>``.

    GET shows the prisoner's approved contacts; POST starts the call with the one chosen.
    """
    booking = None
    if "booking" in request.GET:
        booking = selectors.get_booking_for_user(user=request.user, pk=request.GET["booking"])
        line, prisoner = booking.slot.line, booking.prisoner
    else:
        if request.site is None:
            return _no_site(request)
        choose_form = UnscheduledCallForm(request.GET or None, site=request.site)
        if not choose_form.is_valid():
            return render(request, "calls/desk_call_choose.html", {"form": choose_form})
        line = choose_form.cleaned_data["line"]
        prisoner = choose_form.cleaned_data["prisoner"]
    data = request.POST if request.method == "POST" else None
    form = CallStartForm(data, prisoner=prisoner)
    if form.is_valid():
        contact = form.cleaned_data["contact"]
        try:
            call = services.start_call(
                line=line, prisoner=prisoner, contact=contact, actor=request.user, booking=booking
            )
        except CallError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _(
                    "Call started on %(line)s: %(prisoner)s (%(isn)s) is calling %(contact)s, "
                    "%(number)s. Time limit %(deadline)s."
                )
                % {
                    "line": line.name,
                    "prisoner": prisoner.display_name,
                    "isn": prisoner.isn,
                    # A relative's name often carries the surname a withheld identity hides.
                    "contact": contact.get_relationship_display()
                    if prisoner.is_withheld
                    else contact.name,
                    "number": call.number_dialled,
                    "deadline": _local_time(call.deadline),
                },
            )
            return redirect("calls:desk")
    return render(
        request,
        "calls/desk_call_start.html",
        {
            "form": form,
            "line": line,
            "prisoner": prisoner,
            "booking": booking,
            "booking_is_live": booking is None or booking.status == Booking.Status.BOOKED,
            "owed_makeup": booking is None and prisoner.is_owed_makeup,
        },
    )


def _already_ended(request):
    messages.warning(request, _("This call has already ended; it was not ended again."))
    return redirect("calls:desk")


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def call_end(request, pk):
    call = selectors.get_call_for_user(user=request.user, pk=pk)
    if not call.is_open:
        return _already_ended(request)
    data = request.POST if request.method == "POST" else None
    language = (call.contact.language if call.contact else "") or next(
        iter(call.prisoner.languages), ""
    )
    form = CallEndForm(data, initial={"language": language})
    if form.is_valid():
        try:
            ended = services.end_call(call=call, actor=request.user, **form.cleaned_data)
        except CallError as error:
            call.refresh_from_db(fields=["ended_at"])
            if not call.is_open:
                # Ended meanwhile, by a second submission or another guard.
                return _already_ended(request)
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("Call of %(prisoner)s (%(isn)s) ended: %(outcome)s after %(elapsed)s.")
                % {
                    "prisoner": call.prisoner.display_name,
                    "isn": call.prisoner.isn,
                    "outcome": ended.get_outcome_display(),
                    "elapsed": format_duration(ended.ended_at - ended.started_at),
                },
            )
            if ended.flagged:
                messages.warning(
                    request,
                    _("The call is flagged for supervisor review: %(reason)s")
                    % {"reason": ended.flag_reason},
                )
            return redirect("calls:desk")
    now = timezone.now()
    return render(
        request,
        "calls/desk_call_end.html",
        {
            "form": form,
            "call": call,
            "now": now,
            "labels": countdown_labels(),
            "elapsed": format_duration(now - call.started_at),
            "countdown": _countdown(call.deadline - now),
            "warning": call.deadline - now <= WARN_BEFORE,
        },
    )


# --- Bookings -------------------------------------------------------------------------


@require_POST
@role_required(*STAFF)
def booking_no_show(request, pk):
    booking = selectors.get_booking_for_user(user=request.user, pk=pk)
    try:
        services.mark_no_show(booking=booking, actor=request.user)
    except CallError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(prisoner)s (%(isn)s) marked as a no-show for %(line)s at %(time)s.")
            % {
                "prisoner": booking.prisoner.display_name,
                "isn": booking.prisoner.isn,
                "line": booking.slot.line.name,
                "time": _local_time(booking.slot.starts_at),
            },
        )
    return redirect("calls:desk")


# --- Air-raid alerts ------------------------------------------------------------------


@require_POST
@role_required(*STAFF)
def alert_start(request):
    """Siren: any staff member may sound it for the desk's site."""
    site = request.site
    if site is None:
        messages.error(request, _("You are not assigned to a site."))
        return redirect("calls:desk")
    try:
        alert = services.start_alert(site=site, actor=request.user)
    except CallError as error:
        messages.warning(request, " ".join(error.messages))
        return redirect("calls:desk")
    interrupted = Call.objects.filter(
        site=site, outcome=Outcome.INTERRUPTED_BY_ALERT, ended_at=alert.started_at
    ).count()
    suspended = alert.suspended_slots.count()
    messages.warning(
        request,
        " ".join(
            [
                _("Air-raid alert sounded at %(time)s. Everyone to the shelter.")
                % {"time": _local_time(alert.started_at)},
                ngettext(
                    "%(count)d call in progress was interrupted.",
                    "%(count)d calls in progress were interrupted.",
                    interrupted,
                )
                % {"count": interrupted},
                ngettext(
                    "%(count)d slot suspended so far.",
                    "%(count)d slots suspended so far.",
                    suspended,
                )
                % {"count": suspended},
            ]
        ),
    )
    return redirect("calls:desk")


@require_POST
@role_required(*STAFF)
def alert_end(request, pk):
    """All clear: any staff member may give it."""
    alert = selectors.get_alert_for_user(user=request.user, pk=pk)
    try:
        alert = services.end_alert(alert=alert, actor=request.user)
    except CallError as error:
        messages.warning(request, " ".join(error.messages))
        return redirect("calls:desk")
    slots = alert.suspended_slots.count()
    bookings = Booking.objects.filter(
        slot__suspended_by=alert, status=Booking.Status.SUSPENDED
    ).count()
    messages.success(
        request,
        " ".join(
            [
                _("All clear at %(time)s; the alert lasted %(duration)s.")
                % {
                    "time": _local_time(alert.ended_at),
                    "duration": format_duration(alert.ended_at - alert.started_at),
                },
                ngettext(
                    "%(count)d slot was suspended by it.",
                    "%(count)d slots were suspended by it.",
                    slots,
                )
                % {"count": slots},
                ngettext(
                    "%(count)d booking was suspended; its prisoner is owed a make-up call.",
                    "%(count)d bookings were suspended; their prisoners are owed a make-up call.",
                    bookings,
                )
                % {"count": bookings},
            ]
        ),
    )
    return redirect("calls:desk")
