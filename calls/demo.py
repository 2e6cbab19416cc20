"""Demo data of the call room for one site: lines, a weekly schedule, the call policy,
slots, twelve weeks of logbook history and bookings for the coming days.

The set-up and the future go through ``calls.services``. The past is written
directly with ``bulk_create``, because the services stamp live calls with the
server's clock; it follows the same rules (one call at a time per line, one
booking per slot, the prisoner's approved contacts, the call policy, suspensions,
air-raid alerts and the make-up calls they leave owed).
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from calls import services
from calls.models import (
    AirRaidAlert,
    Booking,
    Call,
    CallPolicy,
    CallSlot,
    Line,
    Outcome,
    Suspension,
)
from calls.services import CallError
from camp import audit
from camp.models import Site, User
from camp.roles import Role
from prisoners.models import Contact, Prisoner

ONE_DAY = datetime.timedelta(days=1)
# Every day of the week, so the demo desk has slots whatever day it is shown on.
WORKING_WEEKDAYS = range(7)
WINDOWS = {
    "Line 1": [(datetime.time(9), datetime.time(12)), (datetime.time(14), datetime.time(17))],
    "Line 2": [(datetime.time(10), datetime.time(12)), (datetime.time(15), datetime.time(18))],
}
# Share of the prisoners who call in a week: most at first, few by the end.
FIRST_WEEK_RATE = 0.85
LAST_WEEK_RATE = 0.08
FUTURE_WEEKS = 2
BOOKED_DAYS_AHEAD = 3
FLAG_EVERY = 50
FLAG_REASONS = [
    "Mentioned the location of the camp.",
    "Spoke of other prisoners by name.",
    "The person answering was not the approved contact.",
    "Switched to a language the monitor does not understand.",
]
NOTES = [
    "",
    "",
    "",
    "Asked about his mother's health.",
    "Told his wife he is well and working.",
    "Asked the family to send warm clothes.",
    "Spoke with his daughter; calm call.",
]


@dataclass
class _Attempt:
    outcome: str
    started_at: datetime.datetime
    ended_at: datetime.datetime
    deadline: datetime.datetime


@dataclass
class _Planned:
    slot: CallSlot
    prisoner: Prisoner
    makeup: bool
    attempts: list[_Attempt] = field(default_factory=list)
    status: str = Booking.Status.BOOKED


def _week_rate(week: int, weeks: int) -> float:
    return FIRST_WEEK_RATE * (LAST_WEEK_RATE / FIRST_WEEK_RATE) ** (week / max(weeks - 1, 1))


def _set_up(*, site: Site, actor, first_day: datetime.date) -> list[CallPolicy]:
    """Lines, windows and two versions of the policy (the second, stricter, half-way)."""
    for name, windows in WINDOWS.items():
        line = services.add_line(site=site, name=name, actor=actor)
        for weekday in WORKING_WEEKDAYS:
            for starts_at, ends_at in windows:
                services.add_schedule_window(
                    line=line,
                    weekday=weekday,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    slot_minutes=15,
                    actor=actor,
                )
    # Past versions cannot be set through the service (it refuses the past).
    versions = [
        CallPolicy(
            site=site,
            effective_from=first_day,
            max_minutes=15,
            min_days_between=7,
            max_calls_per_month=4,
            note="Calls approved by the national coordination office, letter 14/3-217.",
            created_by=actor,
        ),
        CallPolicy(
            site=site,
            effective_from=first_day + datetime.timedelta(weeks=6),
            max_minutes=15,
            min_days_between=10,
            max_calls_per_month=3,
            note="Fewer calls: the line is shared with the hospital wing (order 52).",
            created_by=actor,
        ),
    ]
    for policy in versions:
        policy.save()
        audit.record(
            actor=actor,
            action="calls.callpolicy.set",
            target=policy,
            site=site,
            data={"effective_from": policy.effective_from.isoformat(), "demo": True},
        )
    return versions


def seed_calls(*, site: Site, actor, random, weeks: int = 12) -> dict:
    """Fill the call room of ``site`` with demo data; ``random`` is a ``random.Random``.

    Needs the site's prisoners and their approved contacts. Does nothing when the
    site already has lines. Runs in the caller's transaction; a few hundred
    queries and a few seconds for a site of ~300 prisoners. Returns counts.
    """
    if Line.objects.filter(site=site).exists():
        return {}
    today = site.today()
    first_day = today - datetime.timedelta(weeks=weeks)
    policies = _set_up(site=site, actor=actor, first_day=first_day)
    services.generate_slots(
        site=site,
        date_from=first_day,
        date_to=today + datetime.timedelta(weeks=FUTURE_WEEKS) - ONE_DAY,
        actor=actor,
    )
    monitors = list(
        User.objects.filter(sites=site, groups__name=Role.GUARD).order_by("pk").distinct()
    ) or [actor]
    prisoners = list(
        Prisoner.objects.filter(site=site, status=Prisoner.Status.INTERNED).order_by("pk")
    )
    contacts: dict[int, list[Contact]] = {}
    for contact in Contact.objects.approved().filter(prisoner__in=prisoners).order_by("pk"):
        contacts.setdefault(contact.prisoner_id, []).append(contact)
    callers = [prisoner for prisoner in prisoners if prisoner.pk in contacts]
    history = _History(
        site=site,
        actor=actor,
        random=random,
        policies=policies,
        monitors=monitors,
        contacts=contacts,
        callers=callers,
        first_day=first_day,
        weeks=weeks,
    )
    history.suspend_some(today)
    history.run(today)
    booked = history.book_coming_days(today)
    return {
        "slots": CallSlot.objects.filter(line__site=site).count(),
        "calls": history.call_count,
        "alerts": len(history.alerts),
        "suspensions": len(history.suspensions),
        "upcoming_bookings": booked,
    }


class _History:
    """The simulation of the past weeks, kept in memory and written in bulk."""

    def __init__(
        self, *, site, actor, random, policies, monitors, contacts, callers, first_day, weeks
    ):
        self.site = site
        self.actor = actor
        self.random = random
        self.policies = policies
        self.monitors = monitors
        self.contacts = contacts
        self.callers = callers
        self.first_day = first_day
        self.weeks = weeks
        self.last_connected: dict[int, datetime.date] = {}
        self.month_count: Counter = Counter()
        self.suspended: dict[int, list[tuple[datetime.date, datetime.date]]] = {}
        # prisoner pk -> index of the alert that left a make-up call owed
        self.owed: dict[int, int] = {}
        # Those owed after the last alert stay owed, for the desk to show.
        self.last_alert = -1
        self.alerts: list[AirRaidAlert] = []
        self.suspensions: list[Suspension] = []
        self.call_count = 0
        self.connected_count = 0

    # -- rules ---------------------------------------------------------------------

    def policy_on(self, day: datetime.date) -> CallPolicy:
        return [policy for policy in self.policies if policy.effective_from <= day][-1]

    def may_call(self, prisoner: Prisoner, day: datetime.date) -> bool:
        if prisoner.arrived_on > day or prisoner.pk in self.owed:
            return False
        if any(start <= day <= end for start, end in self.suspended.get(prisoner.pk, [])):
            return False
        policy = self.policy_on(day)
        last = self.last_connected.get(prisoner.pk)
        if last and (day - last).days < policy.min_days_between:
            return False
        return self.month_count[(prisoner.pk, day.year, day.month)] < policy.max_calls_per_month

    # -- set-up --------------------------------------------------------------------

    def suspend_some(self, today: datetime.date) -> None:
        """One suspension long over, one in force now."""
        if len(self.callers) < 4:
            return
        first, second = self.random.sample(self.callers, 2)
        plans = [
            (
                first,
                Suspension.Reason.MEDICAL,
                "Camp medical officer",
                "MED-041",
                self.first_day + datetime.timedelta(days=15),
                self.first_day + datetime.timedelta(days=29),
            ),
            (
                second,
                Suspension.Reason.SECURITY_INVESTIGATION,
                "Investigator, military prosecutor's office",
                "INV-318/26",
                today - datetime.timedelta(days=12),
                today + datetime.timedelta(days=18),
            ),
        ]
        for prisoner, reason, authority, reference, starts_on, ends_on in plans:
            self.suspensions.append(
                services.suspend_calls(
                    prisoner=prisoner,
                    reason=reason,
                    authority=authority,
                    document_reference=reference,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    actor=self.actor,
                )
            )
            self.suspended.setdefault(prisoner.pk, []).append((starts_on, ends_on))

    # -- the past ------------------------------------------------------------------

    def alert_days(self, today: datetime.date) -> list[datetime.date]:
        """Working days with an air-raid alert: early, mid-way, and one in the last days."""
        days = []
        for offset in (2 * 7 + 2, 7 * 7 + 3, self.weeks * 7 - 3):
            day = self.first_day + datetime.timedelta(days=offset)
            while day.weekday() not in WORKING_WEEKDAYS:
                day -= ONE_DAY
            if day < today and day not in days:
                days.append(day)
        return days

    def run(self, today: datetime.date) -> None:
        slots_by_day: dict[datetime.date, list[CallSlot]] = {}
        slots = (
            CallSlot.objects.filter(
                line__site=self.site,
                starts_at__gte=self.site.day_start(self.first_day),
                starts_at__lt=self.site.day_start(today),
            )
            .select_related("line")
            .order_by("starts_at", "line__name")
        )
        for slot in slots:
            slots_by_day.setdefault(slot.starts_at.astimezone(self.site.zone).date(), []).append(
                slot
            )
        alert_days = self.alert_days(today)
        self.last_alert = len(alert_days) - 1
        planned: list[_Planned] = []
        suspended_slots: dict[int, list[int]] = {}
        day = self.first_day
        while day < today:
            free = list(slots_by_day.get(day, []))
            self.random.shuffle(free)
            todays = self.plan_makeups(day, free) + self.plan_day(
                day, free, at_least=2 if day in alert_days else 0
            )
            if day in alert_days:
                index = len(self.alerts)
                alert, hit = self.sound_alert(day, todays, slots_by_day.get(day, []), index)
                self.alerts.append(alert)
                suspended_slots[index] = hit
            for plan in todays:
                self.account(plan, day)
            planned.extend(todays)
            day += ONE_DAY
        self.write(planned, suspended_slots)

    def plan_makeups(self, day, free) -> list[_Planned]:
        """Make-up calls for those owed one after an earlier alert (not the latest)."""
        plans = []
        for prisoner in self.callers:
            index = self.owed.get(prisoner.pk)
            if index is None or index == self.last_alert or not free:
                continue
            plan = _Planned(slot=free.pop(), prisoner=prisoner, makeup=True)
            self.attempt(plan)
            plans.append(plan)
        return plans

    def plan_day(self, day, free, *, at_least: int) -> list[_Planned]:
        if day.weekday() not in WORKING_WEEKDAYS or not free:
            return []
        week = (day - self.first_day).days // 7
        expected = len(self.callers) * _week_rate(week, self.weeks) / len(WORKING_WEEKDAYS)
        count = int(expected) + (self.random.random() < expected % 1)
        candidates = [prisoner for prisoner in self.callers if self.may_call(prisoner, day)]
        count = min(max(count, at_least), len(candidates), len(free))
        plans = []
        for prisoner in self.random.sample(candidates, count):
            plan = _Planned(slot=free.pop(), prisoner=prisoner, makeup=False)
            self.attempt(plan)
            plans.append(plan)
        return plans

    def attempt(self, plan: _Planned) -> None:
        """The call attempts made in a booked slot, one after another on its line."""
        random = self.random
        slot = plan.slot
        roll = random.random()
        if roll < 0.03:
            plan.status = Booking.Status.NO_SHOW
            return
        if roll < 0.15:
            outcomes = [Outcome.NO_ANSWER] + ([Outcome.CONNECTED] if random.random() < 0.5 else [])
        elif roll < 0.22:
            outcomes = [Outcome.BUSY] + ([Outcome.CONNECTED] if random.random() < 0.5 else [])
        elif roll < 0.24:
            outcomes = [Outcome.WRONG_NUMBER]
        elif roll < 0.26:
            outcomes = [Outcome.LINE_FAULT]
        elif roll < 0.29:
            outcomes = [Outcome.ENDED_BY_MONITOR]
        else:
            outcomes = [Outcome.CONNECTED]
        limit = datetime.timedelta(minutes=self.policy_on(self._day(slot)).max_minutes)
        used = datetime.timedelta(0)
        moment = slot.starts_at + datetime.timedelta(seconds=random.randint(0, 90))
        for outcome in outcomes:
            seconds = {
                Outcome.NO_ANSWER: (40, 90),
                Outcome.BUSY: (10, 30),
                Outcome.WRONG_NUMBER: (20, 60),
                Outcome.LINE_FAULT: (5, 40),
                Outcome.ENDED_BY_MONITOR: (120, 480),
                Outcome.CONNECTED: (240, 900),
            }[outcome]
            deadline = moment + (limit - used)
            ended = min(
                moment + datetime.timedelta(seconds=random.randint(*seconds)),
                deadline,
                slot.ends_at,
            )
            if ended - moment < datetime.timedelta(seconds=5):
                break
            plan.attempts.append(_Attempt(outcome, moment, ended, deadline))
            used += ended - moment
            moment = ended + datetime.timedelta(seconds=random.randint(20, 60))

    def sound_alert(self, day, todays, day_slots, index) -> tuple[AirRaidAlert, list[int]]:
        """An alert during a call when there is one: it is cut off, the slots inside suspended."""
        random = self.random
        calls = [plan for plan in todays if plan.attempts]
        if calls:
            attempt = random.choice(calls).attempts[-1]
            siren = attempt.started_at + (attempt.ended_at - attempt.started_at) / 2
        else:
            siren = datetime.datetime.combine(day, datetime.time(10, 20), tzinfo=self.site.zone)
        siren = siren.replace(microsecond=0)
        all_clear = siren + datetime.timedelta(minutes=random.randint(35, 70))
        monitor = random.choice(self.monitors)
        alert = AirRaidAlert.objects.create(
            site=self.site,
            started_at=siren,
            ended_at=all_clear,
            started_by=monitor,
            ended_by=monitor,
        )
        hit = [slot.pk for slot in day_slots if slot.starts_at < all_clear and slot.ends_at > siren]
        for plan in todays:
            slot = plan.slot
            if not (slot.starts_at < all_clear and slot.ends_at > siren):
                continue
            kept = []
            for attempt in plan.attempts:
                if attempt.ended_at <= siren:
                    kept.append(attempt)
                elif attempt.started_at < siren:
                    attempt.outcome = Outcome.INTERRUPTED_BY_ALERT
                    attempt.ended_at = siren
                    kept.append(attempt)
            plan.attempts = kept
            if plan.status == Booking.Status.BOOKED and not any(
                attempt.outcome == Outcome.CONNECTED for attempt in kept
            ):
                plan.status = Booking.Status.SUSPENDED
                self.owed[plan.prisoner.pk] = index
        return alert, hit

    def account(self, plan: _Planned, day: datetime.date) -> None:
        """What the day's calls change in the rules for the days after."""
        pk = plan.prisoner.pk
        connected = any(attempt.outcome == Outcome.CONNECTED for attempt in plan.attempts)
        if plan.makeup:
            if connected:
                self.owed.pop(pk, None)
            return
        if plan.status == Booking.Status.BOOKED:
            # Live bookings count against the monthly maximum, connected or not.
            self.month_count[(pk, day.year, day.month)] += 1
        if connected:
            self.last_connected[pk] = day

    def _day(self, slot: CallSlot) -> datetime.date:
        return slot.starts_at.astimezone(self.site.zone).date()

    def write(self, planned: list[_Planned], suspended_slots: dict[int, list[int]]) -> None:
        random = self.random
        for index, slot_ids in suspended_slots.items():
            CallSlot.objects.filter(pk__in=slot_ids).update(suspended_by=self.alerts[index])
        bookings = Booking.objects.bulk_create(
            [
                Booking(
                    slot=plan.slot,
                    prisoner=plan.prisoner,
                    starts_at=plan.slot.starts_at,
                    ends_at=plan.slot.ends_at,
                    status=plan.status,
                    is_makeup=plan.makeup,
                    booked_by=self.actor,
                    booked_at=plan.slot.starts_at
                    - datetime.timedelta(days=random.randint(1, 5), minutes=random.randint(0, 600)),
                )
                for plan in planned
            ],
            batch_size=1000,
        )
        calls = []
        for plan, booking in zip(planned, bookings, strict=True):
            prisoner = plan.prisoner
            contact = random.choice(self.contacts[prisoner.pk])
            policy = self.policy_on(self._day(plan.slot))
            monitor = random.choice(self.monitors)
            language = contact.language or (prisoner.languages[0] if prisoner.languages else "")
            for attempt in plan.attempts:
                flag_reason = ""
                notes = ""
                if attempt.outcome == Outcome.CONNECTED:
                    self.connected_count += 1
                    notes = random.choice(NOTES)
                    if self.connected_count % FLAG_EVERY == 7:
                        flag_reason = random.choice(FLAG_REASONS)
                elif attempt.outcome == Outcome.ENDED_BY_MONITOR:
                    notes = "Ended by the monitor after a warning."
                    if random.random() < 0.5:
                        flag_reason = "The monitor ended the call; supervisor to review."
                calls.append(
                    Call(
                        site=self.site,
                        prisoner=prisoner,
                        contact=contact,
                        number_dialled=contact.phone_number,
                        locality=contact.locality,
                        line=plan.slot.line,
                        booking=booking,
                        policy=policy,
                        started_at=attempt.started_at,
                        deadline=attempt.deadline,
                        ended_at=attempt.ended_at,
                        outcome=attempt.outcome,
                        language=language,
                        monitor=monitor,
                        notes=notes,
                        flagged=bool(flag_reason),
                        flag_reason=flag_reason,
                        is_makeup=plan.makeup,
                        created_at=attempt.ended_at,
                    )
                )
        Call.objects.bulk_create(calls, batch_size=1000)
        self.call_count = len(calls)

    # -- the coming days -----------------------------------------------------------

    def book_coming_days(self, today: datetime.date) -> int:
        """Bookings for the next working days, through the booking service."""
        now = timezone.now()
        booked = 0
        days_with_slots = 0
        for offset in range(7):
            if days_with_slots == BOOKED_DAYS_AHEAD:
                break
            day = today + datetime.timedelta(days=offset)
            free = list(
                CallSlot.objects.for_day(self.site, day)
                .filter(starts_at__gt=now, suspended_by__isnull=True, line__active=True)
                .exclude(bookings__status=Booking.Status.BOOKED)
                .select_related("line__site")
                .order_by("starts_at")
            )
            if not free:
                continue
            days_with_slots += 1
            wanted = max(3, round(len(self.callers) * LAST_WEEK_RATE / 2))
            owed = [prisoner for prisoner in self.callers if prisoner.pk in self.owed]
            others = [prisoner for prisoner in self.callers if self.may_call(prisoner, day)]
            chosen = owed + self.random.sample(others, min(wanted, len(others)))
            self.random.shuffle(free)
            for prisoner in chosen:
                if not free:
                    break
                try:
                    services.book_slot(slot=free[-1], prisoner=prisoner, actor=self.actor)
                except CallError:
                    continue
                free.pop()
                booked += 1
                self.owed.pop(prisoner.pk, None)
                self.month_count[(prisoner.pk, day.year, day.month)] += 1
                self.last_connected[prisoner.pk] = day
        return booked
