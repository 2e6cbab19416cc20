"""The registry's rules hold in the database itself, also for writes that skip the services."""

import datetime
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from prisoners.models import Contact, Prisoner, StatusChange
from tests.factories import ContactFactory, PrisonerFactory


@contextmanager
def refused(constraint: str):
    """Expect the database to refuse the write, naming ``constraint``; the test goes on."""
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        yield


def _prisoner(site, **fields):
    values = {
        "site": site,
        "isn": "NC-99999",
        "identity": Prisoner.Identity.FULL,
        "surname": "Петренко",
        "first_names": "Іван",
        "arrived_on": datetime.date(2026, 1, 10),
    }
    values.update(fields)
    return Prisoner.objects.create(**values)


def test_full_identity_without_surname_is_refused(site):
    with refused("prisoners_prisoner_full_identity_has_names"):
        _prisoner(site, surname="")
    assert not Prisoner.objects.exists()


def test_first_name_only_identity_may_lack_the_surname(site):
    _prisoner(site, identity=Prisoner.Identity.FIRST_NAME_ONLY, surname="")
    assert Prisoner.objects.count() == 1


def test_withheld_identity_needs_something_to_show(site):
    with refused("prisoners_prisoner_withheld_has_display_name"):
        _prisoner(site, identity=Prisoner.Identity.WITHHELD, first_names="", alias="")


def test_birth_in_the_future_is_refused(site):
    with refused("prisoners_prisoner_born_in_the_past"):
        _prisoner(site, date_of_birth=timezone.localdate() + datetime.timedelta(days=30))


def test_capture_after_arrival_is_refused(site):
    with refused("prisoners_prisoner_captured_before_arrival"):
        _prisoner(
            site, captured_on=datetime.date(2026, 1, 11), arrived_on=datetime.date(2026, 1, 10)
        )


def test_update_bypassing_the_services_is_refused_too(site):
    prisoner = PrisonerFactory(site=site)
    with refused("prisoners_prisoner_full_identity_has_names"):
        Prisoner.objects.filter(pk=prisoner.pk).update(surname="")
    with refused("prisoners_prisoner_captured_before_arrival"):
        Prisoner.objects.filter(pk=prisoner.pk).update(captured_on=datetime.date(2026, 2, 1))
    with refused("prisoners_prisoner_status_valid"):
        Prisoner.objects.filter(pk=prisoner.pk).update(status="vanished")
    prisoner.refresh_from_db()
    assert prisoner.surname == "Петренко"


@pytest.mark.parametrize("number", ["0501234567", "+0501234567", "+380 50 123 45 67", "+12345"])
def test_phone_number_not_in_e164_is_refused(site, number):
    with refused("prisoners_contact_phone_e164"):
        ContactFactory(prisoner__site=site, phone_number=number)
    assert not Contact.objects.exists()


def test_duplicate_live_number_is_refused(site):
    contact = ContactFactory(prisoner__site=site, phone_number="+79123456789")
    with refused("prisoners_contact_unique_live_number"):
        ContactFactory(
            prisoner=contact.prisoner,
            phone_number="+79123456789",
            status=Contact.Status.PENDING,
            decided_by=None,
            decided_at=None,
        )
    assert Contact.objects.count() == 1


def test_a_revoked_number_may_be_requested_again(site):
    contact = ContactFactory(
        prisoner__site=site,
        phone_number="+79123456789",
        status=Contact.Status.REVOKED,
        revoke_reason="Not a relative.",
    )
    ContactFactory(prisoner=contact.prisoner, phone_number="+79123456789")
    assert Contact.objects.count() == 2


def test_revoked_without_reason_is_refused(site):
    with refused("prisoners_contact_revoke_has_reason"):
        ContactFactory(prisoner__site=site, status=Contact.Status.REVOKED, revoke_reason="")


def test_decision_without_who_and_when_is_refused(site):
    with refused("prisoners_contact_decision_recorded"):
        ContactFactory(prisoner__site=site, decided_by=None, decided_at=None)


def test_status_history_refuses_update_and_delete_even_by_raw_sql(site, supervisor):
    prisoner = PrisonerFactory(site=site)
    change = StatusChange.objects.create(
        prisoner=prisoner,
        status=Prisoner.Status.INTERNED,
        effective_on=prisoner.arrived_on,
        recorded_by=supervisor,
    )
    for sql in (
        "UPDATE prisoners_statuschange SET note = 'rewritten' WHERE id = %s",
        "DELETE FROM prisoners_statuschange WHERE id = %s",
    ):
        with (
            pytest.raises(ProgrammingError, match="is append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [change.pk])
    change.refresh_from_db()
    assert change.note == ""
