import datetime

import pytest
from django.urls import reverse

from camp.models import AuditEntry
from prisoners import services
from prisoners.models import MAX_APPROVED_CONTACTS, Contact, Prisoner
from prisoners.services import RegistryError
from tests.factories import ContactFactory, PrisonerFactory

DAY = datetime.timedelta(days=1)


def register(site, actor, **fields):
    values = {
        "surname": "Шевченко",
        "first_names": "Олександр",
        "patronymic": "Іванович",
        "arrived_on": datetime.date(2026, 3, 1),
        "captured_on": datetime.date(2026, 2, 20),
    }
    values.update(fields)
    return services.register_prisoner(site=site, actor=actor, **values)


def add_contact(prisoner, actor, **fields):
    values = {
        "name": "Олена",
        "relationship": Contact.Relationship.WIFE,
        "phone_number": "+7 912 345-67-89",
        "country": "RU",
    }
    values.update(fields)
    return services.add_contact(prisoner=prisoner, actor=actor, **values)


def test_isn_is_issued_per_site_with_its_prefix_in_order(site, other_site, supervisor):
    first = register(site, supervisor)
    second = register(site, supervisor)
    elsewhere = register(other_site, supervisor)
    assert [first.isn, second.isn, elsewhere.isn] == ["NC-00001", "NC-00002", "SC-00001"]


def test_registration_stores_the_latin_spelling(site, supervisor):
    ukrainian = register(site, supervisor, surname="Шевченко", first_names="Олександр")
    russian = register(site, supervisor, surname="Кузнецов", first_names="Александр")
    assert (ukrainian.surname_latin, ukrainian.first_names_latin) == ("Shevchenko", "Oleksandr")
    assert (russian.surname_latin, russian.first_names_latin) == ("Kuznetsov", "Aleksandr")
    assert ukrainian.patronymic_latin == "Ivanovich"


def test_registration_opens_the_status_history_and_is_audited(site, supervisor):
    prisoner = register(site, supervisor)
    [change] = prisoner.status_changes.all()
    assert (change.status, change.effective_on) == (Prisoner.Status.INTERNED, prisoner.arrived_on)
    assert AuditEntry.objects.get().action == "prisoners.prisoner.registered"


def test_update_keeps_old_and_new_values_and_transliterates_again(site, supervisor):
    prisoner = register(site, supervisor)
    services.update_prisoner(prisoner=prisoner, actor=supervisor, surname="Бондаренко")
    prisoner.refresh_from_db()
    assert prisoner.surname_latin == "Bondarenko"
    entry = AuditEntry.objects.get(action="prisoners.prisoner.updated")
    assert entry.data == {"surname": {"from": "Шевченко", "to": "Бондаренко"}}


def test_status_changes_are_kept_as_a_dated_history(site, supervisor, today):
    prisoner = register(site, supervisor)
    services.change_status(
        prisoner=prisoner,
        status=Prisoner.Status.IN_HOSPITAL,
        effective_on=today - 3 * DAY,
        note="Military hospital.",
        actor=supervisor,
    )
    services.change_status(
        prisoner=prisoner,
        status=Prisoner.Status.INTERNED,
        effective_on=today,
        note="Back.",
        actor=supervisor,
    )
    prisoner.refresh_from_db()
    assert prisoner.status == Prisoner.Status.INTERNED
    assert [c.status for c in prisoner.status_changes.all()] == [
        "interned",
        "in_hospital",
        "interned",
    ]
    assert AuditEntry.objects.filter(action="prisoners.prisoner.status_changed").count() == 2


def test_contact_number_is_stored_in_e164_and_waits_for_approval(site, guard):
    prisoner = PrisonerFactory(site=site)
    contact = add_contact(prisoner, guard, phone_number="+7 (912) 345-67-89")
    assert (contact.phone_number, contact.status) == ("+79123456789", Contact.Status.PENDING)


def test_twenty_first_approved_contact_is_refused(site, supervisor, snapshot):
    prisoner = PrisonerFactory(site=site)
    ContactFactory.create_batch(MAX_APPROVED_CONTACTS, prisoner=prisoner)
    extra = add_contact(prisoner, supervisor)
    before = snapshot()
    with pytest.raises(RegistryError, match="already has 20 approved contacts"):
        services.approve_contact(contact=extra, actor=supervisor)
    assert snapshot() == before
    extra.refresh_from_db()
    assert extra.status == Contact.Status.PENDING


def test_revoking_one_makes_room_for_another(site, supervisor):
    prisoner = PrisonerFactory(site=site)
    first, *_ = ContactFactory.create_batch(MAX_APPROVED_CONTACTS, prisoner=prisoner)
    extra = add_contact(prisoner, supervisor)
    services.revoke_contact(contact=first, reason="Not a relative.", actor=supervisor)
    services.approve_contact(contact=extra, actor=supervisor)
    assert Contact.objects.approved().filter(prisoner=prisoner).count() == MAX_APPROVED_CONTACTS


def test_approval_records_who_and_when(site, supervisor, guard):
    contact = add_contact(PrisonerFactory(site=site), guard)
    services.approve_contact(contact=contact, actor=supervisor)
    contact.refresh_from_db()
    assert contact.status == Contact.Status.APPROVED
    assert contact.decided_by == supervisor
    assert contact.decided_at is not None
    assert AuditEntry.objects.filter(action="prisoners.contact.approved").count() == 1


