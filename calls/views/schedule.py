"""Supervisors' pages: lines, the weekly schedule, slots, the call policy, bookings
and suspensions.

Every change goes through ``calls.services``; objects are fetched through the
``get_*_for_user`` selectors, so another site's objects answer 404.
"""

import datetime
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from calls import rules, selectors, services
from calls.forms.schedule import (
    BookingForm,
    CancelBookingForm,
    GenerateSlotsForm,
    LineForm,
    LineServiceForm,
    PolicyForm,
    PrisonerSearchForm,
    SuspensionForm,
    WindowForm,
    parse_day,
)
from calls.models import CallPolicy
from calls.services import CallError
from camp.forms import add_service_error
from camp.models import Site
from camp.roles import SUPERVISORS, Role, has_role, is_supervisor, role_required
from prisoners.selectors import get_prisoner_for_user, prisoner_search

ONE_DAY = datetime.timedelta(days=1)
# What the "generate slots" form proposes: the next four weeks.
GENERATE_AHEAD = datetime.timedelta(days=27)
# The booking form lists at most this many prisoners found by name, each checked
# against the rules (a handful of queries each).
MAX_CANDIDATES = 10


def _site_required(view):
    """The schedule belongs to the staff member's site; without one there is nothing to show."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.site is None:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def may_book(user, site: Site | None) -> bool:
    """Supervisors book slots; guards too while the policy in force today lets them.

    Guards' access costs one query for the policy; the booking service checks the
    policy of the slot's own day again.
    """
    if has_role(user, *SUPERVISORS):
        return True
    if site is None or not has_role(user, Role.GUARD):
        return False
    return rules.policy_terms(site, site.today()).guards_may_book


def _booking_staff(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_book(request.user, request.site):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _local_day(moment: datetime.datetime, site: Site) -> datetime.date:
    return moment.astimezone(site.zone).date()


def _booking_list_url(day: datetime.date) -> str:
    return f"{reverse('calls:booking-list')}?{urlencode({'day': day.isoformat()})}"


# --- The schedule page ----------------------------------------------------------------


def _render_schedule(request, *, line_form=None, window_form=None, generate_form=None):
    """The schedule page, with any bound form that failed to validate in place of a blank one."""
    site = request.site
    today = site.today()
    policies = list(selectors.policy_history(site=site))
    in_force = next((policy for policy in policies if policy.effective_from <= today), None)
    last_slot = selectors.last_slot_start(site=site)
    last_slot_day = _local_day(last_slot, site) if last_slot else None
    # Propose to continue where the generated slots end.
    propose_from = max(today, last_slot_day + ONE_DAY) if last_slot_day else today
    lines = selectors.schedule_lines(site=site)
    context = {
        "site": site,
        "today": today,
        "lines": lines,
        "line_form": line_form or LineForm(),
        "window_form": window_form or WindowForm(site=site),
        "generate_form": generate_form
        or GenerateSlotsForm(
            initial={"date_from": propose_from, "date_to": propose_from + GENERATE_AHEAD}
        ),
        "policies": policies,
        "policy_in_force": in_force,
        # Shown when no version was ever set: the camp defaults apply.
        "default_policy": None if in_force else CallPolicy(site=site),
        "last_slot_day": last_slot_day,
    }
    return render(request, "calls/schedule.html", context)


@require_GET
@role_required(*SUPERVISORS)
@_site_required
def schedule(request):
    return _render_schedule(request)


@require_POST
@role_required(*SUPERVISORS)
@_site_required
def line_add(request):
    form = LineForm(request.POST)
    if form.is_valid():
        try:
            line = services.add_line(
                site=request.site, name=form.cleaned_data["name"], actor=request.user
            )
        except CallError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Line “%(name)s” added.") % {"name": line.name})
            return redirect("calls:schedule")
    return _render_schedule(request, line_form=form)


@require_POST
@role_required(*SUPERVISORS)
def line_toggle(request, pk):
    """Put a line in or out of service.

    A line that still holds live bookings is not taken out at once: the answer is
    a page that says how many and asks to cancel them or keep the line in service.
    """
    line = selectors.get_line_for_user(user=request.user, pk=pk)
    form = LineServiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the line is in service."))
        return redirect("calls:schedule")
    active, answer = form.cleaned_data["active"], form.cleaned_data["bookings"]
    if not active and answer == LineServiceForm.KEEP_IN_SERVICE:
        messages.info(
            request, _("“%(name)s” stays in service; its bookings stand.") % {"name": line.name}
        )
        return redirect("calls:schedule")
    try:
        line = services.set_line_active(
            line=line,
            active=active,
            actor=request.user,
            cancel_bookings=answer == LineServiceForm.CANCEL_BOOKINGS,
        )
    except CallError as error:
        live_bookings = getattr(error, "live_bookings", 0)
        if not live_bookings:
            messages.error(request, " ".join(error.messages))
            return redirect("calls:schedule")
        return render(
            request,
            "calls/line_service_confirm.html",
            {
                "line": line,
                "refusal": " ".join(error.messages),
                "live_bookings": live_bookings,
                "cancel_value": LineServiceForm.CANCEL_BOOKINGS,
                "keep_value": LineServiceForm.KEEP_IN_SERVICE,
            },
        )
    if line.active:
        messages.success(request, _("“%(name)s” is in service.") % {"name": line.name})
        return redirect("calls:schedule")
    messages.success(
        request,
        _("“%(name)s” is out of service; no new slots are generated for it.") % {"name": line.name},
    )
    if line.suspended_bookings:
        messages.warning(
            request,
            ngettext(
                "%(count)d booking was cancelled; its prisoner is owed a make-up call.",
                "%(count)d bookings were cancelled; their prisoners are owed a make-up call.",
                line.suspended_bookings,
            )
            % {"count": line.suspended_bookings},
        )
    return redirect("calls:schedule")


@require_POST
@role_required(*SUPERVISORS)
@_site_required
def window_add(request):
    form = WindowForm(request.POST, site=request.site)
    if form.is_valid():
        try:
            window = services.add_schedule_window(**form.cleaned_data, actor=request.user)
        except CallError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Window %(window)s added.") % {"window": window})
            return redirect("calls:schedule")
    return _render_schedule(request, window_form=form)


@require_POST
@role_required(*SUPERVISORS)
def window_remove(request, pk):
    window = selectors.get_window_for_user(user=request.user, pk=pk)
    label = str(window)
    services.remove_schedule_window(window=window, actor=request.user)
    messages.success(
        request,
        _("Window %(window)s removed; slots already generated from it stay.") % {"window": label},
    )
    return redirect("calls:schedule")


@require_POST
@role_required(*SUPERVISORS)
@_site_required
def slots_generate(request):
    form = GenerateSlotsForm(request.POST)
    if form.is_valid():
        try:
            created = services.generate_slots(
                site=request.site,
                date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
                actor=request.user,
            )
        except CallError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                ngettext("%(count)d slot created.", "%(count)d slots created.", created)
                % {"count": created},
            )
            return redirect("calls:schedule")
    return _render_schedule(request, generate_form=form)


@require_http_methods(["GET", "POST"])
@role_required(*SUPERVISORS)
@_site_required
def policy_add(request):
    site = request.site
    today = site.today()
    current = CallPolicy.objects.in_force(site, today) or CallPolicy(site=site)
    initial = {
        "effective_from": today + ONE_DAY,
        "calls_open": current.calls_open,
        "max_minutes": current.max_minutes,
        "min_days_between": current.min_days_between,
        "max_calls_per_month": current.max_calls_per_month,
        "guards_may_book": current.guards_may_book,
    }
    data = request.POST if request.method == "POST" else None
    form = PolicyForm(data, initial=initial, site=site)
    if form.is_valid():
        try:
            policy = services.set_call_policy(
                site=site,
                effective_from=form.cleaned_data["effective_from"],
                actor=request.user,
                **form.terms(),
            )
        except CallError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("The new call policy is in force from %(date)s.")
                % {"date": date_format(policy.effective_from)},
            )
            return redirect("calls:schedule")
    return render(
        request,
        "calls/policy_form.html",
        {"form": form, "site": site, "current": current if current.pk else None},
    )


# --- Bookings -------------------------------------------------------------------------


@require_GET
@_booking_staff
def booking_list(request):
    """A day's slots by line with their bookings. A fixed number of queries."""
    site = request.site
    today = site.today()
    raw_day = request.GET.get("day")
    day, unusable = parse_day(raw_day, default=today)
    if unusable:
        messages.error(
            request, _("“%(value)s” is not a usable date; showing today.") % {"value": raw_day}
        )
    now = timezone.now()
    sheet = selectors.day_sheet(site=site, day=day)
    for line, slots in sheet:
        for slot in slots:
            slot.is_over = slot.ends_at <= now
            slot.bookable = (
                slot.booking is None
                and slot.suspended_by_id is None
                and line.active
                and not slot.is_over
            )
    return render(
        request,
        "calls/booking_list.html",
        {
            "site": site,
            "day": day,
            "today": today,
            "previous_day": day - ONE_DAY,
            "next_day": day + ONE_DAY,
            "sheet": sheet,
            "cancel_form": CancelBookingForm(),
        },
    )


