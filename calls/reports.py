"""Supervisor review: the flagged-calls queue, contacts awaiting approval, and weekly
aggregates of the logbook and the schedule.

Every figure is computed by the database in one aggregate query: rows are grouped
by week, and ``generate_series`` supplies the weeks without any row, so they read
as zero. Python only lays out the aggregated rows; it never walks calls, slots or
prisoners. A week is Monday to Sunday on the calendar of each row's own site
(a call at 23:30 on Sunday in Kyiv belongs to that week, whatever UTC says).
Entries are read with their current values: amendments are applied to the row.
"""

import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import models
from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Func,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from calls.models import Booking, Call, CallPolicy, Outcome
from camp.models import Site
from camp.routers import connection_for_reads
from letters.models import Direction, Kind
from letters.selectors import overdue_capture_cards
from prisoners.models import Contact, Prisoner

ONE_WEEK = datetime.timedelta(weeks=1)
# Time zones lie within a day of UTC: a margin that lets the index narrow the rows
# by their UTC instant before each row's local week is computed exactly.
ZONE_MARGIN = datetime.timedelta(days=1)


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of ``day``'s week."""
    return day - datetime.timedelta(days=day.weekday())


def report_weeks(*, today: datetime.date, weeks: int) -> tuple[datetime.date, datetime.date]:
    """The Mondays of the first and the last of ``weeks`` weeks ending with ``today``'s."""
    last = week_start(today)
    return last - (weeks - 1) * ONE_WEEK, last


# --- Queues ---------------------------------------------------------------------------


def flagged_calls(*, sites: Sequence[Site]) -> QuerySet[Call]:
    """Flagged entries of ``sites`` with prisoner, contact, line, monitor and site.

    Ordered ``(-started_at, -pk)`` for ``camp.pagination.keyset_page``, which the
    partial index ``calls_call_flagged_idx`` serves. One query per page.
    """
    return (
        Call.objects.for_list().filter(site__in=sites, flagged=True).order_by("-started_at", "-pk")
    )


def pending_contacts(*, sites: Sequence[Site]) -> QuerySet[Contact]:
    """Contacts awaiting approval of the prisoners held at ``sites``, longest waiting
    first, with the prisoner, the prisoner's site and who asked. One query per page."""
    return (
        Contact.objects.filter(status=Contact.Status.PENDING, prisoner__site__in=sites)
        .select_related("prisoner__site", "requested_by")
        .order_by("requested_at", "pk")
    )


# --- Monitor workload -----------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadRow:
    monitor_id: int
    name: str
    counts: list[int]
    total: int


@dataclass(frozen=True)
class Workload:
    weeks: list[datetime.date]
    rows: list[WorkloadRow]
    week_totals: list[int]
    total: int


# Every monitor with an entry in the period × every week, the count (zero where
# none), and the totals per monitor, per week and overall, by window functions.
WORKLOAD_SQL = """
WITH weeks AS (
    SELECT generate_series(%(first)s::date, %(last)s::date, interval '1 week')::date AS week
),
counted AS (
    SELECT call.monitor_id,
           date_trunc('week', call.started_at AT TIME ZONE site.time_zone)::date AS week,
           count(*) AS calls
    FROM calls_call AS call
    JOIN camp_site AS site ON site.id = call.site_id
    WHERE call.site_id = ANY(%(sites)s)
      AND call.started_at >= %(from_utc)s AND call.started_at < %(until_utc)s
      AND (call.started_at AT TIME ZONE site.time_zone) >= %(first)s::timestamp
      AND (call.started_at AT TIME ZONE site.time_zone) < %(end)s::timestamp
    GROUP BY 1, 2
),
grid AS (
    SELECT monitor.id AS monitor_id,
           COALESCE(NULLIF(btrim(monitor.first_name || ' ' || monitor.last_name), ''),
                    monitor.username) AS name,
           weeks.week,
           COALESCE(counted.calls, 0) AS calls
    FROM (SELECT DISTINCT monitor_id FROM counted) AS monitors
    JOIN camp_user AS monitor ON monitor.id = monitors.monitor_id
    CROSS JOIN weeks
    LEFT JOIN counted ON counted.monitor_id = monitor.id AND counted.week = weeks.week
)
SELECT monitor_id, name, week, calls,
       (sum(calls) OVER (PARTITION BY monitor_id))::bigint AS monitor_total,
       (sum(calls) OVER (PARTITION BY week))::bigint AS week_total,
       (sum(calls) OVER ())::bigint AS total
FROM grid
ORDER BY name, monitor_id, week
"""


