"""Demo data of the register of letters for one site: each prisoner's capture card,
the letters and cards he sends month by month, the mail his family sends him, Red
Cross messages through the ICRC now and then, and a few corrections.

The register is simulated in memory from the prisoners' arrivals, status history
and contacts, and written with COPY (``prisoners.demo.copy_rows``), so the database
checks every constraint as the rows go in and its statement triggers keep each
prisoner's ``last_mail_delivered_on``. Items are made only while a prisoner is
interned. An item's dates follow the mail desk: handed in (or arrived), examined
by the censor a few days later, dispatched with the next mail bag, then delivered,
or now and then returned; the latest items are still in the camp's hands.

The rows go in with the dates they have now, as the status steps would have left
them; the status steps themselves are not written as amendments (a trigger applies
each amendment row by row, a millisecond or so each: the three million steps of a
large demo would take far longer than the whole seed). The corrections are: each
is a ``LetterAmendment`` whose "from" values are the row's values as written, and
the database trigger applies it, so the history and the row agree. Items recorded
twice are written once more and withdrawn as recorded in error.
"""

import datetime
import json
from random import Random

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from camp import audit
from camp.models import Site, User
from camp.roles import Role
from letters.models import Channel, Direction, Kind, Letter, LetterAmendment
from prisoners.demo import HOMETOWNS, Progress, copy_rows, reserve_ids
from prisoners.models import Contact, Prisoner, StatusChange

# Art. 71: the least a prisoner may send in a month, if the camp limits mail at all.
MIN_LETTERS, MIN_CARDS = 2, 4
# How regularly a prisoner writes: (share of prisoners, chance that a month he is
# here all of it he sends at least the Art. 71 minimum).
WRITERS = [(0.75, 0.93), (0.2, 0.6), (0.05, 0.15)]
# How well the post reaches a prisoner's family: (share of prisoners, items from home
# a month, share of his items whose delivery is never confirmed). Some families are
# cut off (occupied or evacuated towns): no news for weeks, unless he gets through by
# phone; these are the prisoners the list of those without news is for.
REACH = [
    (0.10, (0.0,), 0.95),
    (0.10, (0.3, 0.5), 0.3),
    (0.80, (1.5, 2.0, 2.0, 2.5, 2.5, 3.0, 3.5), 0.09),
]
RECEIVED_CARDS = 0.45
# A month's chance of a Red Cross message each way, and of a telegram home.
RED_CROSS_SENT, RED_CROSS_RECEIVED, TELEGRAM = 0.05, 0.06, 0.01
# Days from arrival to the capture card (Art. 70: within a week): most in the first
# days, some late, and those late ones who arrived lately have not handed it in yet.
CAPTURE_CARD_DAYS = (0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 7)
LATE_CAPTURE_CARD = 0.09
# Days from handed in to the censor, from the censor to the mail bag.
CENSOR_DAYS = (0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 7)
MAIL_BAG_DAYS = (0, 0, 1, 1, 1, 2, 2, 3, 4)
# Sent items: delivered after days in the post (longer through the ICRC), returned,
# or never confirmed (by ``REACH``).
SENT_RETURNED = 0.025
POST_DAYS, ICRC_DAYS = (10, 40), (14, 60)
# Received items: from the censor to the prisoner's hands.
HANDED_OVER_DAYS = (0, 0, 0, 1, 1, 2)
RECEIVED_RETURNED = 0.01
WRITTEN_DATE_KNOWN = 0.7
# Corrections and items recorded twice, per item; at least a few even in a small camp.
CORRECTIONS, DUPLICATES = 0.0003, 0.00008
MIN_CORRECTIONS, MIN_DUPLICATES = 6, 2
# Prisoners simulated per advance of the progress bar.
SIMULATED_STEP = 250

