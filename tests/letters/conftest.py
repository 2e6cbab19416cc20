import pytest

from camp.models import AuditEntry
from camp.roles import Role
from letters.models import Letter, LetterAmendment
from tests.factories import ContactFactory, LetterFactory, PrisonerFactory, UserFactory


@pytest.fixture
def today(site):
    return site.today()


@pytest.fixture
def prisoner(site):
    return PrisonerFactory(site=site, isn="NC-00001", surname="Петренко", first_names="Олександр")


@pytest.fixture
def contact(prisoner):
    return ContactFactory(prisoner=prisoner, name="Олена Петренко")


@pytest.fixture
def letter(prisoner, guard):
    return LetterFactory(prisoner=prisoner, recorded_by=guard)


@pytest.fixture
def other_prisoner(other_site):
    return PrisonerFactory(site=other_site, isn="SC-00001", surname="Чужий", first_names="Петро")


@pytest.fixture
def other_letter(other_prisoner):
    return LetterFactory(prisoner=other_prisoner)


@pytest.fixture
def other_site_guard(other_site):
    return UserFactory(username="south-guard", role=Role.GUARD, sites=[other_site])


@pytest.fixture
def snapshot():
    """What the register holds; a refused change leaves it equal."""

    def take() -> dict:
        return {
            "letters": list(Letter.objects.order_by("pk").values()),
            "amendments": LetterAmendment.objects.count(),
            "audit": AuditEntry.objects.count(),
        }

    return take