def _period(*, today: datetime.date, weeks: int) -> dict:
    first, last = report_weeks(today=today, weeks=weeks)
    end = last + ONE_WEEK
    midnight = datetime.time.min
    utc = datetime.UTC
    return {
        "first": first,
        "last": last,
        "end": end,
        "from_utc": datetime.datetime.combine(first, midnight, tzinfo=utc) - ZONE_MARGIN,
        "until_utc": datetime.datetime.combine(end, midnight, tzinfo=utc) + ZONE_MARGIN,
    }


def monitor_workload(*, sites: Sequence[Site], today: datetime.date, weeks: int = 12) -> Workload:
    """Logbook entries (every attempt, in progress and transcribed ones included) per
    monitoring staff member per week at ``sites``, for ``weeks`` weeks ending with
    ``today``'s, with totals per staff member, per week and overall.

    Staff appear when they monitored at least one entry in the period, by name.
    One query.
    """
    params = {**_period(today=today, weeks=weeks), "sites": [site.pk for site in sites]}
    with connection_for_reads().cursor() as cursor:
        cursor.execute(WORKLOAD_SQL, params)
        rows = cursor.fetchall()
    week_list = [params["first"] + n * ONE_WEEK for n in range(weeks)]
    if not rows:
        return Workload(weeks=week_list, rows=[], week_totals=[0] * weeks, total=0)
    # The query returns exactly one row per monitor and week, ordered: cut it in rows.
    grid = [rows[n : n + weeks] for n in range(0, len(rows), weeks)]
    return Workload(
        weeks=week_list,
        rows=[
            WorkloadRow(
                monitor_id=cells[0][0],
                name=cells[0][1],
                counts=[cell[3] for cell in cells],
                total=cells[0][4],
            )
            for cells in grid
        ],
        week_totals=[cell[5] for cell in grid[0]],
        total=rows[0][6],
    )


# --- Trends ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekTrend:
    week: datetime.date
    attempts: int
    connected: int
    average_minutes: float | None
    slots_offered: int
    slots_booked: int
    slots_used: int
    slots_no_show: int
    slots_lost_to_alerts: int
    letters_sent: int
    letters_received: int
    cards_sent: int
    cards_received: int


