"""Two clerks moving the same pile at the same instant: the items' row locks let one
record the step and refuse the other whole (one connection per clerk)."""

import pytest

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
