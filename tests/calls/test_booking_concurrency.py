"""Bookings arriving at the same instant, each on its own database connection.

The database constraints decide: one live booking per slot, and no two
overlapping live bookings of one prisoner. The checks in Python alone could not
hold under these races.
"""

import datetime

import pytest
from django.utils import timezone

from calls import services
from calls.models import Booking, CallSlot
from calls.services import CallError
from camp.models import AuditEntry, User
from prisoners.models import Prisoner
from tests.concurrency import run_together
from tests.factories import CallSlotFactory, ContactFactory, LineFactory, PrisonerFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def booking_job(*, slot_pk, prisoner_pk, actor_pk):
    def job():
        # Fresh objects per thread: nothing is shared between the connections.
        slot = CallSlot.objects.select_related("line__site").get(pk=slot_pk)
        prisoner = Prisoner.objects.select_related("site").get(pk=prisoner_pk)
        actor = User.objects.get(pk=actor_pk)
        return services.book_slot(slot=slot, prisoner=prisoner, actor=actor)

    return job


def eligible_prisoners(site, staff, count):
    prisoners = []
    for _n in range(count):
        prisoner = PrisonerFactory(site=site)
        ContactFactory(prisoner=prisoner, requested_by=staff)
        prisoners.append(prisoner)
    return prisoners


def test_twenty_simultaneous_bookings_of_one_slot_give_exactly_one(site, supervisor):
    slot = CallSlotFactory(line=LineFactory(site=site))
    prisoners = eligible_prisoners(site, supervisor, 20)
    results = run_together(
        [
            booking_job(slot_pk=slot.pk, prisoner_pk=prisoner.pk, actor_pk=supervisor.pk)
            for prisoner in prisoners
        ]
    )
    bookings = [result for result in results if isinstance(result, Booking)]
    errors = [result for result in results if isinstance(result, CallError)]
    assert len(bookings) == 1, results
    assert len(errors) == 19, results
    assert {tuple(error.messages) for error in errors} == {("This slot is already booked.",)}
    assert Booking.objects.filter(slot=slot).count() == 1
    assert AuditEntry.objects.filter(action="calls.booking.created").count() == 1


def test_one_prisoner_booked_on_two_lines_at_once_gets_one_booking(site, supervisor):
    (prisoner,) = eligible_prisoners(site, supervisor, 1)
    start = (timezone.now() + datetime.timedelta(days=1)).replace(second=0, microsecond=0)
    rounds = 3
    for n in range(rounds):
        starts_at = start + n * datetime.timedelta(hours=2)
        first = CallSlotFactory(line=LineFactory(site=site), starts_at=starts_at)
        # Overlapping, not identical: the second line's slot starts five minutes later.
        second = CallSlotFactory(
            line=LineFactory(site=site), starts_at=starts_at + datetime.timedelta(minutes=5)
        )
        results = run_together(
            [
                booking_job(slot_pk=slot.pk, prisoner_pk=prisoner.pk, actor_pk=supervisor.pk)
                for slot in (first, second)
            ]
        )
        bookings = [result for result in results if isinstance(result, Booking)]
        errors = [result for result in results if isinstance(result, CallError)]
        assert len(bookings) == 1, results
        assert [error.messages for error in errors] == [
            ["This prisoner is already booked at that time."]
        ]
    assert Booking.objects.filter(prisoner=prisoner).count() == rounds
