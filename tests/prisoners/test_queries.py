"""The registry pages run a fixed number of queries, however much they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prisoners import services
from prisoners.models import Prisoner
from tests.factories import ContactFactory, PrisonerFactory


def queries_for(client, url) -> list[str]:
    client.get(url)  # warm up: the first request of a session may cost more
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("client_fixture", ["guard_client", "supervisor_client"])
def test_list_page_costs_the_same_for_5_and_50_prisoners(request, site, client_fixture):
    client = request.getfixturevalue(client_fixture)
    url = reverse("prisoners:prisoner-list")
    PrisonerFactory.create_batch(4, site=site)
    PrisonerFactory(site=site, identity=Prisoner.Identity.WITHHELD)
    few = queries_for(client, url)
    PrisonerFactory.create_batch(40, site=site, housing_unit="B3")
    PrisonerFactory.create_batch(5, site=site, identity=Prisoner.Identity.WITHHELD)
    many = queries_for(client, url)
    assert len(many) == len(few), "\n".join(many)
    assert len(client.get(url).context["rows"]) == 50


def test_searching_costs_no_more_than_listing(supervisor_client, site):
    PrisonerFactory.create_batch(10, site=site)
    url = reverse("prisoners:prisoner-list")
    listing = queries_for(supervisor_client, url)
    search = queries_for(supervisor_client, f"{url}?q=Oleksandr&status=interned&housing_unit=B1")
    assert len(search) == len(listing)


@pytest.mark.parametrize("client_fixture", ["guard_client", "supervisor_client"])
def test_detail_page_costs_the_same_for_1_and_10_contacts(
    request, site, supervisor, client_fixture, today
):
    client = request.getfixturevalue(client_fixture)
    prisoner = PrisonerFactory(site=site)
    ContactFactory(prisoner=prisoner, requested_by=supervisor)
    url = reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    one = queries_for(client, url)
    ContactFactory.create_batch(4, prisoner=prisoner, requested_by=supervisor)
    ContactFactory.create_batch(
        5,
        prisoner=prisoner,
        requested_by=supervisor,
        status="pending",
        decided_by=None,
        decided_at=None,
    )
    services.update_prisoner(prisoner=prisoner, actor=supervisor, housing_unit="B6")
    services.change_status(
        prisoner=prisoner, status="in_hospital", effective_on=today, note="", actor=supervisor
    )
    ten = queries_for(client, url)
    assert len(ten) == len(one), "\n".join(ten)
    assert len(client.get(url).context["contact_rows"]) == 10
