"""Reads for the desk, the logbook and the schedule, limited to the staff member's sites."""

import datetime

from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Greatest
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
    Outcome,
    ScheduleWindow,
    Suspension,
)
from camp.models import Site
from prisoners.models import Prisoner
from prisoners.selectors import prisoner_search

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


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
        Call.objects.with_history().select_related("site", "booking__slot__line", "transcribed_by"),
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

    A prisoner is owed one when a call of theirs was interrupted by an air-raid
    alert, or their booking was suspended by one, and no connected call has
    followed. Each prisoner carries ``owed_since``. One query.
    """
    interrupted = (
        Call.objects.filter(prisoner=OuterRef("pk"), outcome=Outcome.INTERRUPTED_BY_ALERT)
        .order_by()
        .values("prisoner")
        .annotate(latest=Max("started_at"))
        .values("latest")
    )
    suspended = (
        Booking.objects.filter(prisoner=OuterRef("pk"), status=Booking.Status.SUSPENDED)
        .order_by()
        .values("prisoner")
        .annotate(latest=Max("starts_at"))
        .values("latest")
    )
    connected = (
        Call.objects.filter(prisoner=OuterRef("pk"), outcome=Outcome.CONNECTED)
        .order_by()
        .values("prisoner")
        .annotate(latest=Max("started_at"))
        .values("latest")
    )
    return (
        Prisoner.objects.filter(site=site, status=Prisoner.Status.INTERNED)
        .annotate(
            owed_since=Greatest(
                Coalesce(Subquery(interrupted), EPOCH), Coalesce(Subquery(suspended), EPOCH)
            ),
            last_connected=Coalesce(Subquery(connected), EPOCH),
        )
        .filter(owed_since__gt=F("last_connected"))
        .order_by("owed_since")
    )


def is_owed_makeup(prisoner: Prisoner) -> bool:
    return makeup_owed(site=prisoner.site).filter(pk=prisoner.pk).exists()


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


def desk_slots(*, site: Site, day: datetime.date) -> list[CallSlot]:
    """The slots of ``site`` on ``day`` by line name and time, each with its line. Two queries.

    ``slot.live_bookings`` holds the slot's booking unless cancelled (at most one),
    with its prisoner and what happened in it: ``has_open_call``, ``has_calls`` and
    ``last_outcome`` (of the latest ended call, or None).
    """
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
        CallSlot.objects.for_day(site, day)
        .select_related("line")
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


def _amended_value(field: str, output_field):
    """The value the entry's latest amendment of ``field`` set; NULL when none changed it."""
    latest = (
        Amendment.objects.filter(call=OuterRef("pk"), changes__has_key=field)
        .order_by("-created_at", "-pk")
        .annotate(value=Cast(KT(f"changes__{field}__to"), output_field))
        .values("value")[:1]
    )
    return Coalesce(Subquery(latest), F(field), output_field=output_field)


def _amended_calls(field: str) -> QuerySet:
    return Amendment.objects.filter(changes__has_key=field).values("call_id")


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
    """Logbook entries of ``sites`` (the user's), newest recorded start first, ready for
    ``Call.current``: prisoner, line, monitor, contact, site and amendments come with them.

    Dates are calendar days at each entry's site. Date, outcome and flag filters
    apply to the current values, amendments included: each narrows first by the
    recorded column or by "an amendment changed it", then checks the latest amended
    value with a subquery on the rows left. ``prisoner_text`` matches as the registry
    search does (withheld surnames only when ``reveal_withheld``). A page costs three
    queries: count, entries, amendments.
    """
    entries = Call.objects.with_history().select_related("site").filter(site__in=sites)
    if date_from or date_to:
        entries = entries.alias(current_started_at=_amended_value("started_at", DateTimeField()))
        amended = Q(pk__in=_amended_calls("started_at"))
        in_range = Q()
        for site in sites:
            recorded, current = Q(), Q()
            if date_from:
                start = site.day_start(date_from)
                recorded &= Q(started_at__gte=start)
                current &= Q(current_started_at__gte=start)
            if date_to:
                end = site.day_start(date_to + ONE_DAY)
                recorded &= Q(started_at__lt=end)
                current &= Q(current_started_at__lt=end)
            in_range |= Q(site=site) & (recorded | amended) & current
        entries = entries.filter(in_range)
    if outcome:
        entries = entries.alias(current_outcome=_amended_value("outcome", CharField())).filter(
            Q(outcome=outcome) | Q(pk__in=_amended_calls("outcome")), current_outcome=outcome
        )
    if flagged_only:
        entries = entries.alias(current_flagged=_amended_value("flagged", BooleanField())).filter(
            Q(flagged=True) | Q(pk__in=_amended_calls("flagged")), current_flagged=True
        )
    if line is not None:
        entries = entries.filter(line=line)
    if prisoner_text.strip():
        prisoners = prisoner_search(user=user, text=prisoner_text, reveal_withheld=reveal_withheld)
        entries = entries.filter(prisoner__in=prisoners)
    return entries.order_by("-started_at", "-pk")


def suspended_today(*, site: Site, day: datetime.date) -> QuerySet[Suspension]:
    """Suspensions in force at ``site`` on ``day``, ending soonest first. One query."""
    return (
        Suspension.objects.filter(prisoner__site=site, starts_on__lte=day, ends_on__gte=day)
        .select_related("prisoner")
        .order_by("ends_on", "prisoner__isn")
    )
