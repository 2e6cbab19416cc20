"""Reads for the desk, the logbook and the schedule, limited to the staff member's sites."""

import datetime

from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.http import Http404

from calls.models import (
    ONE_DAY,
    AirRaidAlert,
    Amendment,
    Booking,
    Call,
    CallPolicy,
    CallSlot,
    Line,
    ScheduleWindow,
    Suspension,
)
from camp.models import Site
from prisoners.models import Prisoner
from prisoners.selectors import prisoner_search

# A logbook search finding at most this many prisoners filters by their ids.
FEW_PRISONERS = 200


def _get_for_user(queryset: QuerySet, *, site_path: str, user, pk):
    try:
        return queryset.filter(**{f"{site_path}__in": user.sites.all()}).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError):
        raise Http404 from None


def get_line_for_user(*, user, pk) -> Line:
    return _get_for_user(Line.objects.select_related("site"), site_path="site", user=user, pk=pk)


def get_slot_for_user(*, user, pk) -> CallSlot:
    return _get_for_user(
        CallSlot.objects.select_related("line__site"), site_path="line__site", user=user, pk=pk
    )


def get_booking_for_user(*, user, pk) -> Booking:
    return _get_for_user(
        Booking.objects.select_related("slot__line__site", "prisoner__site"),
        site_path="slot__line__site",
        user=user,
        pk=pk,
    )


def get_window_for_user(*, user, pk) -> ScheduleWindow:
    return _get_for_user(
        ScheduleWindow.objects.select_related("line__site"),
        site_path="line__site",
        user=user,
        pk=pk,
    )


def get_call_for_user(*, user, pk) -> Call:
    return _get_for_user(
        Call.objects.for_list()
        .select_related("contact", "booking__slot__line", "transcribed_by")
        .prefetch_related(
            Prefetch("amendments", queryset=Amendment.objects.select_related("author"))
        ),
        site_path="site",
        user=user,
        pk=pk,
    )


def get_alert_for_user(*, user, pk) -> AirRaidAlert:
    return _get_for_user(
        AirRaidAlert.objects.select_related("site"), site_path="site", user=user, pk=pk
    )


def active_alert(site: Site) -> AirRaidAlert | None:
    return AirRaidAlert.objects.filter(site=site, ended_at__isnull=True).first()


def makeup_owed(*, site: Site) -> QuerySet[Prisoner]:
    """Interned prisoners of ``site`` owed a make-up call, longest-owed first.

    Reads the stored ``Prisoner.makeup_owed_since`` (kept by database triggers on
    calls and bookings). One query.
    """
    return Prisoner.objects.filter(
        site=site, status=Prisoner.Status.INTERNED, makeup_owed_since__isnull=False
    ).order_by("makeup_owed_since", "pk")


def slots_in_progress(site: Site, at: datetime.datetime) -> QuerySet[CallSlot]:
    return CallSlot.objects.filter(line__site=site, starts_at__lte=at, ends_at__gt=at)


def line_has_booked_slot(line: Line, at: datetime.datetime) -> bool:
    """Whether a booked prisoner holds ``line`` at ``at``: an unscheduled call must wait."""
    return Booking.objects.filter(
        slot__line=line, slot__starts_at__lte=at, slot__ends_at__gt=at, status=Booking.Status.BOOKED
    ).exists()


# --- Schedule, bookings and suspensions -----------------------------------------------


def schedule_lines(*, site: Site) -> list[Line]:
    """The site's lines by name, each with its weekly windows in ``line.windows.all()``.

    Two queries.
    """
    windows = ScheduleWindow.objects.order_by("weekday", "starts_at")
    return list(
        Line.objects.filter(site=site)
        .order_by("name")
        .prefetch_related(Prefetch("windows", queryset=windows))
    )


def policy_history(*, site: Site) -> QuerySet[CallPolicy]:
    """Every version of the site's call policy, newest first, with its author. One query."""
    return (
        CallPolicy.objects.filter(site=site)
        .select_related("created_by")
        .order_by("-effective_from")
    )


def last_slot_start(*, site: Site) -> datetime.datetime | None:
    """When the latest generated slot of the site starts: how far ahead slots exist."""
    return CallSlot.objects.filter(line__site=site).aggregate(last=Max("starts_at"))["last"]


def day_sheet(*, site: Site, day: datetime.date) -> list[tuple[Line, list[CallSlot]]]:
    """The slots of ``day`` grouped by line (lines by name, slots by time).

    Each slot carries ``slot.booking``: its booking unless cancelled (cancelled
    bookings do not hold the slot), with the prisoner and ``has_calls``, or None.
    Two queries however many slots there are.
    """
    live = (
        Booking.objects.exclude(status=Booking.Status.CANCELLED)
        .select_related("prisoner")
        .annotate(has_calls=Exists(Call.objects.filter(booking=OuterRef("pk"))))
    )
    slots = (
        CallSlot.objects.for_day(site, day)
        .select_related("line", "suspended_by")
        .prefetch_related(Prefetch("bookings", queryset=live, to_attr="live_bookings"))
        .order_by("line__name", "starts_at")
    )
    sheet: dict[int, tuple[Line, list[CallSlot]]] = {}
    for slot in slots:
        slot.booking = slot.live_bookings[0] if slot.live_bookings else None
        sheet.setdefault(slot.line_id, (slot.line, []))[1].append(slot)
    return list(sheet.values())