@pytest.mark.parametrize("status", [Contact.Status.APPROVED, Contact.Status.REVOKED])
def test_only_a_pending_contact_can_be_approved(site, supervisor, snapshot, status):
    contact = ContactFactory(prisoner__site=site, status=status, revoke_reason="Reason.")
    before = snapshot()
    with pytest.raises(RegistryError, match="Only a pending contact"):
        services.approve_contact(contact=contact, actor=supervisor)
    assert snapshot() == before


def test_revoking_needs_a_reason(site, supervisor, snapshot):
    contact = ContactFactory(prisoner__site=site)
    before = snapshot()
    with pytest.raises(RegistryError) as refusal:
        services.revoke_contact(contact=contact, reason="   ", actor=supervisor)
    assert refusal.value.message_dict == {"reason": ["Give the reason for revoking."]}
    assert snapshot() == before


def test_a_revoked_contact_cannot_be_revoked_again(site, supervisor, snapshot):
    contact = ContactFactory(
        prisoner__site=site, status=Contact.Status.REVOKED, revoke_reason="First reason."
    )
    before = snapshot()
    with pytest.raises(RegistryError, match="already revoked"):
        services.revoke_contact(contact=contact, reason="Second reason.", actor=supervisor)
    assert snapshot() == before


def test_revoking_keeps_the_reason(site, supervisor):
    contact = ContactFactory(prisoner__site=site)
    services.revoke_contact(contact=contact, reason="  Not a relative. ", actor=supervisor)
    contact.refresh_from_db()
    assert (contact.status, contact.revoke_reason) == (Contact.Status.REVOKED, "Not a relative.")
    assert AuditEntry.objects.get(action="prisoners.contact.revoked").data == {
        "reason": "Not a relative."
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"date_of_birth": datetime.date(2099, 1, 1)}, "date_of_birth"),
        ({"arrived_on": datetime.date(2099, 1, 1)}, "arrived_on"),
        ({"captured_on": datetime.date(2026, 3, 2)}, "captured_on"),
        ({"surname": ""}, "surname"),
        ({"identity": Prisoner.Identity.FIRST_NAME_ONLY, "first_names": ""}, "first_names"),
        ({"identity": Prisoner.Identity.ALIAS, "alias": ""}, "alias"),
        ({"identity": Prisoner.Identity.WITHHELD, "first_names": "", "alias": ""}, "alias"),
    ],
)
def test_refused_registration_writes_nothing(site, supervisor, snapshot, fields, field):
    before = snapshot()
    with pytest.raises(RegistryError) as refusal:
        register(site, supervisor, **fields)
    assert field in refusal.value.message_dict
    assert snapshot() == before


def test_refused_update_writes_nothing(site, supervisor, snapshot):
    prisoner = register(site, supervisor)
    before = snapshot()
    with pytest.raises(RegistryError):
        services.update_prisoner(
            prisoner=prisoner, actor=supervisor, captured_on=datetime.date(2026, 3, 5)
        )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("status", "days_from_today", "field"),
    [
        (Prisoner.Status.INTERNED, 0, "status"),
        (Prisoner.Status.IN_HOSPITAL, 1, "effective_on"),
        (Prisoner.Status.IN_HOSPITAL, -400, "effective_on"),
    ],
)
def test_refused_status_change_writes_nothing(
    site, supervisor, snapshot, today, status, days_from_today, field
):
    prisoner = register(site, supervisor)
    before = snapshot()
    with pytest.raises(RegistryError) as refusal:
        services.change_status(
            prisoner=prisoner,
            status=status,
            effective_on=today + days_from_today * DAY,
            note="",
            actor=supervisor,
        )
    assert field in refusal.value.message_dict
    assert snapshot() == before


@pytest.mark.parametrize("number", ["hello", "+7 912", "+380 00 000 00 00"])
def test_refused_contact_writes_nothing(site, guard, snapshot, number):
    prisoner = PrisonerFactory(site=site)
    before = snapshot()
    with pytest.raises(RegistryError, match="phone number"):
        add_contact(prisoner, guard, phone_number=number)
    assert snapshot() == before


def test_same_live_number_twice_is_refused_and_writes_nothing(site, guard, snapshot):
    prisoner = PrisonerFactory(site=site)
    add_contact(prisoner, guard, phone_number="+79123456789")
    before = snapshot()
    with pytest.raises(RegistryError) as refusal:
        add_contact(prisoner, guard, phone_number="8 912 345 67 89", country="RU")
    assert "phone_number" in refusal.value.message_dict
    assert snapshot() == before


def test_the_registration_entry_is_worded_in_the_readers_language(
    site, guard, supervisor, supervisor_client
):
    """Nothing of the registrar's language is stored: each reader sees his own."""
    prisoner = register(site, guard)
    (registration,) = prisoner.status_changes.all()
    assert registration.note == ""
    services.change_status(
        prisoner=prisoner,
        status=Prisoner.Status.IN_HOSPITAL,
        effective_on=datetime.date(2026, 3, 5),
        note="",
        actor=supervisor,
    )
    page = reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    assert supervisor_client.get(page).content.decode().count("Registered on arrival.") == 1
    supervisor.language = "uk"
    supervisor.save(update_fields=["language"])
    assert "Зареєстровано після прибуття." in supervisor_client.get(page).content.decode()
