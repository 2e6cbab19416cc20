"""Booking a slot by picking a prisoner found by name, in Cyrillic or Latin script.

The candidates show whether the rules let each call on the slot's day; picking one
books through the same service, refused by the same rules as booking by ISN.
"""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.models import Booking, CallPolicy, Suspension
from prisoners.models import Prisoner
from tests.factories import CallSlotFactory, ContactFactory, LineFactory, PrisonerFactory

DAY = datetime.timedelta(days=1)


def at(site, day, hour=10):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=site.zone)


@pytest.fixture
def tomorrow(site):
    return site.today() + DAY


@pytest.fixture
def slot(site, tomorrow):
    return CallSlotFactory(line=LineFactory(site=site, name="Line 1"), starts_at=at(site, tomorrow))


def eligible(site, staff, **names):
    prisoner = PrisonerFactory(site=site, **names)
    ContactFactory(prisoner=prisoner, requested_by=staff)
    return prisoner


@pytest.fixture
def taras(site, supervisor):
    return eligible(site, supervisor, surname="Шевченко", first_names="Тарас")


def search(client, slot, text):
    return client.get(reverse("calls:slot-book", args=[slot.pk]), {"q": text})


def found(response):
    return [candidate["prisoner"].isn for candidate in response.context["candidates"]]


@pytest.mark.parametrize("text", ["Шевч", "shevchenko", "Тарас Шевченко", "TARAS"])
def test_finds_prisoners_by_name_in_either_script(supervisor_client, slot, taras, text):
    response = search(supervisor_client, slot, text)
    assert response.status_code == 200
    assert found(response) == [taras.isn]
    html = response.content.decode()
    assert "Шевченко Тарас Іванович" in html
    assert 'name="isn" value="' + taras.isn + '"' in html


def test_another_sites_namesake_is_not_found(supervisor_client, slot, taras, other_site):
    eligible(other_site, taras.contacts.get().requested_by, surname="Шевченко")
    assert found(search(supervisor_client, slot, "Шевченко")) == [taras.isn]


def test_nobody_found_says_so(supervisor_client, slot, taras):
    response = search(supervisor_client, slot, "Франко")
    assert found(response) == []
    assert "No prisoner held at this site matches “Франко”." in response.content.decode()


def test_candidates_show_whether_the_rules_let_them_call(
    site, supervisor, supervisor_client, slot, taras, tomorrow
):
    held = eligible(site, supervisor, surname="Шевчук", first_names="Іван")
    Suspension.objects.create(
        prisoner=held,
        reason=Suspension.Reason.SECURITY_INVESTIGATION,
        authority="Investigator Koval",
        starts_on=site.today(),
        ends_on=tomorrow + 3 * DAY,
        created_by=supervisor,
    )
    moved = eligible(site, supervisor, surname="Шевчишин", first_names="Дмитро")
    Prisoner.objects.filter(pk=moved.pk).update(status=Prisoner.Status.TRANSFERRED)
    response = search(supervisor_client, slot, "Шевч")
    by_isn = {c["prisoner"].isn: c["refusals"] for c in response.context["candidates"]}
    assert by_isn == {
        taras.isn: [],
        held.isn: [
            "Calls are suspended (Security investigation, Investigator Koval). "
            f"Eligible from {(tomorrow + 4 * DAY):%d.%m.%Y}."
        ],
        moved.isn: ["The prisoner is not interned (status: Transferred)."],
    }
    html = response.content.decode()
    assert html.count("not eligible") == 2
    assert "Investigator Koval" in html


def test_picking_a_candidate_books_through_the_service(
    site, supervisor, supervisor_client, slot, taras, tomorrow
):
    response = supervisor_client.post(
        reverse("calls:slot-book", args=[slot.pk]), {"isn": taras.isn, "q": "Тарас"}
    )
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert (booking.slot, booking.prisoner, booking.booked_by) == (slot, taras, supervisor)


