import datetime

import pytest

from camp.models import AuditEntry, Site
from camp.roles import Role
from prisoners.models import Contact, Prisoner, StatusChange
from tests.factories import ContactFactory, PrisonerFactory, UserFactory


@pytest.fixture
def today(site):
    """Today at the site, as the registry's rules count it."""
    return site.today()


@pytest.fixture
def prisoner(site):
    return PrisonerFactory(site=site, surname="Петренко", first_names="Олександр")


@pytest.fixture
def withheld_prisoner(site):
    """A withheld identity whose every hidden field is a word found nowhere else."""
    return PrisonerFactory(
        site=site,
        identity=Prisoner.Identity.WITHHELD,
        surname="Засекреченко",
        first_names="Тарас",
        patronymic="Невідомович",
        rank="Kapitanrang",
        service_number="ZZ-314159",
        date_of_birth=datetime.date(1977, 3, 14),
        place_of_birth="Таємнопіль",
        father_first_name="Прихований",
        mother_maiden_name="Схованко",
        person_to_inform="Мирослава Засекреченко",
        captured_on=datetime.date(2026, 1, 3),
        place_of_capture="Потаємне",
    )


@pytest.fixture
def pending_contact(prisoner, supervisor):
    return ContactFactory(
        prisoner=prisoner,
        status=Contact.Status.PENDING,
        decided_by=None,
        decided_at=None,
        requested_by=supervisor,
    )


@pytest.fixture
def other_prisoner(other_site):
    return PrisonerFactory(site=other_site, surname="Чужий", first_names="Петро")


@pytest.fixture
def other_contact(other_prisoner):
    return ContactFactory(
        prisoner=other_prisoner, status=Contact.Status.PENDING, decided_by=None, decided_at=None
    )


@pytest.fixture
def other_site_supervisor(other_site):
    return UserFactory(username="south-supervisor", role=Role.SUPERVISOR, sites=[other_site])


def _snapshot() -> dict:
    return {
        "prisoners": Prisoner.objects.count(),
        "status_changes": StatusChange.objects.count(),
        "contacts": {
            status: Contact.objects.filter(status=status).count()
            for status in Contact.Status.values
        },
        "audit": AuditEntry.objects.count(),
        "serials": list(Site.objects.order_by("code").values_list("code", "last_serial")),
        "prisoner_rows": list(Prisoner.objects.order_by("pk").values()),
    }


@pytest.fixture
def snapshot():
    """How many rows the registry holds and what they say; a refused change leaves it equal."""
    return _snapshot
