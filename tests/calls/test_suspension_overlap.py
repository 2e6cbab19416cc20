"""Suspensions of one prisoner never overlap: the service refuses, naming the one
already recorded, and a database constraint refuses whatever gets past it; so the
desk lists a suspended prisoner once."""

import datetime
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from calls import services
from calls.models import Suspension
from calls.services import CallError
from camp.models import AuditEntry, User
from prisoners.models import Prisoner
from tests.factories import PrisonerFactory

DAY = datetime.timedelta(days=1)
DESK = reverse("calls:desk")
CONSTRAINT = "calls_suspension_no_overlap_per_prisoner"
NAMED = (
    "The prisoner's calls are already suspended from {from_} until {until} "
    "(Security investigation, Investigator Koval)."
)


@pytest.fixture
def prisoner(site):
    return PrisonerFactory(site=site)


@pytest.fixture
def first_day(site):
    return site.today() + 10 * DAY


@pytest.fixture
def existing(prisoner, first_day, supervisor):
    """Suspended for the 10th to the 20th day from today, both included."""
    return services.suspend_calls(
        prisoner=prisoner,
        reason=Suspension.Reason.SECURITY_INVESTIGATION,
        authority="Investigator Koval",
        document_reference="INV-318/26",
        starts_on=first_day,
        ends_on=first_day + 10 * DAY,
        actor=supervisor,
    )


def suspend(prisoner, starts_on, ends_on, actor, **kwargs):
    return services.suspend_calls(
        prisoner=prisoner,
        reason=kwargs.get("reason", Suspension.Reason.MEDICAL),
        authority=kwargs.get("authority", "Camp doctor"),
        document_reference="",
        starts_on=starts_on,
        ends_on=ends_on,
        actor=actor,
    )


def named(suspension):
    return NAMED.format(
        from_=suspension.starts_on.isoformat(), until=suspension.ends_on.isoformat()
    )


# Days relative to the existing suspension's first day (it runs from 0 to 10).
OVERLAPS = {
    "same days": (0, 10),
    "inside it": (3, 5),
    "around it": (-5, 15),
    "into its start": (-5, 0),
    "from its last day": (10, 12),
    "across its end": (8, 30),
}


# --- The service ----------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), OVERLAPS.values(), ids=OVERLAPS.keys())
def test_an_overlapping_suspension_is_refused_naming_the_existing_one(
    prisoner, existing, first_day, supervisor, start, end
):
    with pytest.raises(CallError) as caught:
        suspend(prisoner, first_day + start * DAY, first_day + end * DAY, supervisor)
    (message,) = caught.value.messages
    assert message.startswith(named(existing))
    assert Suspension.objects.get() == existing
    assert AuditEntry.objects.filter(action="calls.suspension.added").count() == 1


@pytest.mark.parametrize(
    ("touching", "sharing_a_day"),
    [((-5, -1), (-5, 0)), ((11, 15), (10, 15))],
    ids=["before", "after"],
)
def test_suspensions_may_touch_but_not_share_a_day(
    prisoner, existing, first_day, supervisor, touching, sharing_a_day
):
    start, end = sharing_a_day
    with pytest.raises(CallError):
        suspend(prisoner, first_day + start * DAY, first_day + end * DAY, supervisor)
    start, end = touching
    suspend(prisoner, first_day + start * DAY, first_day + end * DAY, supervisor)
    assert Suspension.objects.filter(prisoner=prisoner).count() == 2


def test_another_prisoner_may_be_suspended_on_the_same_days(
    site, prisoner, existing, first_day, supervisor
):
    with pytest.raises(CallError):
        suspend(prisoner, first_day, first_day + 10 * DAY, supervisor)
    suspend(PrisonerFactory(site=site), first_day, first_day + 10 * DAY, supervisor)
    assert Suspension.objects.count() == 2


def test_the_earliest_overlapping_suspension_is_named(prisoner, first_day, supervisor):
    later = suspend(prisoner, first_day + 20 * DAY, first_day + 25 * DAY, supervisor)
    earlier = suspend(
        prisoner,
        first_day,
        first_day + 5 * DAY,
        supervisor,
        reason=Suspension.Reason.SECURITY_INVESTIGATION,
        authority="Investigator Koval",
    )
    with pytest.raises(CallError) as caught:
        suspend(prisoner, first_day, first_day + 30 * DAY, supervisor)
    assert caught.value.messages[0].startswith(named(earlier))
    assert later.authority not in caught.value.messages[0]


def test_a_refused_suspension_cancels_no_booking(prisoner, existing, first_day, supervisor):
    with pytest.raises(CallError):
        suspend(prisoner, first_day - 5 * DAY, first_day, supervisor)
    assert not AuditEntry.objects.filter(action="calls.booking.cancelled").exists()


