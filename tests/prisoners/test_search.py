"""Searching the registry by ISN and by name, in either script, and its filters."""

import iuliia
import pytest
from django.urls import reverse

from prisoners.models import Prisoner
from prisoners.selectors import prisoner_search
from tests.factories import PrisonerFactory, SiteFactory


def found(client, **params) -> list[str]:
    response = client.get(reverse("prisoners:prisoner-list"), params)
    assert response.status_code == 200
    return [row["prisoner"].isn for row in response.context["rows"]]


@pytest.fixture
def registry(site):
    """A small registry: Russian and Ukrainian spellings, units, statuses."""
    return {
        "russian": PrisonerFactory(
            site=site, isn="NC-00001", surname="Кузнецов", first_names="Александр"
        ),
        "ukrainian": PrisonerFactory(
            site=site, isn="NC-00002", surname="Шевченко", first_names="Олександр"
        ),
        "other": PrisonerFactory(
            site=site,
            isn="NC-00003",
            surname="Попов",
            first_names="Дмитрий",
            housing_unit="B4",
            status=Prisoner.Status.IN_HOSPITAL,
        ),
    }


def test_latin_query_finds_the_cyrillic_name(guard_client, registry):
    assert found(guard_client, q="Aleksandr") == ["NC-00001"]
    assert found(guard_client, q="aleksandr kuzn") == ["NC-00001"]


def test_ukrainian_spelling_finds_by_cyrillic_and_by_latin(guard_client, registry):
    assert found(guard_client, q="Олександр") == ["NC-00002"]
    assert found(guard_client, q="Oleksandr") == ["NC-00002"]
    assert found(guard_client, q="Shevchenko") == ["NC-00002"]


def test_cyrillic_query_is_case_insensitive(guard_client, registry):
    assert found(guard_client, q="кузнецов") == ["NC-00001"]


def test_isn_search(guard_client, registry):
    assert found(guard_client, q="NC-00003") == ["NC-00003"]
    assert found(guard_client, q="nc-0000") == ["NC-00001", "NC-00002", "NC-00003"]


def test_no_match_says_so(guard_client, registry):
    response = guard_client.get(reverse("prisoners:prisoner-list"), {"q": "Nobody"})
    assert response.context["rows"] == []
    assert "No prisoners match." in response.content.decode()


def test_filters_by_unit_status_and_site(guard_client, guard, registry):
    assert found(guard_client, housing_unit="B4") == ["NC-00003"]
    assert found(guard_client, status="in_hospital") == ["NC-00003"]
    assert found(guard_client, status="interned", q="Aleksandr") == ["NC-00001"]
    second = SiteFactory(name="East camp", code="EC")
    guard.sites.add(second)
    PrisonerFactory(site=second, isn="EC-00001", first_names="Александр", surname="Орлов")
    assert found(guard_client, q="Aleksandr") == ["EC-00001", "NC-00001"]
    assert found(guard_client, q="Aleksandr", site=second.pk) == ["EC-00001"]


def test_search_never_shows_another_sites_prisoners(guard_client, other_site, registry):
    PrisonerFactory(site=other_site, isn="SC-00001", first_names="Александр")
    assert found(guard_client, q="Aleksandr") == ["NC-00001"]
    assert found(guard_client, q="SC-00001") == []


def test_guard_cannot_find_a_withheld_prisoner_by_surname(
    guard_client, supervisor_client, administrator_client, withheld_prisoner
):
    isn = withheld_prisoner.isn
    assert found(guard_client, q="Засекреченко") == []
    assert found(guard_client, q="Zasekrechenko") == []
    assert found(guard_client, q="Невідомович") == []
    # What guards may see of him still finds him.
    assert found(guard_client, q="Тарас") == [isn]
    assert found(guard_client, q=isn) == [isn]
    assert found(supervisor_client, q="Засекреченко") == [isn]
    assert found(administrator_client, q="Zasekrechenko") == [isn]


