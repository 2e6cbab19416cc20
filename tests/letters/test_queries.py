"""The register's pages run a fixed number of queries, however much they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from letters import services
from tests.factories import ContactFactory, LetterFactory, PrisonerFactory


def queries_for(client, url) -> list[str]:
    client.get(url)  # warm up: the first request of a session may cost more
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def _items(count, site, other_site):
    for _ in range(count):
        prisoner = PrisonerFactory(site=site)
        LetterFactory(prisoner=prisoner, contact=ContactFactory(prisoner=prisoner))
    LetterFactory(prisoner=PrisonerFactory(site=other_site))


@pytest.mark.parametrize("client_fixture", ["guard_client", "supervisor_client"])
def test_desk_costs_the_same_for_5_and_50_items(request, site, other_site, client_fixture):
    client = request.getfixturevalue(client_fixture)
    url = reverse("letters:desk")
    _items(5, site, other_site)
    few = queries_for(client, url)
    _items(45, site, other_site)
    many = queries_for(client, url)
    assert len(many) == len(few), "\n".join(many)
    assert len(client.get(url).context["rows"]) == 50


@pytest.mark.parametrize("client_fixture", ["guard_client", "supervisor_client"])
def test_register_costs_the_same_for_5_and_50_items(request, prisoner, client_fixture):
    client = request.getfixturevalue(client_fixture)
    url = reverse("letters:prisoner-register", args=[prisoner.pk])
    contacts = ContactFactory.create_batch(2, prisoner=prisoner)
    LetterFactory.create_batch(5, prisoner=prisoner, contact=contacts[0])
    few = queries_for(client, url)
    LetterFactory.create_batch(45, prisoner=prisoner, contact=contacts[1])
    many = queries_for(client, url)
    assert len(many) == len(few), "\n".join(many)
    assert len(client.get(url).context["rows"]) == 50


def test_overdue_page_costs_the_same_for_5_and_50_prisoners(guard_client, site, other_site):
    url = reverse("letters:capture-card-overdue")
    PrisonerFactory.create_batch(5, site=site)
    PrisonerFactory(site=other_site)
    few = queries_for(guard_client, url)
    PrisonerFactory.create_batch(45, site=site)
    many = queries_for(guard_client, url)
    assert len(many) == len(few), "\n".join(many)
    assert len(guard_client.get(url).context["rows"]) == 50


def test_detail_costs_the_same_for_1_and_10_amendments(supervisor_client, supervisor, letter, site):
    url = reverse("letters:letter-detail", args=[letter.pk])
    services.amend_letter(letter=letter, changes={"notes": "0"}, reason="x", actor=supervisor)
    one = queries_for(supervisor_client, url)
    for number in range(1, 10):
        moved_to = PrisonerFactory(site=site)
        services.amend_letter(
            letter=letter,
            changes={"notes": str(number), "prisoner_id": moved_to.pk},
            reason="x",
            actor=supervisor,
        )
    ten = queries_for(supervisor_client, url)
    assert len(ten) == len(one), "\n".join(ten)