RETURNED_NOTES = {
    Direction.SENT: "Returned by the post: addressee not found.",
    Direction.RECEIVED: "Returned to the sender: the prisoner had left the camp.",
}
CENSOR_RETURNED_NOTE = "Returned to the sender by the censor."
CAPTURE_CARD_NOTE = "Capture card after his return from hospital (Art. 70)."
DUPLICATE_REASON = "Recorded twice: the same item was entered again."
CORRECTION_NOTE = "Envelope damaged in transit; contents complete."
CORRECTION_REASONS = {
    "kind": "The clerk chose the wrong kind.",
    "contact": "The correspondent is one of his approved contacts.",
    "written_on": "Date written read from the letter itself.",
    "notes": "Note added from the censor's slip.",
    "delivered_on": "Delivery date corrected from the receipt.",
}
# Invented correspondents for a prisoner without any contact on file.
UNKNOWN_CORRESPONDENT = "Семья (адрес на конверте)"

COLUMNS = [
    "id", "site_id", "prisoner_id", "kind", "direction", "channel", "contact_id",
    "correspondent_name", "correspondent_locality", "reference", "written_on",
    "handed_in_on", "censored_on", "dispatched_on", "delivered_on", "returned_on",
    "notes", "in_error", "amendment_count", "recorded_by_id", "created_at",
]  # fmt: skip
AMENDMENT_COLUMNS = ["letter_id", "changes", "reason", "is_correction", "author_id", "created_at"]

# An item while simulated: a tuple with these positions. Dates are day ordinals.
(
    PRISONER, DAY, KIND, DIRECTION, CHANNEL, CONTACT, NAME, LOCALITY, REFERENCE,
    WRITTEN, CENSORED, DISPATCHED, DELIVERED, RETURNED, NOTES, DUPLICATE,
) = range(16)  # fmt: skip

SENT, RECEIVED = Direction.SENT.value, Direction.RECEIVED.value
POST, ICRC = Channel.POST.value, Channel.ICRC.value
LETTER, CARD = Kind.LETTER.value, Kind.CARD.value
CAPTURE, RED_CROSS, TELEGRAM_KIND = (
    Kind.CAPTURE_CARD.value,
    Kind.RED_CROSS_MESSAGE.value,
    Kind.TELEGRAM.value,
)


def expected_rows(prisoners: int, weeks: int) -> int:
    """About how many rows ``seed_letters`` simulates and writes for a camp of this
    size: some nine items a month for each prisoner here (two thirds of the period
    on average), each counted once simulated and once written."""
    months = weeks * 7 / 30.4
    return round(prisoners * months * 0.62 * 9 * 2)


class _Prisoner:
    __slots__ = (
        "approved",
        "arrived",
        "family",
        "interned",
        "periods",
        "pk",
        "returns",
        "typed",
        "unconfirmed",
    )

    def __init__(self, pk, arrived, periods, returns, interned):
        self.pk = pk
        self.arrived = arrived
        # [(first day, day after the last)] he is interned, as day ordinals.
        self.periods = periods
        # Days he came back from hospital: Art. 70 asks for a new capture card.
        self.returns = returns
        self.interned = interned
        # [(day decided, contact pk)] of his approved contacts, and (name, locality)
        # of all his contacts, typed when none is approved yet.
        self.approved: list[tuple[int, int]] = []
        self.typed: list[tuple[str, str]] = []
        self.family = 0.0
        self.unconfirmed = 0.0


def seed_letters(*, site: Site, actor, random: Random, progress: Progress | None = None) -> dict:
    """Fill the register of letters of ``site`` with demo items; ``random`` is a
    ``random.Random``.

    Needs the site's prisoners, their status history and contacts; the guards of
    the site are the mail clerks (``actor`` when there are none), ``actor`` writes
    the corrections. Does nothing when the site already has items. Runs in the
    caller's transaction: a few queries, then COPY statements of about a second
    each, under a minute per million items. Returns counts.
    """
    if Letter.objects.filter(site=site).exists():
        return {}
    progress = progress or Progress()
    progress.stage(_("register of letters"))
    register = _Register(site=site, actor=actor, random=random, progress=progress)
    register.load()
    register.simulate()
    return register.write()