def test_the_constraints_refusal_is_turned_into_the_same_message(
    prisoner, existing, first_day, supervisor, monkeypatch
):
    """When the check in Python misses a suspension (written at the same instant),
    the constraint refuses and the service still names the suspension."""
    check = services._overlap_refusal
    calls = []

    def blind_first_time(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else check(**kwargs)

    monkeypatch.setattr(services, "_overlap_refusal", blind_first_time)
    with pytest.raises(CallError) as caught:
        suspend(prisoner, first_day + 3 * DAY, first_day + 5 * DAY, supervisor)
    assert len(calls) == 2
    assert caught.value.messages[0].startswith(named(existing))
    assert Suspension.objects.get() == existing


# --- The database -----------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), OVERLAPS.values(), ids=OVERLAPS.keys())
def test_the_database_refuses_overlapping_suspensions(
    prisoner, existing, first_day, supervisor, start, end
):
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Suspension.objects.create(
            prisoner=prisoner,
            reason=Suspension.Reason.MEDICAL,
            authority="Camp doctor",
            starts_on=first_day + start * DAY,
            ends_on=first_day + end * DAY,
            created_by=supervisor,
        )
    assert caught.value.__cause__.diag.constraint_name == CONSTRAINT
    assert Suspension.objects.count() == 1


def test_the_database_accepts_touching_suspensions_only(prisoner, existing, first_day, supervisor):
    def create(start, end):
        return Suspension.objects.create(
            prisoner=prisoner,
            reason=Suspension.Reason.MEDICAL,
            authority="Camp doctor",
            starts_on=first_day + start * DAY,
            ends_on=first_day + end * DAY,
            created_by=supervisor,
        )

    create(-3, -1)
    create(11, 11)
    for start, end in [(-1, -1), (11, 12)]:
        with pytest.raises(IntegrityError), transaction.atomic():
            create(start, end)
    assert Suspension.objects.count() == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_overlapping_suspensions_give_one(site, supervisor):
    prisoner = PrisonerFactory(site=site)
    first_day = site.today() + 10 * DAY
    plans = [
        (first_day, first_day + 10 * DAY, "Investigator Koval"),
        (first_day + 5 * DAY, first_day + 15 * DAY, "Coordination office"),
    ] * 3
    barrier = threading.Barrier(len(plans))
    results = [None] * len(plans)

    def worker(index, starts_on, ends_on, authority):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results[index] = services.suspend_calls(
                prisoner=Prisoner.objects.select_related("site").get(pk=prisoner.pk),
                reason=Suspension.Reason.AUTHORITY_DECISION,
                authority=authority,
                document_reference="",
                starts_on=starts_on,
                ends_on=ends_on,
                actor=User.objects.get(pk=supervisor.pk),
            )
        except Exception as error:  # CallError expected; anything else fails below
            results[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, *plan)) for index, plan in enumerate(plans)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    made = [result for result in results if isinstance(result, Suspension)]
    refused = [result for result in results if isinstance(result, CallError)]
    assert len(made) == 1, results
    assert len(refused) == len(plans) - 1, results
    (suspension,) = made
    for error in refused:
        assert error.messages[0].startswith(
            "The prisoner's calls are already suspended from "
            f"{suspension.starts_on.isoformat()} until {suspension.ends_on.isoformat()} "
            f"(Decision of an authority, {suspension.authority})."
        )
    assert Suspension.objects.count() == 1


# --- The form and the desk --------------------------------------------------------------


def form_data(starts_on, ends_on):
    return {
        "reason": Suspension.Reason.MEDICAL,
        "authority": "Camp doctor",
        "document_reference": "",
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(),
    }


def test_the_form_shows_the_refusal_naming_the_existing_suspension(
    prisoner, existing, first_day, supervisor_client
):
    response = supervisor_client.post(
        reverse("calls:suspension-add", args=[prisoner.pk]),
        form_data(first_day + 5 * DAY, first_day + 30 * DAY),
    )
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert [error[: len(named(existing))] for error in errors] == [named(existing)]
    content = response.content.decode()
    assert "already suspended from" in content and "Investigator Koval" in content
    assert Suspension.objects.get() == existing


def test_the_form_accepts_the_day_after_but_not_the_last_day(
    prisoner, existing, first_day, supervisor_client
):
    url = reverse("calls:suspension-add", args=[prisoner.pk])
    response = supervisor_client.post(url, form_data(first_day + 10 * DAY, first_day + 20 * DAY))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    response = supervisor_client.post(url, form_data(first_day + 11 * DAY, first_day + 20 * DAY))
    assert response.status_code == 302
    assert Suspension.objects.filter(prisoner=prisoner).count() == 2


def test_the_desk_lists_a_suspended_prisoner_once(
    site, other_site, supervisor, supervisor_client, guard_client
):
    today = site.today()
    prisoner = PrisonerFactory(site=site)
    suspend(prisoner, today - DAY, today + 3 * DAY, supervisor)
    # A second decision for the same days, by the form and by the service: both refused.
    supervisor_client.post(
        reverse("calls:suspension-add", args=[prisoner.pk]), form_data(today, today + 9 * DAY)
    )
    with pytest.raises(CallError):
        suspend(prisoner, today, today, supervisor, authority="Coordination office")
    # Another site's suspended prisoner is on its own desk only.
    foreign = PrisonerFactory(site=other_site)
    suspend(foreign, today, today + 3 * DAY, supervisor)

    response = guard_client.get(DESK)

    assert [s.prisoner_id for s in response.context["suspended"]] == [prisoner.pk]
    section = response.content.decode().split('id="desk-suspended-heading"')[1]
    section = section.split("</section>")[0]
    assert section.count(prisoner.isn) == 1
    assert foreign.isn not in section