# Calls, slots and mail grouped by their site's local week, each joined to every week
# of the period so that a week without any reads as zero.
TRENDS_SQL = """
WITH weeks AS (
    SELECT generate_series(%(first)s::date, %(last)s::date, interval '1 week')::date AS week
),
calls_by_week AS (
    SELECT date_trunc('week', call.started_at AT TIME ZONE site.time_zone)::date AS week,
           count(*) AS attempts,
           count(*) FILTER (WHERE call.outcome = %(connected)s) AS connected,
           round(avg(extract(epoch FROM call.elapsed) / 60)
                 FILTER (WHERE call.outcome = %(connected)s), 1) AS average_minutes
    FROM calls_call AS call
    JOIN camp_site AS site ON site.id = call.site_id
    WHERE call.site_id = ANY(%(sites)s)
      AND call.started_at >= %(from_utc)s AND call.started_at < %(until_utc)s
      AND (call.started_at AT TIME ZONE site.time_zone) >= %(first)s::timestamp
      AND (call.started_at AT TIME ZONE site.time_zone) < %(end)s::timestamp
    GROUP BY 1
),
slots_by_week AS (
    SELECT date_trunc('week', slot.starts_at AT TIME ZONE site.time_zone)::date AS week,
           count(*) AS offered,
           count(booking.id) AS booked,
           count(booking.id) FILTER (
               WHERE EXISTS (SELECT 1 FROM calls_call AS call WHERE call.booking_id = booking.id)
           ) AS used,
           count(booking.id) FILTER (WHERE booking.status = %(no_show)s) AS no_show,
           count(*) FILTER (WHERE slot.suspended_by_id IS NOT NULL) AS lost_to_alerts
    FROM calls_callslot AS slot
    JOIN calls_line AS line ON line.id = slot.line_id
    JOIN camp_site AS site ON site.id = line.site_id
    -- At most one booking per slot is not cancelled (calls_booking_one_per_slot).
    LEFT JOIN calls_booking AS booking
           ON booking.slot_id = slot.id AND booking.status <> %(cancelled)s
    WHERE line.site_id = ANY(%(sites)s)
      AND slot.starts_at >= %(from_utc)s AND slot.starts_at < %(until_utc)s
      AND (slot.starts_at AT TIME ZONE site.time_zone) >= %(first)s::timestamp
      AND (slot.starts_at AT TIME ZONE site.time_zone) < %(end)s::timestamp
    GROUP BY 1
),
-- ``handed_in_on`` is already a date of the site's calendar: its ISO week, no zone.
mail_by_week AS (
    SELECT date_trunc('week', item.handed_in_on::timestamp)::date AS week,
           count(*) FILTER (WHERE item.kind = %(letter)s AND item.direction = %(sent)s)
               AS letters_sent,
           count(*) FILTER (WHERE item.kind = %(letter)s AND item.direction = %(received)s)
               AS letters_received,
           count(*) FILTER (WHERE item.kind = ANY(%(cards)s) AND item.direction = %(sent)s)
               AS cards_sent,
           count(*) FILTER (WHERE item.kind = ANY(%(cards)s) AND item.direction = %(received)s)
               AS cards_received
    FROM letters_letter AS item
    WHERE item.site_id = ANY(%(sites)s)
      AND item.handed_in_on >= %(first)s::date AND item.handed_in_on < %(end)s::date
      AND NOT item.in_error
    GROUP BY 1
)
SELECT weeks.week,
       COALESCE(calls_by_week.attempts, 0),
       COALESCE(calls_by_week.connected, 0),
       calls_by_week.average_minutes,
       COALESCE(slots_by_week.offered, 0),
       COALESCE(slots_by_week.booked, 0),
       COALESCE(slots_by_week.used, 0),
       COALESCE(slots_by_week.no_show, 0),
       COALESCE(slots_by_week.lost_to_alerts, 0),
       COALESCE(mail_by_week.letters_sent, 0),
       COALESCE(mail_by_week.letters_received, 0),
       COALESCE(mail_by_week.cards_sent, 0),
       COALESCE(mail_by_week.cards_received, 0)
FROM weeks
LEFT JOIN calls_by_week ON calls_by_week.week = weeks.week
LEFT JOIN slots_by_week ON slots_by_week.week = weeks.week
LEFT JOIN mail_by_week ON mail_by_week.week = weeks.week
ORDER BY weeks.week
"""


def weekly_trends(
    *, sites: Sequence[Site], today: datetime.date, weeks: int = 26
) -> list[WeekTrend]:
    """Per week at ``sites``, oldest first, for ``weeks`` weeks ending with ``today``'s:

    - ``attempts``: logbook entries started in the week (every outcome, in progress too);
    - ``connected``: those whose current outcome is connected, and their
      ``average_minutes`` (None without any);
    - ``slots_offered``: slots starting in the week; ``slots_booked``: of them, those
      holding a booking that was not cancelled (no-shows and bookings suspended by an
      alert included); ``slots_used``: booked slots in which a call was made;
      ``slots_no_show``: bookings marked as no-show; ``slots_lost_to_alerts``: slots
      suspended by an air-raid alert, booked or not;
    - ``letters_sent``, ``letters_received``, ``cards_sent``, ``cards_received``:
      items of mail of the kind letter, or card (capture cards included), handed in
      by the prisoner or arrived for him in the week (``handed_in_on``, a date of
      the site's calendar), leaving out items recorded in error.

    One query.
    """
    params = {
        **_period(today=today, weeks=weeks),
        "sites": [site.pk for site in sites],
        "connected": Outcome.CONNECTED,
        "no_show": Booking.Status.NO_SHOW,
        "cancelled": Booking.Status.CANCELLED,
        "letter": Kind.LETTER,
        "cards": [Kind.CARD, Kind.CAPTURE_CARD],
        "sent": Direction.SENT,
        "received": Direction.RECEIVED,
    }
    with connection_for_reads().cursor() as cursor:
        cursor.execute(TRENDS_SQL, params)
        return [
            WeekTrend(
                week=week,
                attempts=attempts,
                connected=connected,
                average_minutes=float(average) if average is not None else None,
                slots_offered=offered,
                slots_booked=booked,
                slots_used=used,
                slots_no_show=no_show,
                slots_lost_to_alerts=lost,
                letters_sent=letters_sent,
                letters_received=letters_received,
                cards_sent=cards_sent,
                cards_received=cards_received,
            )
            for (
                week,
                attempts,
                connected,
                average,
                offered,
                booked,
                used,
                no_show,
                lost,
                letters_sent,
                letters_received,
                cards_sent,
                cards_received,
            ) in cursor.fetchall()
        ]