def _booking_candidates(
    *, user, site: Site, text: str, day: datetime.date, terms: rules.PolicyTerms
) -> tuple[list[dict], bool]:
    """Prisoners of ``site`` whose ISN or name matches ``text`` as the registry search
    does (withheld surnames only for supervisors), by ISN, at most ``MAX_CANDIDATES``;
    and whether more match.

    Each comes with ``rules.refusals`` for ``day`` (empty: eligible), as ``book_slot``
    will ask them; the service still decides when one is picked. One query for the
    prisoners, then those of ``rules.refusals_of`` them (two at most).
    """
    reveal = is_supervisor(user)
    found = list(
        prisoner_search(user=user, text=text, site=site, reveal_withheld=reveal)[
            : MAX_CANDIDATES + 1
        ]
    )
    shown = found[:MAX_CANDIDATES]
    refusals_of = rules.refusals_of(shown, day=day, site=site, terms=terms)
    candidates = []
    for prisoner in shown:
        refusals = refusals_of[prisoner.pk]
        candidates.append(
            {
                "prisoner": prisoner,
                "name": prisoner.name_shown(reveal=reveal),
                "refusals": [str(refusal) for refusal in refusals],
                "overridable": bool(refusals) and all(r.overridable for r in refusals),
            }
        )
    return candidates, len(found) > MAX_CANDIDATES


