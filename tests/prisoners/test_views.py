"""Each form's rejections, through the pages: the message beside its field, nothing written."""

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from camp.models import AuditEntry
from prisoners import services
from prisoners.models import MAX_APPROVED_CONTACTS, Contact, Prisoner
from tests.factories import ContactFactory, PrisonerFactory

DAY = datetime.timedelta(days=1)


def assert_error_beside(response, field: str, message: str) -> None:
    """``message`` is rendered in the error block that belongs to the input ``field``."""
    assert response.status_code == 200
    html = response.content.decode()
    pattern = rf'id="error_\d+_id_{re.escape(field)}"><strong>{re.escape(escape(message))}</strong>'
    assert re.search(pattern, html), f"no error {message!r} beside {field!r}"
    assert re.search(rf'aria-describedby="[^"]*\bid_{re.escape(field)}_error\b', html)


def success_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "success"]


def registration(at_site, **overrides) -> dict:
    data = {
        "site": at_site.pk,
        "identity": "full",
        "surname": "Коваленко",
        "first_names": "Іван",
        "patronymic": "Петрович",
        "alias": "",
        "rank": "Private",
        "service_number": "AB-123456",
        "date_of_birth": "1990-05-17",
        "place_of_birth": "Kursk",
        "power_depends_on": "Russian Federation",
        "father_first_name": "Петро",
        "mother_maiden_name": "Сидоренко",
        "person_to_inform": "Олена Коваленко",
        "person_to_inform_address": "Kursk",
        "captured_on": "2026-03-01",
        "arrived_on": "2026-03-05",
        "housing_unit": "B2",
        "languages": "ru, uk",
    }
    data.update(overrides)
    return data


def contact_data(**overrides) -> dict:
    data = {
        "name": "Олена",
        "relationship": "wife",
        "phone_number": "+7 912 345-67-89",
        "city": "Kursk",
        "region": "Kursk oblast",
        "country": "ru",
        "language": "ru",
    }
    data.update(overrides)
    return data


# --- Registration -------------------------------------------------------------------------


def test_supervisor_registers_a_prisoner(supervisor_client, site):
    response = supervisor_client.post(reverse("prisoners:prisoner-create"), registration(site))
    prisoner = Prisoner.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    assert prisoner.isn == "NC-00001"
    assert prisoner.languages == ["ru", "uk"]
    assert prisoner.surname_latin == "Kovalenko"
    assert success_messages(response) == ["Коваленко Іван Петрович is registered as NC-00001."]


def test_registration_page_offers_only_the_users_sites(supervisor_client, site, other_site):
    response = supervisor_client.get(reverse("prisoners:prisoner-create"))
    html = response.content.decode()
    for field in ["site", *services.REGISTRATION_FIELDS]:
        assert f'name="{field}"' in html
    assert other_site.name not in html
    assert list(response.context["form"].fields["site"].queryset) == [site]
    refused = supervisor_client.post(
        reverse("prisoners:prisoner-create"), registration(site, site=other_site.pk)
    )
    assert "site" in refused.context["form"].errors
    assert not Prisoner.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"date_of_birth": "2099-01-01"},
            "date_of_birth",
            "The date of birth must be in the past.",
        ),
        (
            {"captured_on": "2026-03-06"},
            "captured_on",
            "The date of capture cannot be after the arrival date.",
        ),
        ({"arrived_on": "2099-01-01"}, "arrived_on", "The arrival date cannot be in the future."),
        ({"surname": ""}, "surname", "A full identity needs the surname."),
        (
            {"identity": "withheld", "first_names": "", "alias": ""},
            "alias",
            "A withheld identity needs a first name or an alias to show.",
        ),
        ({"date_of_birth": "17.05.1990x"}, "date_of_birth", "Enter a valid date."),
    ],
)
def test_refused_registration_shows_the_error_beside_the_field(
    supervisor_client, site, snapshot, overrides, field, message
):
    before = snapshot()
    response = supervisor_client.post(
        reverse("prisoners:prisoner-create"), registration(site, **overrides)
    )
    assert_error_beside(response, field, message)
    assert snapshot() == before


def test_registry_error_from_the_service_lands_beside_its_field(
    supervisor_client, site, snapshot, monkeypatch
):
    """A rule the form did not check (say, a race) still reaches the page, not a 500."""

    def refuse(**kwargs):
        raise services.RegistryError({"housing_unit": "Unit B2 is full."})

    monkeypatch.setattr(services, "register_prisoner", refuse)
    before = snapshot()
    response = supervisor_client.post(reverse("prisoners:prisoner-create"), registration(site))
    assert_error_beside(response, "housing_unit", "Unit B2 is full.")
    assert snapshot() == before


