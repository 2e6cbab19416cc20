"""Two clerks moving the same pile at the same instant: the items' row locks let one
record the step and refuse the other whole (one connection per clerk)."""

import datetime
import time

import pytest
from django.db import transaction

from camp.models import User
from letters import services
from letters.models import Letter, LetterAmendment
from tests.concurrency import run_together
from tests.factories import LetterFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def step_job(*, pks, actor_pk, on):
    def job():
        return services.record_step(
            letters=list(Letter.objects.filter(pk__in=pks)),
            step="dispatched_on",
            on=on,
            actor=User.objects.get(pk=actor_pk),
        )

    return job


def test_the_same_pile_is_dispatched_once(prisoner, guard, supervisor):
    letters = LetterFactory.create_batch(5, prisoner=prisoner)
    pks = [letter.pk for letter in letters]
    today = prisoner.site.today()

    results = run_together(
        [step_job(pks=pks, actor_pk=actor.pk, on=today) for actor in (guard, supervisor)]
    )

    assert sorted(type(result).__name__ for result in results) == ["LetterError", "int"], results
    assert LetterAmendment.objects.count() == 5
    assert set(Letter.objects.values_list("status", flat=True)) == {"dispatched"}


def deliver_job(*, pk, actor_pk, on, hold=0.0, wait=0.0):
    """Record the delivery of item ``pk`` ``on`` a day: after ``wait`` seconds, and
    keeping the transaction open ``hold`` seconds after it, as a slow request would."""

    def job():
        time.sleep(wait)
        with transaction.atomic():
            services.record_step(
                letters=[Letter.objects.get(pk=pk)],
                step="delivered_on",
                on=on,
                actor=User.objects.get(pk=actor_pk),
            )
            time.sleep(hold)

    return job


def test_two_deliveries_at_once_leave_the_later_as_the_last_news(prisoner, guard, supervisor):
    today = prisoner.site.today()
    first, second = LetterFactory.create_batch(
        2,
        prisoner=prisoner,
        direction=Letter.Direction.RECEIVED,
        handed_in_on=today - datetime.timedelta(days=5),
    )

    # The later delivery commits last but is recorded first: the other clerk's
    # statement runs while it is still open, so it cannot see it.
    results = run_together(
        [
            deliver_job(pk=first.pk, actor_pk=guard.pk, on=today, hold=1.0),
            deliver_job(
                pk=second.pk,
                actor_pk=supervisor.pk,
                on=today - datetime.timedelta(days=2),
                wait=0.3,
            ),
        ]
    )

    assert results == [None, None], results
    prisoner.refresh_from_db()
    assert prisoner.last_mail_delivered_on == today