# --- News: the stored last contact of each prisoner --------------------------------------
#
# "Without news" reads two stored values, never the history: ``last_connected_at``
# (kept by triggers on calls and bookings) and ``last_mail_delivered_on`` (kept by
# triggers on the register of letters). The day of a call is its day on the clock
# of the prisoner's site; a prisoner with neither counts from his arrival.


class LocalDate(Func):
    """``LocalDate(zone, instant)``: the calendar date of ``instant`` in ``zone``
    (a site's ``time_zone`` column); NULL for a NULL instant."""

    template = "(timezone(%(expressions)s))::date"
    output_field = models.DateField()


class DaysBetween(Func):
    """``later - earlier`` in whole days (date minus date is an integer in PostgreSQL)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = models.IntegerField()


def _site_today(now: datetime.datetime, site_path: str = "site__time_zone") -> LocalDate:
    return LocalDate(site_path, Value(now, output_field=models.DateTimeField()))


def _policy_values(*fields: str, days: dict[int, datetime.date]) -> list[Case]:
    """For each of ``fields``, its value in the call policy in force at the row's site
    on that site's day in ``days`` (site id: date), or the camp default where none is.
    Constants per site, read in one query, so that no row runs a subquery of its own."""
    in_force = {}
    policies = CallPolicy.objects.filter(site__in=days).order_by("effective_from")
    for site_id, effective_from, *values in policies.values_list("site", "effective_from", *fields):
        if effective_from <= days[site_id]:
            in_force[site_id] = values  # a later policy replaces an earlier one
    return [
        Case(
            *(When(site_id=site_id, then=Value(values[n])) for site_id, values in in_force.items()),
            default=Value(CallPolicy._meta.get_field(field).default),
            output_field=models.IntegerField(),
        )
        for n, field in enumerate(fields)
    ]


def with_news(queryset: QuerySet[Prisoner], *, now: datetime.datetime) -> QuerySet[Prisoner]:
    """``queryset`` annotated with ``last_news_on`` (the later of the local day of the
    last connected call and the last delivery of mail; None without either) and
    ``days_without_news`` (from ``last_news_on``, or from arrival without news), as
    of ``now`` on each prisoner's site's calendar. Adds no query."""
    return queryset.annotate(
        last_news_on=Greatest(
            LocalDate("site__time_zone", "last_connected_at"), "last_mail_delivered_on"
        ),
        days_without_news=DaysBetween(_site_today(now), Coalesce("last_news_on", "arrived_on")),
    )


def without_news_queue(*, sites: Sequence[Site], now: datetime.datetime) -> QuerySet[Prisoner]:
    """Interned prisoners of ``sites``: those owed a make-up call first, then the
    longest without news, then by ISN; the ordering is done by the database.
    With ``last_news_on``, ``days_without_news`` and ``owes_makeup``; the site is
    selected. One query per page, one to count."""
    return (
        with_news(Prisoner.objects.filter(site__in=sites, status=Prisoner.Status.INTERNED), now=now)
        .annotate(
            owes_makeup=ExpressionWrapper(
                Q(makeup_owed_since__isnull=False), output_field=models.BooleanField()
            )
        )
        .select_related("site")
        .order_by("-owes_makeup", "-days_without_news", "isn")
    )


def no_news_for_too_long(*, sites: Sequence[Site], now: datetime.datetime) -> QuerySet[Prisoner]:
    """Interned prisoners of ``sites`` without news for at least the ``no_news_days``
    of the call policy in force today at their site (30 by default), longest first.
    With ``no_news_days`` annotated. One query for the policies, then one (or one
    to count)."""
    (no_news_days,) = _policy_values(
        "no_news_days", days={site.pk: now.astimezone(site.zone).date() for site in sites}
    )
    return (
        with_news(Prisoner.objects.filter(site__in=sites, status=Prisoner.Status.INTERNED), now=now)
        .annotate(no_news_days=no_news_days)
        .filter(days_without_news__gte=F("no_news_days"))
        .select_related("site")
        .order_by("-days_without_news", "isn")
    )


# --- Geneva minimum (GCIII Art. 71) ---------------------------------------------------


def previous_month(day: datetime.date) -> datetime.date:
    """The first day of the calendar month before ``day``'s."""
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def below_geneva_minimum(*, sites: Sequence[Site], month: datetime.date) -> QuerySet[Prisoner]:
    """Interned prisoners of ``sites`` held the whole calendar month of ``month``
    (arrived on or before its first day) who sent fewer letters or fewer cards in it
    than the call policy in force at the month's start asks (camp defaults: 2 letters,
    4 cards), as ``letters.models.SentMail`` counts them. Annotated with
    ``letters_sent``, ``cards_sent``, ``min_letters`` and ``min_cards``; by site, then
    ISN. One query for the policies, then one per page, one to count.
    """
    first = month.replace(day=1)
    min_letters, min_cards = _policy_values(
        "min_letters_per_month",
        "min_cards_per_month",
        days=dict.fromkeys((site.pk for site in sites), first),
    )
    return (
        Prisoner.objects.filter(
            site__in=sites, status=Prisoner.Status.INTERNED, arrived_on__lte=first
        )
        .annotate(
            sent_that_month=FilteredRelation("sent_mail", condition=Q(sent_mail__month=first)),
            letters_sent=Coalesce("sent_that_month__letters", 0),
            cards_sent=Coalesce("sent_that_month__cards", 0),
            min_letters=min_letters,
            min_cards=min_cards,
        )
        .filter(Q(letters_sent__lt=F("min_letters")) | Q(cards_sent__lt=F("min_cards")))
        .select_related("site")
        .order_by("site__name", "isn")
    )


