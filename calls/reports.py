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
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from calls.models import Booking, Call, Outcome
from camp.models import Site
from prisoners.models import Contact

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
    with connection.cursor() as cursor:
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


# Calls and slots grouped by their site's local week, each joined to every week of
# the period so that a week without either reads as zero.
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
)
SELECT weeks.week,
       COALESCE(calls_by_week.attempts, 0),
       COALESCE(calls_by_week.connected, 0),
       calls_by_week.average_minutes,
       COALESCE(slots_by_week.offered, 0),
       COALESCE(slots_by_week.booked, 0),
       COALESCE(slots_by_week.used, 0),
       COALESCE(slots_by_week.no_show, 0),
       COALESCE(slots_by_week.lost_to_alerts, 0)
FROM weeks
LEFT JOIN calls_by_week ON calls_by_week.week = weeks.week
LEFT JOIN slots_by_week ON slots_by_week.week = weeks.week
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
      suspended by an air-raid alert, booked or not.

    One query.
    """
    params = {
        **_period(today=today, weeks=weeks),
        "sites": [site.pk for site in sites],
        "connected": Outcome.CONNECTED,
        "no_show": Booking.Status.NO_SHOW,
        "cancelled": Booking.Status.CANCELLED,
    }
    with connection.cursor() as cursor:
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
            ) in cursor.fetchall()
        ]