def test_a_whole_isn_is_looked_up_on_its_index(supervisor, registry, other_site):
    PrisonerFactory(site=other_site, isn="SC-00001")
    exact = prisoner_search(user=supervisor, text=" nc-00002 ")
    assert [p.isn for p in exact] == ["NC-00002"]
    sql = str(exact.query)
    assert '"prisoners_prisoner"."isn" = NC-00002' in sql
    assert "LIKE" not in sql
    # Part of an ISN still searches as text; another site's prisoner is never found.
    partial = prisoner_search(user=supervisor, text="NC-0000")
    assert "LIKE" in str(partial.query)
    assert {"NC-00001", "NC-00002", "NC-00003"} <= {p.isn for p in partial}
    assert not prisoner_search(user=supervisor, text="SC-00001").exists()


@pytest.fixture
def spelled_registry(site):
    """Names whose common Latin spellings differ from the ICAO one on record."""
    return {
        "aleksandr": PrisonerFactory(
            site=site, isn="NC-00011", surname="Кузнецов", first_names="Александр"
        ),
        "sergei": PrisonerFactory(
            site=site, isn="NC-00012", surname="Морозов", first_names="Сергей"
        ),
        "grigorev": PrisonerFactory(
            site=site, isn="NC-00013", surname="Григорьев", first_names="Павел"
        ),
        "hryhorii": PrisonerFactory(
            site=site, isn="NC-00014", surname="Коваленко", first_names="Григорій"
        ),
        "fedor": PrisonerFactory(
            site=site, isn="NC-00015", surname="Щербаков", first_names="Фёдор"
        ),
    }


@pytest.mark.parametrize(
    ("query", "isn"),
    [
        # English form of the given name, and Wikipedia / BGN/PCGN spellings.
        ("Alexander", "NC-00011"),
        ("Sergey", "NC-00012"),
        ("Sergej", "NC-00012"),
        ("Grigoryev", "NC-00013"),
        ("Grigor’yev", "NC-00013"),
        ("Grigor'ev", "NC-00013"),
        ("Fyodor", "NC-00015"),
        ("Scherbakov", "NC-00015"),
        ("Shherbakov", "NC-00015"),
        # Ukraine's national scheme: г is h, и is y.
        ("Hryhorii", "NC-00014"),
        ("Hryhoriy", "NC-00014"),
        ("Kovalenko Hryhorii", "NC-00014"),
    ],
)
def test_other_latin_spellings_find_the_name(guard_client, spelled_registry, query, isn):
    assert found(guard_client, q=query) == [isn]


def test_every_common_scheme_finds_the_icao_spelling_on_record(guard_client, spelled_registry):
    schemes = [
        iuliia.WIKIPEDIA,
        iuliia.BGN_PCGN,
        iuliia.GOST_52535,
        iuliia.GOST_7034,
        iuliia.MVD_782,
        iuliia.MVD_310,
        iuliia.YANDEX_MAPS,
    ]
    for prisoner in spelled_registry.values():
        if any(letter in prisoner.first_names for letter in "ієїґ"):
            continue  # the iuliia schemes are Russian ones
        for scheme in schemes:
            for name in (prisoner.surname, prisoner.first_names):
                assert found(guard_client, q=scheme.translate(name)) == [prisoner.isn], (
                    scheme.name,
                    name,
                )


def test_other_spellings_do_not_reveal_a_withheld_surname(guard_client, supervisor_client, site):
    withheld = PrisonerFactory(
        site=site,
        isn="NC-00020",
        identity=Prisoner.Identity.WITHHELD,
        surname="Григорьев",
        first_names="Тарас",
        patronymic="Юрьевич",
    )
    assert found(guard_client, q="Grigoryev") == []
    assert found(guard_client, q="Yuryevich") == []
    assert found(guard_client, q="Taras") == [withheld.isn]
    assert found(supervisor_client, q="Grigoryev") == [withheld.isn]
    assert found(supervisor_client, q="Yurievich") == [withheld.isn]


def test_different_names_stay_apart(guard_client, spelled_registry):
    # Олександр is not a spelling of Александр, nor Сергій of Сергей.
    PrisonerFactory(site=spelled_registry["sergei"].site, isn="NC-00021", first_names="Олександр")
    assert found(guard_client, q="Alexander") == ["NC-00011"]
    assert found(guard_client, q="Oleksandr") == ["NC-00021"]
    assert found(guard_client, q="Serhii") == []