def test_supervisor_edits_the_registration(supervisor_client, site, prisoner):
    response = supervisor_client.get(reverse("prisoners:prisoner-edit", args=[prisoner.pk]))
    assert response.status_code == 200
    assert "site" not in response.context["form"].fields
    html = response.content.decode()
    for field in services.REGISTRATION_FIELDS:
        assert f'name="{field}"' in html
    assert 'value="Петренко"' in html
    data = registration(
        site, surname="Бондаренко", captured_on="2026-01-02", arrived_on="2026-01-10"
    )
    response = supervisor_client.post(reverse("prisoners:prisoner-edit", args=[prisoner.pk]), data)
    assert response.status_code == 302
    prisoner.refresh_from_db()
    assert (prisoner.surname, prisoner.surname_latin) == ("Бондаренко", "Bondarenko")
    assert prisoner.site == site
    entry = AuditEntry.objects.get(action="prisoners.prisoner.updated")
    assert entry.data["surname"] == {"from": "Петренко", "to": "Бондаренко"}
    assert success_messages(response) == [f"The registration of {prisoner.isn} is saved."]


def test_refused_edit_writes_nothing(supervisor_client, site, prisoner, snapshot):
    before = snapshot()
    response = supervisor_client.post(
        reverse("prisoners:prisoner-edit", args=[prisoner.pk]),
        registration(site, captured_on="2026-02-01", arrived_on="2026-01-10"),
    )
    assert_error_beside(
        response, "captured_on", "The date of capture cannot be after the arrival date."
    )
    assert snapshot() == before
    # The page still names the prisoner as registered, not as typed.
    assert response.context["prisoner"].captured_on == datetime.date(2026, 1, 2)


# --- Status ---------------------------------------------------------------------------------


def test_supervisor_changes_the_status(supervisor_client, prisoner, today):
    response = supervisor_client.post(
        reverse("prisoners:prisoner-status", args=[prisoner.pk]),
        {"status": "in_hospital", "effective_on": today.isoformat(), "note": "Ward 3"},
    )
    assert response.status_code == 302
    prisoner.refresh_from_db()
    assert prisoner.status == Prisoner.Status.IN_HOSPITAL
    assert prisoner.status_changes.get().note == "Ward 3"
    assert success_messages(response) == [
        f"The status of {prisoner.isn} is now “In hospital”, from {today:%d.%m.%Y}."
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"status": "in_hospital", "days": 1},
            "effective_on",
            "A status change cannot take effect in the future.",
        ),
        ({"status": "in_hospital", "days": None}, "effective_on", "This field is required."),
        (
            {"status": "interned", "days": 0},
            "status",
            "Select a valid choice. interned is not one of the available choices.",
        ),
    ],
)
def test_refused_status_change_shows_the_error_beside_the_field(
    supervisor_client, prisoner, today, snapshot, data, field, message
):
    before = snapshot()
    days = data["days"]
    response = supervisor_client.post(
        reverse("prisoners:prisoner-status", args=[prisoner.pk]),
        {
            "status": data["status"],
            "effective_on": "" if days is None else (today + days * DAY).isoformat(),
            "note": "",
        },
    )
    assert_error_beside(response, field, message)
    assert snapshot() == before
    assert b'<details class="card no-print" open>' in response.content


def test_status_change_before_the_last_one_is_refused(
    supervisor_client, supervisor, prisoner, today, snapshot
):

    services.change_status(
        prisoner=prisoner, status="in_hospital", effective_on=today, note="", actor=supervisor
    )
    before = snapshot()
    response = supervisor_client.post(
        reverse("prisoners:prisoner-status", args=[prisoner.pk]),
        {"status": "interned", "effective_on": (today - 2 * DAY).isoformat(), "note": ""},
    )
    assert_error_beside(
        response,
        "effective_on",
        f"The last change took effect on {today:%d.%m.%Y}; this one cannot be earlier.",
    )
    assert snapshot() == before


# --- Contacts -------------------------------------------------------------------------------


