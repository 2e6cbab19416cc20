"""A withheld identity shows guards only its ISN and first name or alias, on every page."""

import pytest
from django.urls import reverse

from prisoners.models import Prisoner
from tests.factories import ContactFactory, PrisonerFactory

# Each of these words appears only in a field that the withheld identity hides.
HIDDEN = [
    "Засекреченко",
    "Невідомович",
    "Kapitanrang",
    "ZZ-314159",
    "14.03.1977",
    "Таємнопіль",
    "Прихований",
    "Схованко",
    "Мирослава",
    "Потаємне",
]


def pages(prisoner):
    return [
        reverse("prisoners:prisoner-list"),
        reverse("prisoners:prisoner-list") + f"?q={prisoner.isn}",
        reverse("prisoners:prisoner-detail", args=[prisoner.pk]),
        reverse("prisoners:contact-add", args=[prisoner.pk]),
    ]


@pytest.fixture
def family_contact(withheld_prisoner):
    return ContactFactory(prisoner=withheld_prisoner, name="Мирослава Засекреченко")


def test_guard_sees_only_isn_and_first_name(guard_client, withheld_prisoner, family_contact):
    for url in pages(withheld_prisoner):
        html = guard_client.get(url).content.decode()
        assert withheld_prisoner.isn in html
        assert "Тарас" in html
        for word in HIDDEN:
            assert word not in html, f"{word} shown on {url}"


def test_guard_detail_page_lists_only_the_shown_fields(guard_client, withheld_prisoner):
    response = guard_client.get(reverse("prisoners:prisoner-detail", args=[withheld_prisoner.pk]))
    assert response.context["name"] == "Тарас"
    labels = [str(label) for label, _value in response.context["registration"]]
    assert labels == ["identity completeness", "housing unit", "languages spoken"]


@pytest.mark.parametrize("client_fixture", ["supervisor_client", "administrator_client"])
def test_supervisors_see_the_full_record(
    request, client_fixture, withheld_prisoner, family_contact
):
    client = request.getfixturevalue(client_fixture)
    detail = client.get(reverse("prisoners:prisoner-detail", args=[withheld_prisoner.pk]))
    html = detail.content.decode()
    for word in HIDDEN:
        assert word in html, f"{word} missing for {client_fixture}"
    listing = client.get(reverse("prisoners:prisoner-list")).content.decode()
    assert "Засекреченко Тарас Невідомович" in listing


def test_identities_not_withheld_are_shown_to_guards(guard_client, prisoner):
    for url in pages(prisoner)[:3]:
        assert "Петренко" in guard_client.get(url).content.decode()


def test_the_name_shown_to_each_role(site, guard, supervisor, withheld_prisoner):
    assert not withheld_prisoner.is_revealed_to(guard)
    assert withheld_prisoner.is_revealed_to(supervisor)
    # Without an alias, the first name is what anyone may see.
    assert withheld_prisoner.name_shown(reveal=False) == "Тарас"
    assert withheld_prisoner.name_shown(reveal=True) == "Засекреченко Тарас Невідомович"
    known_by_alias = PrisonerFactory(
        site=site,
        identity=Prisoner.Identity.ALIAS,
        surname="",
        first_names="",
        patronymic="",
        alias="Вовк",
    )
    assert known_by_alias.is_revealed_to(guard)
    # Nothing but the alias is known: it is the whole name too.
    assert known_by_alias.name_shown(reveal=True) == "Вовк"