def recent_calls(*, prisoner: Prisoner, limit: int = 10) -> QuerySet[Call]:
    """The prisoner's latest logbook entries, newest first, with line and monitor.

    One query on the prisoner's index, however long the history.
    """
    return (
        Call.objects.filter(prisoner=prisoner)
        .select_related("line", "monitor")
        .order_by("-started_at", "-pk")[:limit]
    )


def suspensions_for(prisoner: Prisoner, *, today: datetime.date | None = None):
    """The prisoner's call suspensions, latest first, each with ``is_active`` for ``today``
    (default: today at the prisoner's site) and its author. One query."""
    today = today or prisoner.site.today()
    return (
        Suspension.objects.filter(prisoner=prisoner)
        .select_related("created_by")
        .annotate(
            is_active=ExpressionWrapper(
                Q(starts_on__lte=today, ends_on__gte=today), output_field=BooleanField()
            )
        )
        .order_by("-starts_on", "-pk")
    )


# --- The desk -------------------------------------------------------------------------


def desk_slots(
    *,
    site: Site,
    day: datetime.date,
    now: datetime.datetime | None = None,
    ahead: datetime.timedelta | None = None,
) -> list[CallSlot]:
    """The slots of ``site`` on ``day`` by line name and time, each with its line. Two queries.

    With ``now`` and ``ahead``, only what the desk acts on: slots not yet over that
    start within ``ahead``, and slots over whose booking still waits for a call or a
    no-show. ``slot.live_bookings`` holds the slot's booking unless cancelled (at
    most one), with its prisoner and what happened in it: ``has_open_call``,
    ``has_calls`` and ``last_outcome`` (of the latest ended call, or None).
    """
    slots = CallSlot.objects.for_day(site, day)
    if ahead is not None:
        waiting = Booking.objects.filter(slot=OuterRef("pk"), status=Booking.Status.BOOKED).exclude(
            Exists(Call.objects.filter(booking=OuterRef("pk")))
        )
        slots = slots.filter(
            Q(ends_at__gt=now, starts_at__lt=now + ahead)
            | Q(ends_at__lte=now, suspended_by__isnull=True) & Exists(waiting)
        )
    calls = Call.objects.filter(booking=OuterRef("pk"))
    live = (
        Booking.objects.exclude(status=Booking.Status.CANCELLED)
        .select_related("prisoner")
        .annotate(
            has_open_call=Exists(calls.filter(ended_at__isnull=True)),
            has_calls=Exists(calls),
            last_outcome=Subquery(
                calls.filter(ended_at__isnull=False).order_by("-started_at").values("outcome")[:1]
            ),
        )
    )
    return list(
        slots.select_related("line")
        .prefetch_related(Prefetch("bookings", queryset=live, to_attr="live_bookings"))
        .order_by("line__name", "starts_at")
    )


def calls_in_progress(*, site: Site) -> QuerySet[Call]:
    """The open calls of ``site``, nearest time limit first, with prisoner, line,
    contact and monitor. One query."""
    return (
        Call.objects.in_progress()
        .filter(site=site)
        .select_related("prisoner", "line", "contact", "monitor")
        .order_by("deadline")
    )


# --- The logbook ----------------------------------------------------------------------


def logbook_entries(
    *,
    user,
    sites: list[Site],
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    prisoner_text: str = "",
    line: Line | None = None,
    outcome: str = "",
    flagged_only: bool = False,
    reveal_withheld: bool = False,
) -> QuerySet[Call]:
    """Logbook entries of ``sites`` (the user's), newest first, with prisoner, line,
    monitor, contact and site in the same query.

    Every filter reads the entries' current values (amendments are applied to the
    row when made). Dates are calendar days at each entry's site. ``prisoner_text``
    matches as the registry search does (withheld surnames only when
    ``reveal_withheld``). Ordered by ``(-started_at, -pk)``, which the site indexes
    serve, so pages can seek rather than count.
    """
    entries = Call.objects.for_list().filter(site__in=sites)
    if date_from or date_to:
        in_range = Q()
        for site in sites:
            day = Q(site=site)
            if date_from:
                day &= Q(started_at__gte=site.day_start(date_from))
            if date_to:
                day &= Q(started_at__lt=site.day_start(date_to + ONE_DAY))
            in_range |= day
        entries = entries.filter(in_range)
    if outcome:
        entries = entries.filter(outcome=outcome)
    if flagged_only:
        entries = entries.filter(flagged=True)
    if line is not None:
        entries = entries.filter(line=line)
    if prisoner_text.strip():
        prisoners = prisoner_search(user=user, text=prisoner_text, reveal_withheld=reveal_withheld)
        # The planner cannot tell how few prisoners a search finds; given their ids it
        # reads just their entries from the prisoner index instead of walking the site's.
        found = list(prisoners.values_list("pk", flat=True)[: FEW_PRISONERS + 1])
        if len(found) <= FEW_PRISONERS:
            entries = entries.filter(prisoner_id__in=found)
        else:
            entries = entries.filter(prisoner__in=prisoners)
    return entries.order_by("-started_at", "-pk")


def suspended_today(*, site: Site, day: datetime.date) -> QuerySet[Suspension]:
    """Suspensions in force at ``site`` on ``day``, ending soonest first. One query."""
    return (
        Suspension.objects.filter(prisoner__site=site, starts_on__lte=day, ends_on__gte=day)
        .select_related("prisoner")
        .order_by("ends_on", "prisoner__isn")
    )