def test_guard_adds_a_contact_in_e164_pending_approval(guard_client, guard, prisoner):
    url = reverse("prisoners:contact-add", args=[prisoner.pk])
    assert guard_client.get(url).status_code == 200
    response = guard_client.post(url, contact_data(phone_number="8 (912) 345-67-89"))
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.phone_number, contact.country, contact.status) == (
        "+79123456789",
        "RU",
        Contact.Status.PENDING,
    )
    assert contact.requested_by == guard
    assert success_messages(response) == [
        "The contact +7 912 345-67-89 is added; it waits for a supervisor's approval."
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"phone_number": "12345"}, "phone_number", "“12345” is not a valid phone number."),
        ({"phone_number": "call me"}, "phone_number", "“call me” is not a phone number."),
        ({"phone_number": ""}, "phone_number", "This field is required."),
        ({"country": "XX"}, "country", "“XX” is not a country code."),
        (
            {"relationship": "boss"},
            "relationship",
            "Select a valid choice. boss is not one of the available choices.",
        ),
    ],
)
def test_refused_contact_shows_the_error_beside_the_field(
    guard_client, prisoner, snapshot, overrides, field, message
):
    before = snapshot()
    response = guard_client.post(
        reverse("prisoners:contact-add", args=[prisoner.pk]), contact_data(**overrides)
    )
    assert_error_beside(response, field, message)
    assert snapshot() == before


def test_same_number_twice_is_refused_beside_the_number(guard_client, prisoner, snapshot):
    ContactFactory(prisoner=prisoner, phone_number="+79123456789")
    before = snapshot()
    response = guard_client.post(
        reverse("prisoners:contact-add", args=[prisoner.pk]), contact_data()
    )
    assert_error_beside(
        response, "phone_number", "This prisoner already has this number as a contact."
    )
    assert snapshot() == before


def test_supervisor_approves_a_contact(supervisor_client, supervisor, pending_contact):
    response = supervisor_client.post(
        reverse("prisoners:contact-approve", args=[pending_contact.pk])
    )
    assert response.status_code == 302
    pending_contact.refresh_from_db()
    assert (pending_contact.status, pending_contact.decided_by) == ("approved", supervisor)
    [message] = success_messages(response)
    assert message.endswith(" is approved.")