class _Register:
    def __init__(self, *, site, actor, random, progress):
        self.site = site
        self.actor = actor
        self.random = random
        self.progress = progress
        self.today = site.today().toordinal()
        self.now = timezone.now()

    # -- what the site has -----------------------------------------------------------

    def load(self) -> None:
        site, today = self.site, self.today
        self.clerks = [
            user.pk
            for user in User.objects.filter(sites=site, groups__name=Role.GUARD)
            .order_by("pk")
            .distinct()
        ] or [self.actor.pk]
        history: dict[int, list[tuple[str, int]]] = {}
        for prisoner_id, status, effective_on in (
            StatusChange.objects.filter(prisoner__site=site)
            .order_by("prisoner_id", "effective_on", "recorded_at", "pk")
            .values_list("prisoner_id", "status", "effective_on")
        ):
            history.setdefault(prisoner_id, []).append((status, effective_on.toordinal()))
        self.prisoners: list[_Prisoner] = []
        by_pk = {}
        for pk, arrived_on, status in (
            Prisoner.objects.filter(site=site)
            .order_by("pk")
            .values_list("pk", "arrived_on", "status")
        ):
            arrived = arrived_on.toordinal()
            changes = history.get(pk) or [(status, arrived)]
            periods, returns = [], []
            previous = None
            # Interned from one change until the next: he no longer writes on the day it ends.
            for (state, since), (_next, until) in zip(
                changes, [*changes[1:], (None, None)], strict=True
            ):
                begin = max(since, arrived)
                end = today + 1 if until is None else min(until, today + 1)
                if state == Prisoner.Status.INTERNED:
                    if begin < end:
                        periods.append((begin, end))
                    if previous == Prisoner.Status.IN_HOSPITAL and since <= today:
                        returns.append(since)
                previous = state
            prisoner = _Prisoner(pk, arrived, periods, returns, status == Prisoner.Status.INTERNED)
            self.prisoners.append(prisoner)
            by_pk[pk] = prisoner
        zone = site.zone
        for prisoner_id, pk, name, city, region, country, status, decided_at in (
            Contact.objects.filter(prisoner__site=site)
            .order_by("prisoner_id", "pk")
            .values_list(
                "prisoner_id", "pk", "name", "city", "region", "country", "status", "decided_at"
            )
        ):
            prisoner = by_pk[prisoner_id]
            locality = ", ".join(part for part in (city, region, country) if part)
            prisoner.typed.append((name, locality))
            if status == Contact.Status.APPROVED and decided_at is not None:
                # Written to by name from the day after the supervisor approved it.
                decided = decided_at.astimezone(zone).date().toordinal() + 1
                prisoner.approved.append((decided, pk))

    # -- simulation ------------------------------------------------------------------------

    def simulate(self) -> None:
        """Each prisoner's items, month by month while he is interned."""
        random, progress = self.random, self.progress
        first = min((p.arrived for p in self.prisoners), default=self.today)
        self.months = _months(first, self.today)
        self.items: list[list[tuple]] = []
        simulated = 0
        for number, prisoner in enumerate(self.prisoners, start=1):
            roll = random.random()
            for share, regular in WRITERS:
                writes = regular
                roll -= share
                if roll < 0:
                    break
            roll = random.random()
            for share, rates, unconfirmed in REACH:
                prisoner.family, prisoner.unconfirmed = random.choice(rates), unconfirmed
                roll -= share
                if roll < 0:
                    break
            items = self._capture_cards(prisoner)
            for month in self.months:
                self._month(prisoner, month, writes, items)
            # Oldest first: see ``write``.
            items.sort(key=_by_day)
            self.items.append(items)
            simulated += len(items)
            if number % SIMULATED_STEP == 0:
                progress.advance(simulated)
                simulated = 0
        taken_back = self._keep_some_overdue()
        self.duplicates = self._duplicate_some()
        progress.advance(simulated - taken_back + self.duplicates)

    def _capture_cards(self, prisoner: _Prisoner) -> list[tuple]:
        """Art. 70: a card on arrival, and again after a stay in hospital."""
        random, items = self.random, []
        if not prisoner.periods:
            return items
        due = [(prisoner.arrived, "")] + [(day, CAPTURE_CARD_NOTE) for day in prisoner.returns]
        for start, notes in due:
            if random.random() < LATE_CAPTURE_CARD:
                day = start + random.randint(8, 40)
            else:
                day = start + random.choice(CAPTURE_CARD_DAYS)
            # Handed in once he is back in the camp's hands, if that day has come.
            day = next(
                (max(day, begin) for begin, end in prisoner.periods if max(day, begin) < end),
                None,
            )
            if day is not None and day <= self.today:
                items.append(self._sent(prisoner, day, CAPTURE, POST, written=day, notes=notes))
        return items

    def _month(self, prisoner: _Prisoner, month: tuple[int, int], writes: float, items) -> None:
        random = self.random
        begin, end = month
        days = [
            day
            for first, last in prisoner.periods
            for day in range(max(first, begin), min(last, end))
        ]
        if not days:
            return
        # The share of the month he is here (of this month, so far).
        here = len(days) / (end - begin)
        if random.random() < writes:
            letters = MIN_LETTERS + (random.random() < 0.3)
            cards = MIN_CARDS + (random.random() < 0.35)
        else:
            letters, cards = random.randint(0, MIN_LETTERS), random.randint(0, MIN_CARDS)
            if letters >= MIN_LETTERS and cards >= MIN_CARDS:
                cards = MIN_CARDS - 1
        choice = random.choice
        for kind, count in ((LETTER, letters), (CARD, cards)):
            for _copy in range(_share(random, count * here)):
                items.append(self._sent(prisoner, choice(days), kind, POST))
        if random.random() < TELEGRAM * here:
            items.append(self._sent(prisoner, choice(days), TELEGRAM_KIND, POST))
        if random.random() < RED_CROSS_SENT * here:
            items.append(self._sent(prisoner, choice(days), RED_CROSS, ICRC))
        for _copy in range(_share(random, prisoner.family * here)):
            kind = CARD if random.random() < RECEIVED_CARDS else LETTER
            items.append(self._received(prisoner, choice(days), kind, POST))
        if random.random() < RED_CROSS_RECEIVED * here:
            items.append(self._received(prisoner, choice(days), RED_CROSS, ICRC))

    def _correspondent(self, prisoner: _Prisoner, day: int) -> tuple:
        """(contact pk, typed name, typed locality): one of his approved contacts by
        then, else a contact's name typed, else the sender written on the envelope."""
        random = self.random
        approved = [pk for decided, pk in prisoner.approved if decided <= day]
        if approved:
            return random.choice(approved), "", ""
        if prisoner.typed:
            name, locality = random.choice(prisoner.typed)
            return None, name, locality
        city, region = random.choice(HOMETOWNS)
        return None, UNKNOWN_CORRESPONDENT, f"{city}, {region}, RU"

    def _sent(self, prisoner, day, kind, channel, *, written=None, notes="") -> tuple:
        random, today = self.random, self.today
        contact, name, locality = self._correspondent(prisoner, day)
        if written is None and random.random() < WRITTEN_DATE_KNOWN:
            written = day - random.choice((0, 0, 0, 1, 1, 2))
        censored = day + random.choice(CENSOR_DAYS)
        dispatched = censored + random.choice(MAIL_BAG_DAYS)
        delivered = returned = None
        roll = random.random()
        if roll < SENT_RETURNED:
            returned = dispatched + random.randint(20, 60)
            notes = RETURNED_NOTES[SENT]
        elif roll >= SENT_RETURNED + prisoner.unconfirmed:
            shortest, longest = ICRC_DAYS if channel == ICRC else POST_DAYS
            delivered = dispatched + random.randint(shortest, longest)
        reference = _reference(random, day) if kind == RED_CROSS else ""
        if censored > today:
            censored = dispatched = delivered = returned = None
            notes = ""
        elif dispatched > today:
            dispatched = delivered = returned = None
            notes = ""
        elif (delivered or returned or 0) > today:
            delivered = returned = None
            notes = ""
        return (
            prisoner.pk, day, kind, SENT, channel, contact, name, locality, reference,
            written, censored, dispatched, delivered, returned, notes, False,
        )  # fmt: skip

    def _received(self, prisoner, day, kind, channel) -> tuple:
        random, today = self.random, self.today
        contact, name, locality = self._correspondent(prisoner, day)
        written = None
        if random.random() < WRITTEN_DATE_KNOWN:
            written = day - random.randint(7, 40)
        censored = day + random.choice(CENSOR_DAYS[:9])
        delivered = returned = None
        notes = ""
        if random.random() < RECEIVED_RETURNED:
            returned, notes = censored + random.randint(1, 5), CENSOR_RETURNED_NOTE
        else:
            delivered = censored + random.choice(HANDED_OVER_DAYS)
            if delivered <= today and not any(
                begin <= delivered < end for begin, end in prisoner.periods
            ):
                # He left the camp (or went to hospital) before it reached him.
                returned, delivered = delivered + random.randint(1, 7), None
                notes = RETURNED_NOTES[RECEIVED]
        reference = _reference(random, day) if kind == RED_CROSS else ""
        if censored > today:
            censored = delivered = returned = None
            notes = ""
        elif (delivered or returned or 0) > today:
            delivered = returned = None
            notes = ""
        return (
            prisoner.pk, day, kind, RECEIVED, channel, contact, name, locality, reference,
            written, censored, None, delivered, returned, notes, False,
        )  # fmt: skip

    def _keep_some_overdue(self) -> int:
        """At least one prisoner interned for more than a week has no capture card yet,
        so the supervisor's list of overdue cards is never empty in a demo. Returns the
        number of items taken back."""
        week_ago = self.today - 7
        due = [
            (prisoner, items)
            for prisoner, items in zip(self.prisoners, self.items, strict=True)
            if prisoner.interned and prisoner.periods and prisoner.arrived < week_ago
        ]
        if not due or any(not any(i[KIND] == CAPTURE for i in items) for _p, items in due):
            return 0
        _latest, items = max(due, key=lambda pair: pair[0].arrived)
        kept = [item for item in items if item[KIND] != CAPTURE]
        removed = len(items) - len(kept)
        items[:] = kept
        return removed

    def _duplicate_some(self) -> int:
        """Items recorded twice: the second copy, with only its first date, is withdrawn
        as recorded in error (by an amendment, in ``_amendments``)."""
        random = self.random
        total = sum(len(items) for items in self.items)
        lists = [items for items in self.items if items]
        if not lists:
            return 0
        count = max(MIN_DUPLICATES, round(total * DUPLICATES))
        for _copy in range(count):
            items = random.choice(lists)
            index = random.randrange(len(items))
            item = items[index]
            # Beside the first, on the same day: the items stay in order.
            items.insert(
                index + 1, (*item[:WRITTEN + 1], None, None, None, None, "", True)
            )  # fmt: skip
        return count

    # -- writing -------------------------------------------------------------------------

    def write(self) -> dict:
        progress, site = self.progress, self.site
        # Each prisoner's items together, oldest first: a COPY statement then holds
        # whole registers of a few hundred prisoners, and the statement trigger that
        # keeps their last delivery looks each of them up once, not once a statement.
        rows = []
        for items in self.items:
            rows.extend(items)
        self.items = None
        ids = self._ids(rows)
        corrections = self._amendments(rows, ids)
        progress.expect(len(rows) + len(corrections))
        progress.stage(_("letters and cards"))
        with connection.cursor() as cursor:
            # The triggers' queries are planned at their first statement, while the
            # register is (nearly) empty, and PL/pgSQL keeps that plan for the session:
            # where the table's statistics say "empty" (a VACUUM of the empty table),
            # it is a scan of the whole table for each prisoner, and the seed slows
            # down statement by statement. Plan them on the indexes, as a full register is.
            cursor.execute("SELECT current_setting('enable_seqscan')")
            (seqscan,) = cursor.fetchone()
            cursor.execute("SELECT set_config('enable_seqscan', 'off', true)")
            try:
                copy_rows(Letter, COLUMNS, self._rows(rows, ids), progress=progress)
                progress.stage(_("letter amendments"))
                copy_rows(LetterAmendment, AMENDMENT_COLUMNS, corrections, progress=progress)
            finally:
                cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [seqscan])
            progress.stage(_("analysing the register"))
            # The pages plan their queries on the real sizes from the first request on.
            for model in (Letter, LetterAmendment):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        counts = {
            "letters": len(rows),
            "sent": sum(1 for row in rows if row[DIRECTION] == SENT),
            "capture_cards": sum(1 for row in rows if row[KIND] == CAPTURE),
            "red_cross_messages": sum(1 for row in rows if row[KIND] == RED_CROSS),
            "in_error": self.duplicates,
            "amendments": len(corrections),
        }
        if rows:
            audit.record(
                actor=self.actor,
                action="letters.letter.recorded",
                target=site,
                site=site,
                data={"demo": True, "count": len(rows), "amendments": len(corrections)},
            )
        return counts

    def _ids(self, rows: list[tuple]) -> list[int]:
        """Primary keys in the order the items were taken in, day by day, as the mail
        desk would have recorded them; ``rows`` are in another order. Sets
        ``per_day``: how many items each day, from day ``first_day``."""
        keys = reserve_ids(Letter, len(rows))
        first = self.first_day = min((row[DAY] for row in rows), default=self.today)
        per_day = [0] * (self.today + 1 - first)
        for row in rows:
            per_day[row[DAY] - first] += 1
        self.per_day = per_day
        start, position = [], 0
        for count in per_day:
            start.append(position)
            position += count
        ids = []
        append = ids.append
        for row in rows:
            day = row[DAY] - first
            append(keys[start[day]])
            start[day] += 1
        return ids

    def _rows(self, rows, ids):
        site_id, clerks, now, per_day = self.site.pk, self.clerks, self.now, self.per_day
        first = min(
            (row[WRITTEN] for row in rows if row[WRITTEN] is not None),
            default=self.first_day,
        )
        first = min(first, self.first_day)
        dates = [datetime.date.fromordinal(day) for day in range(first, self.today + 1)]
        # The desk records a day's items through office hours, in the order of their ids.
        offset = self.first_day - first
        opens = [
            self.site.day_start(dates[offset + day]) + datetime.timedelta(hours=8)
            for day in range(len(per_day))
        ]
        seen = [0] * len(per_day)
        minute = datetime.timedelta(minutes=1)
        for pk, row in zip(ids, rows, strict=True):
            day = row[DAY] - self.first_day
            rank = seen[day]
            seen[day] = rank + 1
            created_at = opens[day] + minute * (rank * 600 // per_day[day])
            if created_at > now:
                created_at = now
            yield (
                pk,
                site_id,
                row[PRISONER],
                row[KIND],
                row[DIRECTION],
                row[CHANNEL],
                row[CONTACT],
                row[NAME],
                row[LOCALITY],
                row[REFERENCE],
                None if row[WRITTEN] is None else dates[row[WRITTEN] - first],
                dates[offset + day],
                None if row[CENSORED] is None else dates[row[CENSORED] - first],
                None if row[DISPATCHED] is None else dates[row[DISPATCHED] - first],
                None if row[DELIVERED] is None else dates[row[DELIVERED] - first],
                None if row[RETURNED] is None else dates[row[RETURNED] - first],
                row[NOTES],
                False,
                0,
                clerks[row[DAY] % len(clerks)],
                created_at,
            )

    def _amendments(self, rows, ids) -> list[tuple]:
        """The corrections, oldest first: each duplicate withdrawn, and a few hundred
        in a large register, each changing what the row as written holds."""
        random = self.random
        author = self.actor.pk
        approved = {prisoner.pk: prisoner.approved for prisoner in self.prisoners}
        amendments = []
        for index, row in enumerate(rows):
            if row[DUPLICATE]:
                day = min(row[DAY] + random.choice((0, 0, 1, 2)), self.today)
                changes = {"in_error": {"from": False, "to": True}}
                amendments.append((day, ids[index], changes, DUPLICATE_REASON))
        originals = len(rows) - len(amendments)
        wanted = max(MIN_CORRECTIONS, round(originals * CORRECTIONS)) if originals else 0
        chosen = set()
        for _attempt in range(wanted * 20):
            if len(chosen) >= wanted:
                break
            index = random.randrange(len(rows))
            row = rows[index]
            if index in chosen or row[DUPLICATE]:
                continue
            latest = max(
                d
                for d in (row[DAY], row[CENSORED], row[DISPATCHED], row[DELIVERED], row[RETURNED])
                if d is not None
            )
            day = min(latest + random.randint(0, 10), self.today)
            correction = self._correction(row, approved[row[PRISONER]], day)
            if correction is None:
                continue
            chosen.add(index)
            what, changes = correction
            if what == "delivered_on":
                day = max(day, _ordinal(changes["delivered_on"]["to"]))
            amendments.append((day, ids[index], changes, CORRECTION_REASONS[what]))
        amendments.sort(key=lambda amendment: (amendment[0], amendment[1]))
        now, zone = self.now, self.site.zone
        rows_out = []
        for day, letter_id, changes, reason in amendments:
            moment = datetime.datetime.combine(
                datetime.date.fromordinal(day),
                datetime.time(random.randint(9, 17), random.randint(0, 59)),
                tzinfo=zone,
            )
            rows_out.append(
                (letter_id, json.dumps(changes), reason, True, author, min(moment, now))
            )
        return rows_out

    def _correction(self, row: tuple, approved, day: int) -> tuple[str, dict] | None:
        """One correction made on ``day`` that fits the item, as (what, changes), or None."""
        random = self.random
        approved = [pk for decided, pk in approved if decided <= day]
        roll = random.random()
        if roll < 0.25 and row[KIND] in (LETTER, CARD):
            other = CARD if row[KIND] == LETTER else LETTER
            return "kind", {"kind": {"from": row[KIND], "to": other}}
        if roll < 0.45 and row[CONTACT] is None and approved:
            return "contact", {
                "contact_id": {"from": None, "to": random.choice(approved)},
                "correspondent_name": {"from": row[NAME], "to": ""},
                "correspondent_locality": {"from": row[LOCALITY], "to": ""},
            }
        if roll < 0.65 and row[WRITTEN] is None:
            written = row[DAY] - (random.randint(7, 30) if row[DIRECTION] == RECEIVED else 1)
            return "written_on", {"written_on": {"from": None, "to": _iso(written)}}
        if roll < 0.85 and row[DELIVERED] is not None:
            earliest = max(d for d in (row[DAY], row[CENSORED], row[DISPATCHED]) if d is not None)
            moved = row[DELIVERED] + random.choice((-3, -2, -1, 1, 2))
            if earliest <= moved <= self.today and moved != row[DELIVERED]:
                return "delivered_on", {
                    "delivered_on": {"from": _iso(row[DELIVERED]), "to": _iso(moved)}
                }
        if not row[NOTES]:
            return "notes", {"notes": {"from": "", "to": CORRECTION_NOTE}}
        return None


def _by_day(item: tuple) -> int:
    return item[DAY]


def _share(random: Random, expected: float) -> int:
    """``expected`` rounded up or down at random, so that it is right on average."""
    whole = int(expected)
    return whole + (random.random() < expected - whole)


def _months(first: int, last: int) -> list[tuple[int, int]]:
    """The calendar months from the one of day ``first`` to the one of day ``last``, as
    (first day, first day of the next) ordinals."""
    months = []
    start = datetime.date.fromordinal(first).replace(day=1)
    while start.toordinal() <= last:
        following = (start + datetime.timedelta(days=32)).replace(day=1)
        months.append((start.toordinal(), following.toordinal()))
        start = following
    return months


def _reference(random: Random, day: int) -> str:
    """An ICRC message number, as printed on the form."""
    return f"RCM-{datetime.date.fromordinal(day):%y%m}-{random.randrange(10**6):06d}"


def _iso(day: int) -> str:
    return datetime.date.fromordinal(day).isoformat()


def _ordinal(text: str) -> int:
    return datetime.date.fromisoformat(text).toordinal()
