"""Registry rules that count, with real concurrent connections (one thread each).

Internment serial numbers are taken in turn under a lock on the site's row; the
limit of approved contacts is checked under a lock on the prisoner's row.
"""

import datetime

import pytest

from camp.models import AuditEntry, Site, User
from prisoners import services
from prisoners.models import MAX_APPROVED_CONTACTS, Contact, Prisoner
from prisoners.services import RegistryError
from tests.concurrency import run_together
from tests.factories import ContactFactory, PrisonerFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def registration_job(*, site_pk, actor_pk, surname):
    def job():
        # Fresh objects per thread: nothing is shared between the connections.
        return services.register_prisoner(
            site=Site.objects.get(pk=site_pk),
            actor=User.objects.get(pk=actor_pk),
            surname=surname,
            first_names="Олександр",
            arrived_on=datetime.date(2026, 3, 1),
            captured_on=datetime.date(2026, 2, 20),
        )

    return job


def approval_job(*, contact_pk, actor_pk):
    def job():
        return services.approve_contact(
            contact=Contact.objects.get(pk=contact_pk), actor=User.objects.get(pk=actor_pk)
        )

    return job


def test_ten_simultaneous_registrations_get_consecutive_isns(site, other_site, supervisor):
    surnames = [f"Прізвище{n}" for n in range(10)]

    results = run_together(
        [
            registration_job(site_pk=site.pk, actor_pk=supervisor.pk, surname=surname)
            for surname in surnames
        ]
    )

    assert all(isinstance(result, Prisoner) for result in results), results
    assert sorted(prisoner.isn for prisoner in results) == [f"NC-{n:05d}" for n in range(1, 11)]
    assert sorted(Prisoner.objects.values_list("surname", flat=True)) == sorted(surnames)
    site.refresh_from_db()
    assert site.last_serial == 10
    other_site.refresh_from_db()
    assert other_site.last_serial == 0
    assert AuditEntry.objects.filter(action="prisoners.prisoner.registered").count() == 10


def test_two_simultaneous_approvals_at_19_stop_at_20(site, supervisor):
    assert MAX_APPROVED_CONTACTS == 20
    rounds = 4
    for _round in range(rounds):
        prisoner = PrisonerFactory(site=site)
        ContactFactory.create_batch(
            MAX_APPROVED_CONTACTS - 1, prisoner=prisoner, requested_by=supervisor
        )
        pending = ContactFactory.create_batch(
            2,
            prisoner=prisoner,
            status=Contact.Status.PENDING,
            requested_by=supervisor,
            decided_by=None,
            decided_at=None,
        )

        results = run_together(
            [approval_job(contact_pk=contact.pk, actor_pk=supervisor.pk) for contact in pending]
        )

        approved = [result for result in results if isinstance(result, Contact)]
        refused = [result for result in results if isinstance(result, RegistryError)]
        assert len(approved) == 1, results
        assert [error.messages for error in refused] == [
            ["This prisoner already has 20 approved contacts; revoke one first."]
        ]
        assert Contact.objects.approved().filter(prisoner=prisoner).count() == 20
        assert Contact.objects.filter(prisoner=prisoner, status=Contact.Status.PENDING).count() == 1
    assert AuditEntry.objects.filter(action="prisoners.contact.approved").count() == rounds