def test_twenty_first_contact_is_refused_on_its_row(
    supervisor_client, supervisor, prisoner, pending_contact, snapshot
):
    ContactFactory.create_batch(MAX_APPROVED_CONTACTS, prisoner=prisoner, requested_by=supervisor)
    before = snapshot()
    response = supervisor_client.post(
        reverse("prisoners:contact-approve", args=[pending_contact.pk])
    )
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index(f'id="contact-{pending_contact.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "already has 20 approved contacts; revoke one first." in row
    assert snapshot() == before


def test_supervisor_revokes_a_contact_with_a_reason(supervisor_client, prisoner):
    contact = ContactFactory(prisoner=prisoner)
    response = supervisor_client.post(
        reverse("prisoners:contact-revoke", args=[contact.pk]),
        {f"contact-{contact.pk}-reason": "Not a relative."},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.status, contact.revoke_reason) == ("revoked", "Not a relative.")
    assert len(success_messages(response)) == 1


@pytest.mark.parametrize("reason", ["", "   "])
def test_revoke_without_reason_shows_the_error_beside_the_field(
    supervisor_client, prisoner, snapshot, reason
):
    contact = ContactFactory(prisoner=prisoner)
    before = snapshot()
    response = supervisor_client.post(
        reverse("prisoners:contact-revoke", args=[contact.pk]),
        {f"contact-{contact.pk}-reason": reason},
    )
    assert_error_beside(response, f"contact-{contact.pk}-reason", "Give the reason for revoking.")
    assert snapshot() == before


def test_revoking_a_revoked_contact_is_refused_on_its_row(supervisor_client, prisoner, snapshot):
    contact = ContactFactory(prisoner=prisoner, status="revoked", revoke_reason="Gone.")
    before = snapshot()
    response = supervisor_client.post(
        reverse("prisoners:contact-revoke", args=[contact.pk]),
        {f"contact-{contact.pk}-reason": "Again."},
    )
    assert response.status_code == 200
    assert "This contact is already revoked." in response.content.decode()
    assert snapshot() == before


# --- Pages ----------------------------------------------------------------------------------


def test_list_links_each_row_to_its_detail_page(guard_client, prisoner):
    response = guard_client.get(reverse("prisoners:prisoner-list"))
    detail = reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    assert f'<a href="{detail}">{prisoner.isn}</a>' in response.content.decode()


def test_detail_page_shows_registration_history_and_contacts(
    supervisor_client, supervisor, prisoner, pending_contact
):

    services.update_prisoner(prisoner=prisoner, actor=supervisor, housing_unit="B5")
    response = supervisor_client.get(reverse("prisoners:prisoner-detail", args=[prisoner.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "B5" in html
    assert "Registration changed" in html
    assert pending_contact.name in html
    assert reverse("prisoners:contact-approve", args=[pending_contact.pk]) in html
    assert reverse("prisoners:prisoner-status", args=[prisoner.pk]) in html


def test_detail_page_shows_call_suspensions(supervisor_client, supervisor, prisoner):
    from calls.models import Suspension
    from calls.services import suspend_calls

    today = prisoner.site.today()
    suspend_calls(
        prisoner=prisoner,
        reason=Suspension.Reason.SECURITY_INVESTIGATION,
        authority="Investigator Kovalenko",
        document_reference="SB-17/4",
        starts_on=today,
        ends_on=today + 10 * DAY,
        actor=supervisor,
    )
    response = supervisor_client.get(reverse("prisoners:prisoner-detail", args=[prisoner.pk]))
    html = response.content.decode()
    assert "Investigator Kovalenko" in html
    assert "SB-17/4" in html
    assert "in force" in html
    assert reverse("calls:suspension-add", args=[prisoner.pk]) in html


def test_guard_sees_no_decision_or_status_forms(guard_client, prisoner, pending_contact):
    response = guard_client.get(reverse("prisoners:prisoner-detail", args=[prisoner.pk]))
    html = response.content.decode()
    assert reverse("prisoners:contact-approve", args=[pending_contact.pk]) not in html
    assert reverse("prisoners:prisoner-status", args=[prisoner.pk]) not in html
    assert reverse("prisoners:prisoner-edit", args=[prisoner.pk]) not in html
    assert reverse("prisoners:contact-add", args=[prisoner.pk]) in html


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-1",
        "page=999999",
        "site=abc",
        "site=999999",
        "status=vanished",
        "housing_unit=Z9",
        "q=" + "x" * 500,
        "q=%00",
        "q=%25%27%22",
    ],
)
def test_bogus_list_parameters_are_not_an_error(supervisor_client, prisoner, query):
    response = supervisor_client.get(f"{reverse('prisoners:prisoner-list')}?{query}")
    assert response.status_code == 200


def test_a_bogus_filter_keeps_the_valid_ones(supervisor_client, site):
    PrisonerFactory(site=site, housing_unit="B1", surname="Дорошенко")
    PrisonerFactory(site=site, housing_unit="B2", surname="Дорошенко")
    response = supervisor_client.get(
        reverse("prisoners:prisoner-list"), {"housing_unit": "B1", "status": "vanished"}
    )
    assert [row["prisoner"].housing_unit for row in response.context["rows"]] == ["B1"]


def test_an_unknown_prisoner_is_not_found(supervisor_client, db):
    for name in ("prisoner-detail", "prisoner-edit", "contact-add"):
        assert supervisor_client.get(reverse(f"prisoners:{name}", args=[999999])).status_code == 404
    huge = reverse("prisoners:prisoner-detail", args=[10**30])
    assert supervisor_client.get(huge).status_code == 404


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("prisoners:prisoner-status", "prisoner"),
        ("prisoners:contact-approve", "contact"),
        ("prisoners:contact-revoke", "contact"),
    ],
)
def test_changes_are_post_only(supervisor_client, prisoner, pending_contact, name, target):
    pk = prisoner.pk if target == "prisoner" else pending_contact.pk
    response = supervisor_client.get(reverse(name, args=[pk]))
    assert response.status_code == 405
    pending_contact.refresh_from_db()
    assert pending_contact.status == Contact.Status.PENDING


def test_saving_an_unchanged_registration_writes_nothing(supervisor_client, prisoner, snapshot):
    form = supervisor_client.get(reverse("prisoners:prisoner-edit", args=[prisoner.pk])).context[
        "form"
    ]
    data = {name: form[name].value() for name in form.fields}
    data = {name: "" if value is None else value for name, value in data.items()}
    before = snapshot()
    response = supervisor_client.post(reverse("prisoners:prisoner-edit", args=[prisoner.pk]), data)
    assert response.status_code == 302
    assert snapshot() == before
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Nothing was changed."]