def test_picking_an_ineligible_candidate_is_refused_by_the_same_rules(
    site, supervisor, supervisor_client, slot, taras, tomorrow
):
    CallPolicy.objects.create(site=site, effective_from=site.today(), calls_open=False)
    listed = search(supervisor_client, slot, "Тарас").context["candidates"][0]
    assert listed["refusals"] == ["The call programme is closed at this site."]
    assert listed["overridable"] is True
    url = reverse("calls:slot-book", args=[slot.pk])
    by_isn = supervisor_client.post(url, {"isn": taras.isn})
    picked = supervisor_client.post(url, {"isn": taras.isn, "q": "Тарас"})
    assert picked.status_code == 200
    refusals = picked.context["form"].non_field_errors()
    assert refusals == by_isn.context["form"].non_field_errors()
    assert "The call programme is closed at this site." in refusals
    assert picked.context["override_may_help"] is True
    # The page keeps the search, so the supervisor sees the candidates again.
    assert found(picked) == [taras.isn]
    assert not Booking.objects.exists()


def test_guard_finds_a_withheld_prisoner_only_by_what_may_be_shown(
    site, supervisor, guard_client, supervisor_client, slot
):
    CallPolicy.objects.create(site=site, effective_from=site.today(), guards_may_book=True)
    hidden = eligible(
        site,
        supervisor,
        identity=Prisoner.Identity.WITHHELD,
        surname="Засекреченко",
        first_names="Мирон",
    )
    assert found(search(guard_client, slot, "Засекреченко")) == []
    response = search(guard_client, slot, "Мирон")
    assert found(response) == [hidden.isn]
    assert "Засекреченко" not in response.content.decode()
    assert found(search(supervisor_client, slot, "Засекреченко")) == [hidden.isn]


def test_at_most_ten_candidates_with_a_bounded_number_of_queries(
    site, supervisor, supervisor_client, slot
):
    """One query for the prisoners, then the rules' reading of them all
    (``rules.refusals_of``): one candidate costs what ten or fifteen do."""

    def queries(text):
        with CaptureQueriesContext(connection) as captured:
            response = search(supervisor_client, slot, text)
        return len(captured), response

    base, _response = queries("")
    eligible(site, supervisor, surname="Бондар")
    one, _response = queries("Бондар")
    for _n in range(9):
        eligible(site, supervisor, surname="Бондар")
    ten, response = queries("Бондар")
    assert len(found(response)) == 10
    assert response.context["more_candidates"] is False
    for _n in range(5):
        eligible(site, supervisor, surname="Бондар")
    fifteen, response = queries("Бондар")
    assert len(found(response)) == 10
    assert response.context["more_candidates"] is True
    assert "more match: type more of the name" in response.content.decode()
    assert fifteen == ten == one
    # The candidates and the rules' reading of them.
    assert one - base == 2


def focused_on_load(response) -> list[str]:
    """The names of the fields the page puts the cursor in."""
    html = response.content.decode()
    return re.findall(r'<(?:input|textarea)[^>]* name="(\w+)"[^>]*\sautofocus', html)


def test_the_cursor_starts_where_the_page_needs_the_user(
    site, supervisor_client, slot, taras, tomorrow
):
    """The search first; after a refusal none, so that the alert at the top is in
    view; on a mistyped ISN, the ISN."""
    assert focused_on_load(search(supervisor_client, slot, "Тарас")) == ["q"]
    CallPolicy.objects.create(site=site, effective_from=site.today(), calls_open=False)
    url = reverse("calls:slot-book", args=[slot.pk])
    refused = supervisor_client.post(url, {"isn": taras.isn, "q": "Тарас"})
    assert refused.context["form"].non_field_errors()
    assert focused_on_load(refused) == []
    mistyped = supervisor_client.post(url, {"isn": "NC-99999"})
    assert mistyped.context["form"].errors["isn"]
    assert focused_on_load(mistyped) == ["isn"]
