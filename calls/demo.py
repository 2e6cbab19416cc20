"""Demo data of the call room for one site: lines, a weekly schedule, the call policy,
slots, the logbook of the past weeks and bookings for the coming days.

The past is simulated in memory, day by day, under the rules ``calls.rules``
applies to a live booking: calls only while the prisoner is interned and has an
approved contact, not while his calls are suspended or the programme is closed,
connected calls at least the policy's minimum days apart, live bookings within
the monthly maximum (a few overridden by a supervisor, with the reason kept),
and make-up calls after an air-raid alert that count against neither. Each
booked slot holds one or more attempts, one after another on its line within
the policy's time limit. The result is written with COPY (``prisoners.demo.copy_rows``),
so the database checks every constraint and its triggers keep the stored values
(the entries' amended values, the prisoners' last connected call and make-up owed).

Lines follow the number of prisoners: a camp adds a line when its prisoners
outgrow the slots it has.
"""

import datetime
import json
import math
from dataclasses import dataclass
from random import Random

from django.utils import timezone
from django.utils.translation import gettext as _

from calls.models import (
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
from camp.models import Site, User
from camp.roles import Role
from prisoners.demo import Progress, copy_rows, reserve_ids
from prisoners.models import Contact, Prisoner, StatusChange

UTC = datetime.UTC
ONE_DAY = datetime.timedelta(days=1)
SLOT = datetime.timedelta(minutes=15)
# Every line is open every day, so the demo desk has slots whatever day it is shown on;
# 36 slots a day, the last ones in the evening, when the prisoners are back from work.
WINDOWS = [
    (datetime.time(9), datetime.time(12)),
    (datetime.time(13), datetime.time(17)),
    (datetime.time(18), datetime.time(20)),
]
# A line's slots serve about this many prisoners, with some room to spare.
PRISONERS_PER_LINE = 300
MIN_LINES = 2
FUTURE_WEEKS = 2
BOOKED_DAYS_AHEAD = 3
# Chance that a day has an air-raid alert during the call hours.
ALERT_CHANCE = 1 / 9

# One attempt: (outcome, share of attempts, shortest and longest seconds).
ATTEMPTS = [
    (Outcome.CONNECTED, 0.31, 240, 900),
    (Outcome.ENDED_BY_MONITOR, 0.01, 120, 480),
    (Outcome.NO_ANSWER, 0.37, 40, 90),
    (Outcome.BUSY, 0.15, 10, 30),
    (Outcome.LINE_FAULT, 0.12, 5, 40),
    (Outcome.WRONG_NUMBER, 0.04, 20, 60),
]
# After a failed attempt the prisoner usually dials again, while his slot lasts.
REDIAL = 0.92
MAX_ATTEMPTS = 6
NO_SHOW = 0.03
# Bookings made past the monthly maximum by a supervisor.
OVERRIDE = 0.03
OVERRIDE_REASON = "Family emergency: his mother is in hospital (supervisor's decision)."
# Connected calls flagged for review, and those that ran a little past the limit.
FLAGGED = 0.02
OVER_LIMIT = 0.004
FLAG_REASONS = [
    "Mentioned the location of the camp.",
    "Spoke of other prisoners by name.",
    "The person answering was not the approved contact.",
    "Switched to a language the monitor does not understand.",
]
OVER_LIMIT_REASON = "Ran past the time limit."
MONITOR_ENDED_NOTE = "Ended by the monitor after a warning."
MONITOR_ENDED_FLAG = "The monitor ended the call; supervisor to review."
NOTES = [
    "",
    "",
    "",
    "Asked about his mother's health.",
    "Told his wife he is well and working.",
    "Asked the family to send warm clothes.",
    "Spoke with his daughter; calm call.",
]
# Entries corrected after the shift, by kind: (chance for a fitting entry, reason).
AMEND_OUTCOME = (0.006, "Busy tone, not unanswered: the monitor chose the wrong outcome.")
AMEND_NOTES = (0.006, "Notes added from the monitor's paper notes.")
AMEND_LANGUAGE = (0.02, "The call was in Ukrainian.")
AMEND_FLAG = (0.3, "Reviewed by a supervisor: nothing of concern.")
ADDED_NOTES = "Asked for news of his brother; the family will write."
SUSPENSIONS = [
    (Suspension.Reason.MEDICAL, "Camp medical officer", "MED-{n:03d}"),
    (
        Suspension.Reason.SECURITY_INVESTIGATION,
        "Investigator, military prosecutor's office",
        "INV-{n:03d}/26",
    ),
    (Suspension.Reason.AUTHORITY_DECISION, "National coordination office", "14/3-{n:03d}"),
    (Suspension.Reason.PRISONER_REQUEST, "Written request of the prisoner", ""),
]

CALL_COLUMNS = [
    "id", "site_id", "prisoner_id", "contact_id", "number_dialled", "locality", "line_id",
    "booking_id", "policy_id", "started_at", "deadline", "ended_at", "outcome", "language",
    "monitor_id", "notes", "flagged", "flag_reason", "over_limit", "is_makeup", "created_at",
    "amendment_count",
]  # fmt: skip
BOOKING_COLUMNS = [
    "id", "slot_id", "prisoner_id", "starts_at", "ends_at", "status", "is_makeup",
    "override_reason", "booked_by_id", "booked_at", "cancel_reason",
]  # fmt: skip
SLOT_COLUMNS = ["id", "line_id", "starts_at", "ends_at", "suspended_by_id"]
AMENDMENT_COLUMNS = ["call_id", "changes", "reason", "author_id", "created_at"]


def expected_rows(prisoners: int, weeks: int) -> int:
    """About how many rows ``seed_calls`` simulates and writes for a camp of this size:
    a booking a fortnight for each prisoner, its slot, and two or three attempts."""
    return round(prisoners * weeks * 2.4)


@dataclass
class _Contact:
    pk: int
    number: str
    locality: str
    language: str


class _Caller:
    """A prisoner as the simulation sees him: when he may call, and what he has used."""

    __slots__ = (
        "contacts",
        "languages",
        "last_connected",
        "month",
        "month_count",
        "owed",
        "pace",
        "periods",
        "pk",
        "resume",
        "suspended",
    )

    def __init__(self, pk, contacts, languages, periods, pace):
        self.pk = pk
        self.contacts = contacts
        self.languages = languages
        # (first day, day after the last) he may call, as day numbers from the first day.
        self.periods = periods
        self.suspended: list[tuple[int, int]] = []
        self.pace = pace
        self.last_connected = None
        self.month = None
        self.month_count = 0
        # Index of the alert that left a make-up call owed, or None.
        self.owed = None
        self.resume = 0


class _Booking:
    __slots__ = ("attempts", "caller", "day", "makeup", "override", "position", "status")

    def __init__(self, caller, day, position, makeup, override):
        self.caller = caller
        self.day = day
        # Line number times slots a day, plus the slot of the day.
        self.position = position
        self.makeup = makeup
        self.override = override
        self.status = Booking.Status.BOOKED
        # (outcome, started, ended, deadline) in seconds since the epoch.
        self.attempts: list[list] = []


@dataclass
class _Policy:
    effective_from: datetime.date
    calls_open: bool
    min_days_between: int
    max_calls_per_month: int
    note: str
    pk: int | None = None
    max_minutes: int = 15


def _policies(first_day: datetime.date, weeks: int) -> list[_Policy]:
    """The versions of the call policy over the period: calls grow rarer; a long
    period also has the programme suspended for ten days and reinstated."""
    versions = [
        _Policy(
            first_day,
            True,
            7,
            5,
            "Calls approved by the national coordination office, letter 14/3-217.",
        )
    ]
    if weeks >= 20:
        closed = first_day + datetime.timedelta(weeks=round(weeks * 0.4))
        versions += [
            _Policy(
                closed,
                False,
                7,
                5,
                "Programme suspended by the national coordination office pending a review "
                "(letter 14/3-301).",
            ),
            _Policy(
                closed + datetime.timedelta(days=10),
                True,
                7,
                4,
                "Programme reinstated (letter 14/3-322); four calls a month.",
            ),
        ]
    stricter = first_day + datetime.timedelta(
        weeks=max(1, weeks // 2 if weeks < 20 else weeks * 4 // 5)
    )
    versions.append(
        _Policy(
            stricter,
            True,
            10,
            3,
            "Fewer calls: the line is shared with the hospital wing (order 52).",
        )
    )
    return versions


def seed_calls(
    *, site: Site, actor, random: Random, weeks: int = 12, progress: Progress | None = None
) -> dict:
    """Fill the call room of ``site`` with demo data; ``random`` is a ``random.Random``.

    Needs the site's prisoners, their status history and approved contacts; the
    guards of the site are the monitors (``actor`` when there are none). Does
    nothing when the site already has lines. Runs in the caller's transaction:
    a few dozen queries, then COPY statements of about a second each; about a
    minute per million logbook entries. Returns counts.
    """
    if Line.objects.filter(site=site).exists():
        return {}
    progress = progress or Progress()
    progress.stage(_("call room"))
    room = _CallRoom(site=site, actor=actor, random=random, weeks=weeks, progress=progress)
    room.load()
    room.set_up()
    room.simulate()
    return room.write()


class _CallRoom:
    def __init__(self, *, site, actor, random, weeks, progress):
        self.site = site
        self.actor = actor
        self.random = random
        self.progress = progress
        self.zone = site.zone
        self.today = site.today()
        self.now = timezone.now()
        self.first_day = self.today - datetime.timedelta(weeks=weeks)
        self.weeks = weeks
        # Days from the first day to the last with slots.
        self.days = (self.today - self.first_day).days + FUTURE_WEEKS * 7
        self.history_days = (self.today - self.first_day).days
        self.last_booked_day = self.history_days + BOOKED_DAYS_AHEAD - 1
        # The first booking past the monthly maximum is overridden whatever the dice say,
        # so that every demo camp shows a supervisor's override.
        self.overridden = False

    # -- what the site has -----------------------------------------------------------

    def load(self) -> None:
        site, first_day = self.site, self.first_day
        self.monitors = [
            user.pk
            for user in User.objects.filter(sites=site, groups__name=Role.GUARD)
            .order_by("pk")
            .distinct()
        ] or [self.actor.pk]
        contacts: dict[int, list[_Contact]] = {}
        ready: dict[int, datetime.date] = {}
        for contact in (
            Contact.objects.approved()
            .filter(prisoner__site=site, decided_at__isnull=False)
            .order_by("prisoner_id", "pk")
        ):
            contacts.setdefault(contact.prisoner_id, []).append(
                _Contact(contact.pk, contact.phone_number, contact.locality, contact.language)
            )
            # He calls once the last of his approved contacts was decided.
            decided = contact.decided_at.astimezone(self.zone).date() + ONE_DAY
            ready[contact.prisoner_id] = max(ready.get(contact.prisoner_id, decided), decided)
        history: dict[int, list[tuple[str, datetime.date]]] = {}
        for prisoner_id, status, effective_on in (
            StatusChange.objects.filter(prisoner__site=site)
            .order_by("prisoner_id", "effective_on", "recorded_at", "pk")
            .values_list("prisoner_id", "status", "effective_on")
        ):
            history.setdefault(prisoner_id, []).append((status, effective_on))
        self.callers: list[_Caller] = []
        for pk, arrived_on, status, languages in (
            Prisoner.objects.filter(site=site, pk__in=contacts)
            .order_by("pk")
            .values_list("pk", "arrived_on", "status", "languages")
        ):
            changes = history.get(pk) or [(status, arrived_on)]
            start = max(arrived_on, ready[pk], first_day)
            periods = []
            # Interned from one change until the next: he no longer calls on the day it ends.
            for (state, since), (_next, until) in zip(
                changes, [*changes[1:], (None, None)], strict=True
            ):
                begin = self._day(max(since, start))
                end = self.days if until is None else min(self._day(until), self.days)
                if state == Prisoner.Status.INTERNED and begin < end:
                    periods.append((begin, end))
            if periods:
                pace = self.random.choice((0, 0, 0, 1, 1, 2, 3, 5, 8))
                self.callers.append(_Caller(pk, contacts[pk], languages, periods, pace))

    def _day(self, day: datetime.date) -> int:
        return (day - self.first_day).days

    def _date(self, day: int) -> datetime.date:
        return self.first_day + datetime.timedelta(days=day)

    # -- lines, schedule, policy and suspensions --------------------------------------

    def set_up(self) -> None:
        site, actor = self.site, self.actor
        self.policies = _policies(self.first_day, self.weeks)
        saved = CallPolicy.objects.bulk_create(
            [
                CallPolicy(
                    site=site,
                    effective_from=policy.effective_from,
                    calls_open=policy.calls_open,
                    max_minutes=policy.max_minutes,
                    min_days_between=policy.min_days_between,
                    max_calls_per_month=policy.max_calls_per_month,
                    note=policy.note,
                    created_by=actor,
                    created_at=self._moment(self._day(policy.effective_from) - 3, 10 * 3600),
                )
                for policy in self.policies
            ]
        )
        for policy, row in zip(self.policies, saved, strict=True):
            policy.pk = row.pk
            audit.record(
                actor=actor,
                action="calls.callpolicy.set",
                target=row,
                site=site,
                data={"effective_from": policy.effective_from.isoformat(), "demo": True},
            )
        self.policy_of_day = []
        index = 0
        for day in range(self.days):
            date = self._date(day)
            while (
                index + 1 < len(self.policies) and self.policies[index + 1].effective_from <= date
            ):
                index += 1
            self.policy_of_day.append(self.policies[index])
        self._set_up_lines()
        self._suspend_some()

    def _set_up_lines(self) -> None:
        """As many lines as the prisoners present need, each added when they first do."""
        present = [0] * (self.days + 1)
        for caller in self.callers:
            for begin, end in caller.periods:
                present[begin] += 1
                present[min(end, self.days)] -= 1
        running, counts = 0, []
        for day in range(self.days):
            running += present[day]
            counts.append(running)
        self.lines_on_day = []
        lines = MIN_LINES
        for day in range(self.days):
            ahead = max(counts[day : day + 8])
            lines = max(lines, math.ceil(ahead / PRISONERS_PER_LINE))
            self.lines_on_day.append(lines)
        total = self.lines_on_day[-1]
        width = len(str(total))
        names = [f"Line {n:0{width}d}" if total >= 10 else f"Line {n}" for n in range(1, total + 1)]
        self.lines = Line.objects.bulk_create([Line(site=self.site, name=name) for name in names])
        ScheduleWindow.objects.bulk_create(
            ScheduleWindow(
                line=line, weekday=weekday, starts_at=starts_at, ends_at=ends_at, slot_minutes=15
            )
            for line in self.lines
            for weekday in range(7)
            for starts_at, ends_at in WINDOWS
        )
        for number, line in enumerate(self.lines):
            first = next(day for day, count in enumerate(self.lines_on_day) if count > number)
            audit.record(
                actor=self.actor,
                action="calls.line.added",
                target=line,
                site=self.site,
                data={"demo": True, "slots_from": self._date(first).isoformat()},
            )
        # The slots of a day, as (start, end) in seconds since the epoch, the same on every line.
        self.slot_times = []
        for day in range(self.days):
            date = self._date(day)
            times = []
            for starts_at, ends_at in WINDOWS:
                moment = datetime.datetime.combine(date, starts_at, tzinfo=self.zone)
                end = datetime.datetime.combine(date, ends_at, tzinfo=self.zone)
                while moment + SLOT <= end:
                    times.append((int(moment.timestamp()), int((moment + SLOT).timestamp())))
                    moment += SLOT
            self.slot_times.append(times)
        self.slots_a_day = len(self.slot_times[0])

    def _suspend_some(self) -> None:
        """About one prisoner in a hundred has his calls suspended for a while during
        his stay; one suspension is in force today, for the desk to show."""
        random = self.random
        count = max(2, len(self.callers) // 100) if len(self.callers) >= 4 else 0
        here_today = [
            caller for caller in self.callers if caller.periods[-1][1] > self.history_days
        ]
        chosen = random.sample(here_today, 1) if here_today and count else []
        others = [caller for caller in self.callers if caller not in chosen]
        chosen += random.sample(others, count - len(chosen))
        rows = []
        for number, caller in enumerate(chosen):
            reason, authority, reference = SUSPENSIONS[number % len(SUSPENSIONS)]
            if number == 0:
                begin, length = max(caller.periods[-1][0], self.history_days - 12), 30
            else:
                first, end = caller.periods[0]
                begin = random.randint(first, max(first, min(end, self.history_days) - 7))
                length = random.randint(7, 45)
            caller.suspended.append((begin, begin + length))
            rows.append(
                Suspension(
                    prisoner_id=caller.pk,
                    reason=reason,
                    authority=authority,
                    document_reference=reference.format(n=number + 41),
                    starts_on=self._date(begin),
                    ends_on=self._date(begin + length),
                    created_by=self.actor,
                    created_at=self._moment(begin, 9 * 3600),
                )
            )
        self.suspensions = Suspension.objects.bulk_create(rows)
        for suspension in self.suspensions:
            audit.record(
                actor=self.actor,
                action="calls.suspension.added",
                target=suspension,
                site=self.site,
                data={
                    "reason": suspension.reason,
                    "from": suspension.starts_on.isoformat(),
                    "until": suspension.ends_on.isoformat(),
                    "demo": True,
                },
            )

    def _moment(self, day: int, seconds: int) -> datetime.datetime:
        """``seconds`` after the start of ``day`` at the site, never after now."""
        moment = self.site.day_start(self._date(day)) + datetime.timedelta(seconds=seconds)
        return min(moment, self.now)

    # -- the simulation ----------------------------------------------------------------

    def simulate(self) -> None:
        random = self.random
        self.progress.stage(_("simulating the logbook"))
        wanted: list[list[_Caller]] = [[] for _day in range(self.last_booked_day + 2)]
        for caller in self.callers:
            self._want(wanted, caller, caller.periods[0][0] + random.randint(0, 6))
        self.alert_days = self._alert_days()
        self.last_alert_day = max(self.alert_days, default=None)
        self.alerts: list[tuple[int, int]] = []
        # day -> {slot of the day: alert index} for the slots the alert suspended
        self.suspended_slots: dict[int, dict[int, int]] = {}
        self.bookings: list[_Booking] = []
        now = self.now.timestamp()
        for day in range(self.last_booked_day + 1):
            policy = self.policy_of_day[day]
            callers = wanted[day]
            wanted[day] = []
            random.shuffle(callers)
            # Those owed a make-up call are booked first.
            callers.sort(key=lambda caller: caller.owed is None)
            times = self.slot_times[day]
            if day < self.history_days:
                free = list(range(self.lines_on_day[day] * self.slots_a_day))
            else:
                open_slots = [k for k, (start, _end) in enumerate(times) if start > now]
                free = [
                    line * self.slots_a_day + k
                    for line in range(self.lines_on_day[day])
                    for k in open_slots
                ]
            random.shuffle(free)
            todays = []
            for caller in callers:
                later, override = self._may_book(caller, day, policy)
                if later is not None:
                    self._want(wanted, caller, later)
                    continue
                if not free:
                    self._want(wanted, caller, day + 1)
                    continue
                booking = _Booking(caller, day, free.pop(), caller.owed is not None, override)
                todays.append(booking)
                if day < self.history_days:
                    self._attempts(booking, policy)
            if day in self.alert_days:
                self._sound_alert(day, todays)
            for booking in todays:
                self._account(wanted, booking, policy)
            self.bookings.extend(todays)
            self.progress.advance(len(todays))

    def _want(self, wanted, caller: _Caller, day: int) -> None:
        if day < len(wanted):
            wanted[day].append(caller)

    def _may_book(self, caller: _Caller, day: int, policy: _Policy):
        """(None, override) when ``caller`` may book on ``day``; else (the day to try next, False).

        The day to try next is past the end of the simulation when he never may again.
        """
        for begin, end in caller.periods:
            if day < begin:
                return begin, False
            if day < end:
                break
        else:
            return self.days, False
        for begin, end in caller.suspended:
            if begin <= day <= end:
                return end + 1, False
        if not policy.calls_open:
            reopens = next(
                (
                    later
                    for later in range(day + 1, self.days)
                    if self.policy_of_day[later].calls_open
                ),
                self.days,
            )
            return reopens, False
        if caller.owed is not None:
            return None, False
        if caller.last_connected is not None:
            eligible = caller.last_connected + policy.min_days_between
            if day < eligible:
                return eligible, False
        month = self._month(day)
        count = caller.month_count if caller.month == month else 0
        if count >= policy.max_calls_per_month:
            if not self.overridden or self.random.random() < OVERRIDE:
                self.overridden = True
                return None, True
            return self._next_month(day), False
        return None, False

    def _month(self, day: int) -> tuple[int, int]:
        date = self._date(day)
        return date.year, date.month

    def _next_month(self, day: int) -> int:
        date = self._date(day)
        following = (date.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        return self._day(following)

    def _attempts(self, booking: _Booking, policy: _Policy) -> None:
        """The attempts made in a booked slot, one after another on its line."""
        random = self.random
        if random.random() < NO_SHOW:
            booking.status = Booking.Status.NO_SHOW
            return
        start, slot_end = self.slot_times[booking.day][booking.position % self.slots_a_day]
        limit = policy.max_minutes * 60
        used = 0
        moment = start + random.randint(0, 90)
        for _attempt in range(MAX_ATTEMPTS):
            outcome, _share, shortest, longest = _attempt_kind(random.random())
            deadline = moment + limit - used
            ended = min(moment + random.randint(shortest, longest), deadline, slot_end)
            if outcome == Outcome.CONNECTED and random.random() < OVER_LIMIT:
                # The monitor let him finish his sentence.
                ended = min(deadline + random.randint(10, 60), slot_end)
            if ended - moment < 5:
                break
            booking.attempts.append([outcome, moment, ended, deadline])
            used += ended - moment
            if outcome in (Outcome.CONNECTED, Outcome.ENDED_BY_MONITOR):
                break
            if random.random() > REDIAL:
                break
            moment = ended + random.randint(20, 60)

    def _alert_days(self) -> set[int]:
        """Early, mid-way and three days ago, and now and then in between."""
        last = self.history_days - 3
        days = {day for day in (2 * 7 + 2, self.history_days // 2, last) if 0 <= day <= last}
        days |= {day for day in range(7, last) if self.random.random() < ALERT_CHANCE}
        return days

    def _sound_alert(self, day: int, todays: list[_Booking]) -> None:
        """Calls in progress at the siren are cut off; the slots inside are suspended and
        those whose call had not connected are owed a make-up call."""
        random = self.random
        times = self.slot_times[day]
        calls = [booking for booking in todays if booking.attempts]
        if calls:
            _outcome, started, ended, _deadline = random.choice(calls).attempts[-1]
            siren = started + (ended - started) // 2
        else:
            start = times[random.randrange(len(times))][0]
            siren = start + random.randint(0, 14 * 60)
        all_clear = siren + random.randint(20, 80) * 60
        index = len(self.alerts)
        self.alerts.append((siren, all_clear))
        inside = {
            k: index for k, (start, end) in enumerate(times) if start < all_clear and end > siren
        }
        self.suspended_slots[day] = inside
        is_last = day == self.last_alert_day
        for booking in todays:
            if booking.position % self.slots_a_day not in inside:
                continue
            kept = []
            for attempt in booking.attempts:
                _outcome, started, ended, _deadline = attempt
                if ended <= siren:
                    kept.append(attempt)
                elif started < siren:
                    attempt[0] = Outcome.INTERRUPTED_BY_ALERT
                    attempt[2] = siren
                    kept.append(attempt)
            booking.attempts = kept
            if booking.status == Booking.Status.BOOKED and not any(
                attempt[0] == Outcome.CONNECTED for attempt in kept
            ):
                booking.status = Booking.Status.SUSPENDED
                # Those owed after the last alert are still owed: the desk shows them.
                booking.caller.owed = -1 if is_last else index

    def _account(self, wanted, booking: _Booking, policy: _Policy) -> None:
        """What a day's booking changes in the rules for the days after, and when the
        prisoner wants to call next."""
        random = self.random
        caller, day = booking.caller, booking.day
        connected = any(attempt[0] == Outcome.CONNECTED for attempt in booking.attempts)
        if day >= self.history_days:
            # Booked for the coming days; he waits for that call.
            if not booking.makeup:
                self._count(caller, day)
            caller.owed = None if booking.makeup else caller.owed
            self._want(wanted, caller, day + policy.min_days_between + caller.pace)
            return
        if booking.status == Booking.Status.SUSPENDED:
            if not booking.makeup:
                caller.resume = day + 1
            # Owed after the last alert: booked for the coming days only.
            retry = self.history_days if caller.owed == -1 else day + random.randint(1, 2)
            self._want(wanted, caller, retry)
            return
        if booking.makeup:
            if connected:
                caller.owed = None
                self._want(wanted, caller, max(caller.resume, day + 1))
            else:
                self._want(wanted, caller, day + random.randint(1, 2))
            return
        if booking.status == Booking.Status.BOOKED:
            # Live bookings count against the monthly maximum, connected or not.
            self._count(caller, day)
        if connected:
            caller.last_connected = day
            later = day + policy.min_days_between + caller.pace + random.randint(0, 2)
        elif booking.status == Booking.Status.NO_SHOW:
            later = day + random.randint(2, 7)
        else:
            later = day + random.randint(1, 3)
        self._want(wanted, caller, later)

    def _count(self, caller: _Caller, day: int) -> None:
        month = self._month(day)
        if caller.month != month:
            caller.month, caller.month_count = month, 0
        caller.month_count += 1

    # -- writing -------------------------------------------------------------------------

    def write(self) -> dict:
        progress = self.progress
        bookings = self.bookings
        attempts = sum(len(booking.attempts) for booking in bookings)
        slots = sum(self.lines_on_day) * self.slots_a_day
        progress.expect(slots + len(bookings) + attempts)
        monitor = self.monitors[0]
        alerts = AirRaidAlert.objects.bulk_create(
            AirRaidAlert(
                site=self.site,
                started_at=_datetime(siren),
                ended_at=_datetime(all_clear),
                started_by_id=monitor,
                ended_by_id=monitor,
            )
            for siren, all_clear in self.alerts
        )
        alert_ids = [alert.pk for alert in alerts]
        progress.stage(_("slots"))
        slot_ids = reserve_ids(CallSlot, slots)
        # Where each day's slots start in slot_ids.
        self.first_slot = []
        position = 0
        for lines in self.lines_on_day:
            self.first_slot.append(position)
            position += lines * self.slots_a_day
        copy_rows(CallSlot, SLOT_COLUMNS, self._slot_rows(slot_ids, alert_ids), progress=progress)
        progress.stage(_("bookings"))
        booking_ids = reserve_ids(Booking, len(bookings))
        copy_rows(
            Booking,
            BOOKING_COLUMNS,
            self._booking_rows(booking_ids, slot_ids),
            progress=progress,
        )
        progress.stage(_("logbook entries"))
        call_ids = reserve_ids(Call, attempts)
        self.amendments: list[tuple] = []
        self.connected = 0
        copy_rows(Call, CALL_COLUMNS, self._call_rows(call_ids, booking_ids), progress=progress)
        progress.stage(_("amendments"))
        progress.expect(len(self.amendments))
        self.amendments.sort(key=lambda amendment: amendment[-1])
        copy_rows(Amendment, AMENDMENT_COLUMNS, self.amendments, progress=progress)
        upcoming = sum(1 for booking in bookings if booking.day >= self.history_days)
        counts = {
            "lines": len(self.lines),
            "slots": slots,
            "bookings": len(bookings),
            "calls": attempts,
            "connected": self.connected,
            "alerts": len(alerts),
            "suspensions": len(self.suspensions),
            "amendments": len(self.amendments),
            "upcoming_bookings": upcoming,
        }
        self._audit(counts)
        return counts

    def _audit(self, counts: dict) -> None:
        """One entry for each kind of thing the demo wrote in bulk."""
        site, actor = self.site, self.actor
        first = self.first_day.isoformat()
        last = (self.first_day + datetime.timedelta(days=self.days - 1)).isoformat()
        audit.record(
            actor=actor,
            action="calls.slots.generated",
            target=site,
            site=site,
            data={"from": first, "to": last, "created": counts["slots"], "demo": True},
        )
        audit.record(
            actor=actor,
            action="calls.booking.created",
            target=site,
            site=site,
            data={"bookings": counts["bookings"], "demo": True},
        )
        audit.record(
            actor=actor,
            action="calls.call.ended",
            target=site,
            site=site,
            data={"calls": counts["calls"], "alerts": counts["alerts"], "demo": True},
        )
        if counts["amendments"]:
            audit.record(
                actor=actor,
                action="calls.call.amended",
                target=site,
                site=site,
                data={"amendments": counts["amendments"], "demo": True},
            )

    def _slot_rows(self, slot_ids, alert_ids):
        line_ids = [line.pk for line in self.lines]
        for day, lines in enumerate(self.lines_on_day):
            times = [(_datetime(start), _datetime(end)) for start, end in self.slot_times[day]]
            suspended = self.suspended_slots.get(day, {})
            position = self.first_slot[day]
            for line in range(lines):
                line_id = line_ids[line]
                for k, (start, end) in enumerate(times):
                    alert = suspended.get(k)
                    yield (
                        slot_ids[position],
                        line_id,
                        start,
                        end,
                        None if alert is None else alert_ids[alert],
                    )
                    position += 1

    def _slot_id(self, booking: _Booking, slot_ids) -> int:
        return slot_ids[self.first_slot[booking.day] + booking.position]

    def _booking_rows(self, booking_ids, slot_ids):
        random, actor, now = self.random, self.actor.pk, self.now
        for pk, booking in zip(booking_ids, self.bookings, strict=True):
            start, end = self.slot_times[booking.day][booking.position % self.slots_a_day]
            starts_at = _datetime(start)
            booked_at = min(
                starts_at
                - datetime.timedelta(days=random.randint(1, 5), minutes=random.randint(0, 600)),
                now - datetime.timedelta(minutes=random.randint(5, 600)),
            )
            yield (
                pk,
                self._slot_id(booking, slot_ids),
                booking.caller.pk,
                starts_at,
                _datetime(end),
                booking.status,
                booking.makeup,
                OVERRIDE_REASON if booking.override else "",
                actor,
                booked_at,
                "",
            )

    def _call_rows(self, call_ids, booking_ids):
        """Each attempt as a logbook entry, with an amendment now and then.

        Newest first (the newest with the highest id): the statement triggers that
        keep each prisoner's last connected call find it in place when the older
        chunks come, and so update a prisoner about once rather than once a chunk.
        """
        random, site_id, author = self.random, self.site.pk, self.actor.pk
        slots_a_day = self.slots_a_day
        line_ids = [line.pk for line in self.lines]
        ids = reversed(call_ids)
        for booking_id, booking in reversed(list(zip(booking_ids, self.bookings, strict=True))):
            if not booking.attempts:
                continue
            caller = booking.caller
            contact = random.choice(caller.contacts)
            language = contact.language or (caller.languages[0] if caller.languages else "")
            monitor = random.choice(self.monitors)
            policy_id = self.policy_of_day[booking.day].pk
            line_id = line_ids[booking.position // slots_a_day]
            for outcome, started, ended, deadline in reversed(booking.attempts):
                pk = next(ids)
                notes, flag_reason = "", ""
                over_limit = ended > deadline
                if outcome == Outcome.CONNECTED:
                    self.connected += 1
                    notes = random.choice(NOTES)
                    if random.random() < FLAGGED:
                        flag_reason = random.choice(FLAG_REASONS)
                elif outcome == Outcome.ENDED_BY_MONITOR:
                    notes = MONITOR_ENDED_NOTE
                    if random.random() < 0.5:
                        flag_reason = MONITOR_ENDED_FLAG
                if over_limit:
                    # As ``end_call`` flags it.
                    flag_reason = f"{flag_reason} {OVER_LIMIT_REASON}".strip()
                started_at = _datetime(started)
                ended_at = _datetime(ended)
                yield (
                    pk,
                    site_id,
                    caller.pk,
                    contact.pk,
                    contact.number,
                    contact.locality,
                    line_id,
                    booking_id,
                    policy_id,
                    started_at,
                    _datetime(deadline),
                    ended_at,
                    outcome,
                    language,
                    monitor,
                    notes,
                    bool(flag_reason),
                    flag_reason,
                    over_limit,
                    booking.makeup,
                    started_at,
                    0,
                )
                change = self._amendment(outcome, notes, flag_reason, language, caller)
                if change:
                    changes, reason = change
                    created_at = min(
                        ended_at + datetime.timedelta(minutes=random.randint(30, 4000)), self.now
                    )
                    self.amendments.append((pk, json.dumps(changes), reason, author, created_at))

    def _amendment(self, outcome, notes, flag_reason, language, caller):
        """Now and then a correction of the entry: (changes, reason), or None."""
        roll = self.random.random()
        if flag_reason and roll < AMEND_FLAG[0]:
            return {"flagged": {"from": True, "to": False}}, AMEND_FLAG[1]
        if outcome == Outcome.NO_ANSWER and roll < AMEND_OUTCOME[0]:
            return {"outcome": {"from": outcome, "to": Outcome.BUSY}}, AMEND_OUTCOME[1]
        if outcome == Outcome.CONNECTED:
            if not notes and roll < AMEND_NOTES[0]:
                return {"notes": {"from": "", "to": ADDED_NOTES}}, AMEND_NOTES[1]
            if language == "ru" and "uk" in caller.languages and roll < AMEND_LANGUAGE[0]:
                return {"language": {"from": "ru", "to": "uk"}}, AMEND_LANGUAGE[1]
        return None


def _attempt_kind(roll: float) -> tuple:
    for kind in ATTEMPTS:
        roll -= kind[1]
        if roll < 0:
            return kind
    return ATTEMPTS[-1]


def _datetime(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, UTC)