# --- Dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    makeups_owed: int
    without_news: int
    below_minimum: int
    month: datetime.date
    capture_cards_overdue: int
    contacts_pending: int
    flagged_calls: int


def dashboard(
    *, user, sites: Sequence[Site], now: datetime.datetime, today: datetime.date
) -> Dashboard:
    """The supervisor's counts over ``sites``, each what its list shows: prisoners
    owed a make-up call, without news for the policy's days, below the Art. 71
    minimum in the month before ``today``'s, capture cards overdue
    (``letters.selectors.overdue_capture_cards``), contacts awaiting approval and
    flagged calls. Eight queries, whatever the numbers: the six counts, and the
    policies in force that two of them compare with.
    """
    month = previous_month(today)
    interned = Prisoner.objects.filter(site__in=sites, status=Prisoner.Status.INTERNED)
    return Dashboard(
        makeups_owed=interned.filter(makeup_owed_since__isnull=False).count(),
        without_news=no_news_for_too_long(sites=sites, now=now).count(),
        below_minimum=below_geneva_minimum(sites=sites, month=month).count(),
        month=month,
        capture_cards_overdue=overdue_capture_cards(user=user, now=now).count(),
        contacts_pending=pending_contacts(sites=sites).count(),
        flagged_calls=flagged_calls(sites=sites).count(),
    )


# --- Call frequency -------------------------------------------------------------------


@dataclass(frozen=True)
class FrequencyRow:
    prisoner: Prisoner
    site_name: str
    connected_7: int
    attempts_7: int
    minutes_7: float
    connected_30: int
    attempts_30: int
    minutes_30: float
    connected_90: int
    attempts_90: int
    minutes_90: float
    last_connected_at: datetime.datetime | None
    days_since_connected: int | None
    letters_30: int
    cards_30: int
    days_without_news: int

    @property
    def call_figures(self) -> tuple:
        """Connected calls, attempts and minutes over 7, 30 and 90 days, in the
        report's column order."""
        return (
            self.connected_7,
            self.attempts_7,
            self.minutes_7,
            self.connected_30,
            self.attempts_30,
            self.minutes_30,
            self.connected_90,
            self.attempts_90,
            self.minutes_90,
        )


# Sortable columns: the ``sort`` parameter's names and the SQL each orders by (ISN
# breaks ties). A name not listed here never reaches the SQL. Columns of the prisoner
# (``PRISONER_SORTS``) can pick the page before any call is counted; figures are
# named by their output column, which is never NULL.
PRISONER_SORTS = {
    "isn": "prisoner.isn",
    "name": "prisoner.surname_latin",
    "site": "site.name",
    "housing_unit": "prisoner.housing_unit",
    "status": "prisoner.status",
    "power": "prisoner.power_depends_on",
    "last_connected": "prisoner.last_connected_at",
    "days_since": (
        "(window_start.today - (timezone(site.time_zone, prisoner.last_connected_at))::date)"
    ),
}
FIGURE_SORTS = {
    name: name
    for name in [
        "connected_7",
        "attempts_7",
        "minutes_7",
        "connected_30",
        "attempts_30",
        "minutes_30",
        "connected_90",
        "attempts_90",
        "minutes_90",
        "letters_30",
        "cards_30",
    ]
}
FREQUENCY_SORTS = {**PRISONER_SORTS, **FIGURE_SORTS}