@require_http_methods(["GET", "POST"])
@_booking_staff
def slot_book(request, pk):
    """Book a prisoner into a slot: by ISN, or picked from the prisoners a name search
    finds (``q``), each shown with whether the rules let them call on the slot's day."""
    slot = selectors.get_slot_for_user(user=request.user, pk=pk)
    site = slot.line.site
    day = _local_day(slot.starts_at, site)
    terms = rules.policy_terms(site, day)
    may_override = has_role(request.user, *SUPERVISORS)
    data = request.POST if request.method == "POST" else None
    form = BookingForm(data, user=request.user, site=site, may_override=may_override)
    override_may_help = override_cannot_help = False
    if form.is_valid():
        prisoner = form.cleaned_data["isn"]
        try:
            booking = services.book_slot(
                slot=slot,
                prisoner=prisoner,
                actor=request.user,
                override_reason=form.cleaned_data.get("override_reason", ""),
            )
        except CallError as error:
            add_service_error(form, error)
            found = getattr(error, "refusals", [])
            policy_only = all(
                refusal.overridable or refusal.rule == "override" for refusal in found
            )
            override_may_help = may_override and bool(found) and policy_only
            override_cannot_help = may_override and bool(found) and not policy_only
        else:
            if booking.override_reason:
                text = _(
                    "%(prisoner)s (%(isn)s) booked on %(line)s at %(time)s, overriding the "
                    "call policy."
                )
            else:
                text = _("%(prisoner)s (%(isn)s) booked on %(line)s at %(time)s.")
            messages.success(
                request,
                text
                % {
                    "prisoner": prisoner.display_name,
                    "isn": prisoner.isn,
                    "line": slot.line.name,
                    "time": time_format(timezone.localtime(slot.starts_at, site.zone)),
                },
            )
            return redirect(_booking_list_url(day))
    # The search the page was reached with stays shown after a refused booking.
    search = PrisonerSearchForm(request.GET if data is None else {"q": data.get("q", "")})
    text = search.cleaned_data["q"] if search.is_valid() else ""
    candidates, more_candidates = [], False
    if text:
        candidates, more_candidates = _booking_candidates(
            user=request.user, site=site, text=text, day=day, terms=terms
        )
    return render(
        request,
        "calls/booking_form.html",
        {
            "slot": slot,
            "site": site,
            "day": day,
            "form": form,
            "search": search,
            "searched": text,
            "candidates": candidates,
            "more_candidates": more_candidates,
            "max_candidates": MAX_CANDIDATES,
            "terms": terms,
            "override_may_help": override_may_help,
            "override_cannot_help": override_cannot_help,
            "back_url": _booking_list_url(day),
        },
    )


@require_POST
@_booking_staff
def booking_cancel(request, pk):
    booking = selectors.get_booking_for_user(user=request.user, pk=pk)
    site = booking.slot.line.site
    form = CancelBookingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for cancelling; the booking stands."))
    else:
        try:
            services.cancel_booking(
                booking=booking, reason=form.cleaned_data["reason"], actor=request.user
            )
        except CallError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Booking of %(prisoner)s (%(isn)s) cancelled; the slot is free again.")
                % {"prisoner": booking.prisoner.display_name, "isn": booking.prisoner.isn},
            )
    return redirect(_booking_list_url(_local_day(booking.slot.starts_at, site)))


# --- Suspensions ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(*SUPERVISORS)
def suspension_add(request, pk):
    prisoner = get_prisoner_for_user(user=request.user, pk=pk)
    data = request.POST if request.method == "POST" else None
    form = SuspensionForm(data, initial={"starts_on": prisoner.site.today()})
    if form.is_valid():
        try:
            suspension = services.suspend_calls(
                prisoner=prisoner, **form.cleaned_data, actor=request.user
            )
        except CallError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("Calls of %(isn)s are suspended from %(from)s until %(until)s.")
                % {
                    "isn": prisoner.isn,
                    "from": date_format(suspension.starts_on),
                    "until": date_format(suspension.ends_on),
                },
            )
            if suspension.cancelled_bookings:
                messages.warning(
                    request,
                    ngettext(
                        "%(count)d booking inside the suspension was cancelled.",
                        "%(count)d bookings inside the suspension were cancelled.",
                        suspension.cancelled_bookings,
                    )
                    % {"count": suspension.cancelled_bookings},
                )
            return redirect("prisoners:prisoner-detail", pk=prisoner.pk)
    return render(
        request,
        "calls/suspension_form.html",
        {
            "prisoner": prisoner,
            "form": form,
            "suspensions": list(selectors.suspensions_for(prisoner)),
        },
    )
