"""The prisoner's stored last connected call when two corrections of his calls are
made at the same moment (one connection each): the later call wins, whichever
correction commits last. The corrections are written as amendment rows, as the
admin or SQL may: ``services.amend_call`` also locks the site, which would queue
them one after the other."""

import datetime
import time

import pytest
from django.db import transaction
from django.utils import timezone

from calls.models import Amendment, Call
from camp.models import User
from tests.concurrency import run_together
from tests.factories import CallFactory, LineFactory, PrisonerFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def connect_job(*, pk, actor_pk, hold=0.0, wait=0.0):
    """Correct call ``pk`` to connected: after ``wait`` seconds, keeping the transaction
    open ``hold`` seconds after it, as a slow request would."""

    def job():
        time.sleep(wait)
        with transaction.atomic():
            Amendment.objects.create(
                call=Call.objects.get(pk=pk),
                changes={"outcome": {"from": Call.Outcome.NO_ANSWER, "to": Call.Outcome.CONNECTED}},
                reason="The family did answer.",
                author=User.objects.get(pk=actor_pk),
            )
            time.sleep(hold)

    return job


def test_two_corrections_at_once_leave_the_later_call_as_the_last_connected(
    site, supervisor, administrator
):
    prisoner = PrisonerFactory(site=site)
    line = LineFactory(site=site)
    now = timezone.now()
    older, newer = (
        CallFactory(
            prisoner=prisoner,
            line=line,
            started_at=now - datetime.timedelta(days=days),
            outcome=Call.Outcome.NO_ANSWER,
        )
        for days in (3, 1)
    )

    # The later call is corrected first and commits last: the other correction's
    # statement runs while it is open, so cannot see it.
    results = run_together(
        [
            connect_job(pk=newer.pk, actor_pk=supervisor.pk, hold=1.0),
            connect_job(pk=older.pk, actor_pk=administrator.pk, wait=0.3),
        ]
    )

    assert [type(result).__name__ for result in results] == ["NoneType", "NoneType"], results
    prisoner.refresh_from_db()
    assert prisoner.last_connected_at == newer.started_at