# The prisoners a filter keeps; shared by the page, its count, the CSV and the
# prisoner page (``prisoner``: one prisoner's row).
FREQUENCY_WHERE = """
    prisoner.site_id = ANY(%(sites)s)
    AND (%(prisoner)s::bigint IS NULL OR prisoner.id = %(prisoner)s)
    AND (%(site)s::bigint IS NULL OR prisoner.site_id = %(site)s)
    AND (%(housing_unit)s::text IS NULL OR prisoner.housing_unit = %(housing_unit)s)
    AND (%(status)s::text IS NULL OR prisoner.status = %(status)s)
    AND (%(power)s::text IS NULL OR prisoner.power_depends_on = %(power)s)
"""

# Per site, today on its calendar and the first instants of the windows: the last
# 7, 30 and 90 days are today and the 6, 29 and 89 days before it, at the site.
# Computed once per site (MATERIALIZED), not once per call row.
FREQUENCY_WINDOWS = """
WITH window_start AS MATERIALIZED (
    SELECT site.id AS site_id, local.today,
           timezone(site.time_zone, (local.today - 6)::timestamp) AS from_7,
           timezone(site.time_zone, (local.today - 29)::timestamp) AS from_30,
           timezone(site.time_zone, (local.today - 89)::timestamp) AS from_90
    FROM camp_site AS site
    CROSS JOIN LATERAL (
        SELECT (timezone(site.time_zone, %(now)s::timestamptz))::date AS today
    ) AS local
    WHERE site.id = ANY(%(sites)s)
)
"""

# A prisoner's calls counted by window with FILTER; calls at the user's sites only.
# Seconds are summed as float8 (``date_part``): a numeric sum costs several times more.
FREQUENCY_FIGURES = """
    count(*) FILTER (WHERE call.outcome = 'connected' AND call.started_at >= from_7)
        AS connected_7,
    count(*) FILTER (WHERE call.started_at >= from_7) AS attempts_7,
    round((sum(date_part('epoch', call.elapsed)) FILTER (
        WHERE call.outcome = 'connected' AND call.started_at >= from_7) / 60)::numeric, 1)
        AS minutes_7,
    count(*) FILTER (WHERE call.outcome = 'connected' AND call.started_at >= from_30)
        AS connected_30,
    count(*) FILTER (WHERE call.started_at >= from_30) AS attempts_30,
    round((sum(date_part('epoch', call.elapsed)) FILTER (
        WHERE call.outcome = 'connected' AND call.started_at >= from_30) / 60)::numeric, 1)
        AS minutes_30,
    count(*) FILTER (WHERE call.outcome = 'connected') AS connected_90,
    count(*) AS attempts_90,
    round((sum(date_part('epoch', call.elapsed)) FILTER (
        WHERE call.outcome = 'connected') / 60)::numeric, 1) AS minutes_90
"""

# The calls of each prisoner of a page already chosen: one range scan of
# calls_call_prisoner_idx each.
CALLS_PER_PRISONER = f"""
CROSS JOIN LATERAL (
    SELECT {FREQUENCY_FIGURES}
    FROM calls_call AS call
    WHERE call.prisoner_id = prisoner.id
      AND call.site_id = ANY(%(sites)s)
      AND call.started_at >= window_start.from_90
      AND call.started_at < %(now)s::timestamptz
) AS calls
"""

# Sorted by a figure, every prisoner kept is ranked: one grouped pass over the
# last 90 days of the sites' calls (calls_call_site_idx) costs a fraction of one
# lookup per prisoner. Time zones lie within a day of UTC: 91 days is a margin for
# the index; each call's window is then exact on its prisoner's site's calendar.
CALLS_GROUPED = f"""
LEFT JOIN (
    SELECT call.prisoner_id, {FREQUENCY_FIGURES}
    FROM calls_call AS call
    JOIN prisoners_prisoner AS prisoner ON prisoner.id = call.prisoner_id
    JOIN window_start ON window_start.site_id = prisoner.site_id
    WHERE call.site_id = ANY(%(sites)s)
      AND call.started_at >= %(now)s::timestamptz - interval '91 days'
      AND call.started_at < %(now)s::timestamptz
      AND call.started_at >= window_start.from_90
      AND {{where}}
    GROUP BY call.prisoner_id
) AS calls ON calls.prisoner_id = prisoner.id
"""

