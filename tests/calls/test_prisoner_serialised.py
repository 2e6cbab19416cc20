"""Rules that count a prisoner's bookings hold when requests arrive at the same moment.

Each booking and call start locks the prisoner's row before the rules are checked,
so simultaneous requests for one prisoner are decided one after another.
"""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone
from psycopg.errors import DeadlockDetected

from calls import services
from calls.models import Booking, CallSlot
from calls.services import CallError
from camp.models import User
from prisoners.models import Prisoner
from tests.concurrency import run_together
from tests.factories import CallSlotFactory, ContactFactory, LineFactory, PrisonerFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MINUTES_15 = datetime.timedelta(minutes=15)


def _eligible_prisoner(site, staff) -> Prisoner:
    prisoner = PrisonerFactory(site=site)
    ContactFactory(prisoner=prisoner, requested_by=staff)
    return prisoner


def _book(slot_pk, prisoner_pk, actor_pk):
    def job():
        slot = CallSlot.objects.select_related("line__site").get(pk=slot_pk)
        prisoner = Prisoner.objects.select_related("site").get(pk=prisoner_pk)
        return services.book_slot(slot=slot, prisoner=prisoner, actor=User.objects.get(pk=actor_pk))

    return job


def test_twenty_simultaneous_bookings_of_one_prisoner_stop_at_the_monthly_maximum(site, supervisor):
    prisoner = _eligible_prisoner(site, supervisor)
    line = LineFactory(site=site)
    # Twenty slots one after another this afternoon: the same month, none overlapping.
    first = (timezone.now() + datetime.timedelta(minutes=30)).replace(second=0, microsecond=0)
    slots = [CallSlotFactory(line=line, starts_at=first + n * MINUTES_15) for n in range(20)]
    results = run_together([_book(slot.pk, prisoner.pk, supervisor.pk) for slot in slots])
    bookings = [result for result in results if isinstance(result, Booking)]
    refusals = [result for result in results if isinstance(result, CallError)]
    # The camp default allows four calls a month.
    assert len(bookings) == 4, results
    assert len(refusals) == 16, results
    assert all("The policy allows 4 calls a month" in error.messages[0] for error in refusals)
    assert Booking.objects.filter(prisoner=prisoner, status=Booking.Status.BOOKED).count() == 4


def _insert_bookings(slot_pks, prisoner_pk, actor_pk, *, after=None, then=None, pause=0.0):
    """Two bookings written straight into the table in one transaction, without the
    service's lock of the prisoner. ``after``: an event to wait for before the first
    row; ``then``: one to set after it, followed by ``pause`` seconds."""

    def job():
        overlap = "This prisoner is already booked at that time."
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Detect the deadlock fast; the default waits a second.
                cursor.execute("SET LOCAL deadlock_timeout = '20ms'")
            booked = []
            for index, slot_pk in enumerate(slot_pks):
                slot = CallSlot.objects.get(pk=slot_pk)
                if index == 0 and after is not None:
                    after.wait(timeout=30)
                with services.refusing_conflicts({}, otherwise=overlap):
                    booked.append(
                        Booking.objects.create(
                            slot=slot,
                            prisoner_id=prisoner_pk,
                            starts_at=slot.starts_at,
                            ends_at=slot.ends_at,
                            booked_by_id=actor_pk,
                        )
                    )
                if index == 0 and then is not None:
                    then.set()
                    time.sleep(pause)
            return booked

    return job


def test_an_exclusion_deadlock_is_the_same_clear_refusal(site, supervisor):
    """The first transaction books the morning, and its statement trigger locks the
    prisoner to keep his summary. The second books noon and waits for that lock. The
    first then books noon too, which overlaps the second's uncommitted row: each waits
    on the other, and PostgreSQL breaks the tie with ``deadlock detected``, not an
    exclusion violation."""
    prisoner = _eligible_prisoner(site, supervisor)
    start = (timezone.now() + datetime.timedelta(days=2)).replace(second=0, microsecond=0)
    for n in range(3):
        morning = start + n * datetime.timedelta(hours=3)
        noon = morning + datetime.timedelta(hours=1)

        def slot_at(starts_at):
            return CallSlotFactory(line=LineFactory(site=site), starts_at=starts_at).pk

        five = datetime.timedelta(minutes=5)
        first = [slot_at(morning), slot_at(noon)]
        # The other way round: noon first, then the morning.
        second = [slot_at(noon + five), slot_at(morning + five)]
        morning_booked = threading.Event()
        results = run_together(
            [
                _insert_bookings(first, prisoner.pk, supervisor.pk, then=morning_booked, pause=0.3),
                _insert_bookings(second, prisoner.pk, supervisor.pk, after=morning_booked),
            ]
        )
        refusals = [result for result in results if isinstance(result, CallError)]
        assert len(refusals) == 1, results
        assert refusals[0].messages == ["This prisoner is already booked at that time."]
        assert isinstance(refusals[0].__context__.__cause__, DeadlockDetected)
        winner = next(result for result in results if isinstance(result, list))
        assert len(winner) == 2
    assert Booking.objects.filter(prisoner=prisoner).count() == 6