# One row per prisoner: his figures (``{calls}``, either shape above) and his mail.
# ``{prisoners}`` is the prisoners' table, or the page of it chosen first.
FREQUENCY_SQL = """
{windows}
SELECT prisoner.id, prisoner.isn, prisoner.identity, prisoner.surname, prisoner.first_names,
       prisoner.patronymic, prisoner.alias, prisoner.housing_unit, prisoner.status,
       prisoner.power_depends_on, site.name,
       COALESCE(calls.connected_7, 0) AS connected_7,
       COALESCE(calls.attempts_7, 0) AS attempts_7,
       COALESCE(calls.minutes_7, 0) AS minutes_7,
       COALESCE(calls.connected_30, 0) AS connected_30,
       COALESCE(calls.attempts_30, 0) AS attempts_30,
       COALESCE(calls.minutes_30, 0) AS minutes_30,
       COALESCE(calls.connected_90, 0) AS connected_90,
       COALESCE(calls.attempts_90, 0) AS attempts_90,
       COALESCE(calls.minutes_90, 0) AS minutes_90,
       prisoner.last_connected_at,
       window_start.today - (timezone(site.time_zone, prisoner.last_connected_at))::date
           AS days_since_connected,
       mail.letters_30, mail.cards_30,
       -- As ``with_news``: from the later of the last connected call's local day and
       -- the last delivery of mail, or from arrival without either.
       window_start.today - COALESCE(
           GREATEST((timezone(site.time_zone, prisoner.last_connected_at))::date,
                    prisoner.last_mail_delivered_on),
           prisoner.arrived_on) AS days_without_news
FROM {prisoners} AS prisoner
JOIN camp_site AS site ON site.id = prisoner.site_id
JOIN window_start ON window_start.site_id = prisoner.site_id
{calls}
-- Letters and cards (capture cards too), either direction, of the last 30 days.
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE item.kind = 'letter') AS letters_30,
           count(*) FILTER (WHERE item.kind IN ('card', 'capture_card')) AS cards_30
    FROM letters_letter AS item
    WHERE item.prisoner_id = prisoner.id
      AND item.handed_in_on >= window_start.today - 29
      AND item.handed_in_on <= window_start.today
      AND NOT item.in_error
) AS mail
WHERE {where}
ORDER BY {order}, prisoner.isn
{limit}
"""

# Sorted by a column of the prisoner, the page of prisoners is chosen first (a sort
# of the prisoners alone, or a walk of the ISN index) and only its rows are counted.
PRISONER_PAGE = """(
    SELECT prisoner.* FROM prisoners_prisoner AS prisoner
    JOIN camp_site AS site ON site.id = prisoner.site_id
    JOIN window_start ON window_start.site_id = prisoner.site_id
    WHERE {where}
    ORDER BY {order}, prisoner.isn
    {limit}
)"""

FREQUENCY_COUNT_SQL = "SELECT count(*) FROM prisoners_prisoner AS prisoner WHERE {where}"


@dataclass(frozen=True)
class FrequencyFilter:
    site: int | None = None
    housing_unit: str | None = None
    status: str | None = None
    power: str | None = None
    sort: str = "isn"
    descending: bool = False


class SqlRows:
    """A report's rows as ``django.core.paginator.Paginator`` takes them: ``count()``
    runs one query, a slice runs one query for that page (LIMIT/OFFSET)."""

    def __init__(self, *, count, page):
        self._count = count
        self._page = page

    def count(self) -> int:
        return self._count()

    def __len__(self) -> int:  # pragma: no cover - Paginator prefers count()
        return self.count()

    def __getitem__(self, window: slice) -> list:
        return self._page(window.start or 0, window.stop - (window.start or 0))


def _frequency_params(sites, filters: FrequencyFilter, now, prisoner=None) -> dict:
    return {
        "sites": [site.pk for site in sites],
        "prisoner": prisoner,
        "site": filters.site,
        "housing_unit": filters.housing_unit,
        "status": filters.status,
        "power": filters.power,
        "now": now,
    }


def _frequency_sql(filters: FrequencyFilter, limit: str) -> str:
    column = FREQUENCY_SORTS[filters.sort]
    # PostgreSQL's default NULL order (as the largest value), so that an index in the
    # column's order (the ISN's) can serve the page.
    order = f"{column} {'DESC' if filters.descending else 'ASC'}"
    if filters.sort in PRISONER_SORTS:
        # The page first, then the calls of its prisoners.
        return FREQUENCY_SQL.format(
            windows=FREQUENCY_WINDOWS,
            prisoners=PRISONER_PAGE.format(where=FREQUENCY_WHERE, order=order, limit=limit),
            calls=CALLS_PER_PRISONER,
            where="TRUE",
            order=order,
            limit="",
        )
    # Every prisoner kept is ranked by a figure: the calls counted in one pass.
    return FREQUENCY_SQL.format(
        windows=FREQUENCY_WINDOWS,
        prisoners="prisoners_prisoner",
        calls=CALLS_GROUPED.format(where=FREQUENCY_WHERE),
        where=FREQUENCY_WHERE,
        order=order,
        limit=limit,
    )


def _frequency_row(values) -> FrequencyRow:
    (pk, isn, identity, surname, first_names, patronymic, alias, unit, status, power, site_name,
     *figures, last_connected_at, days_since, letters_30, cards_30,
     days_without_news) = values  # fmt: skip
    prisoner = Prisoner(
        pk=pk,
        isn=isn,
        identity=identity,
        surname=surname,
        first_names=first_names,
        patronymic=patronymic,
        alias=alias,
        housing_unit=unit,
        status=status,
        power_depends_on=power,
    )
    c7, a7, m7, c30, a30, m30, c90, a90, m90 = figures
    return FrequencyRow(
        prisoner=prisoner,
        site_name=site_name,
        connected_7=c7,
        attempts_7=a7,
        minutes_7=float(m7),
        connected_30=c30,
        attempts_30=a30,
        minutes_30=float(m30),
        connected_90=c90,
        attempts_90=a90,
        minutes_90=float(m90),
        last_connected_at=last_connected_at,
        days_since_connected=days_since,
        letters_30=letters_30,
        cards_30=cards_30,
        days_without_news=days_without_news,
    )


def call_frequency(
    *, sites: Sequence[Site], filters: FrequencyFilter, now: datetime.datetime
) -> SqlRows:
    """One row per prisoner of ``sites`` that ``filters`` keep, sorted as they say:
    connected calls, attempts (every logbook entry, in progress too) and minutes
    connected in the last 7, 30 and 90 days (today and the days before it on the
    site's calendar, up to ``now``); the last connected call and the days since it;
    letters and cards (capture cards included) sent or received, not recorded in
    error, handed in or arrived in the last 30 days; the days without news (as
    ``with_news``). Outcomes are current values.

    Paginate with ``Paginator``: one query to count, one per page.
    """
    params = _frequency_params(sites, filters, now)

    def count() -> int:
        with connection_for_reads().cursor() as cursor:
            cursor.execute(FREQUENCY_COUNT_SQL.format(where=FREQUENCY_WHERE), params)
            return cursor.fetchone()[0]

    def page(offset: int, size: int) -> list[FrequencyRow]:
        sql = _frequency_sql(filters, "LIMIT %(size)s OFFSET %(offset)s")
        with connection_for_reads().cursor() as cursor:
            cursor.execute(sql, {**params, "size": size, "offset": offset})
            return [_frequency_row(values) for values in cursor.fetchall()]

    return SqlRows(count=count, page=page)


def prisoner_frequency(*, prisoner: Prisoner, now: datetime.datetime) -> FrequencyRow:
    """``prisoner``'s row of ``call_frequency`` as of ``now``, counting the calls made
    at his site (as the report does for a staff member of that site), with
    ``days_without_news`` as ``with_news`` computes it. The same SQL as the report's
    page sorted by ISN, for one prisoner: one query, one range scan of his calls."""
    sql = _frequency_sql(FrequencyFilter(), "")
    params = {
        **_frequency_params([], FrequencyFilter(), now, prisoner=prisoner.pk),
        "sites": [prisoner.site_id],
    }
    with connection_for_reads().cursor() as cursor:
        cursor.execute(sql, params)
        return _frequency_row(cursor.fetchone())


def call_frequency_rows(
    *, sites: Sequence[Site], filters: FrequencyFilter, now: datetime.datetime, chunk: int = 2000
) -> Iterator[FrequencyRow]:
    """Every row of ``call_frequency``, read through a server-side cursor ``chunk``
    rows at a time: one query, memory bounded whatever the number of prisoners."""
    sql = _frequency_sql(filters, "")
    with connection_for_reads().chunked_cursor() as cursor:
        cursor.execute(sql, _frequency_params(sites, filters, now))
        while rows := cursor.fetchmany(chunk):
            yield from (_frequency_row(values) for values in rows)
