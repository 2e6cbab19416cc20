import io
from random import Random

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from camp.models import AuditEntry, Site, User
from camp.roles import Role, roles_of
from prisoners.demo import seed_prisoners
from prisoners.models import Contact, Prisoner, StatusChange

PASSWORDS = {
    "guard": "guard-demo-2026",
    "supervisor": "supervisor-demo-2026",
    "administrator": "admin-demo-2026!",
}


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def rows() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Prisoner, Contact, StatusChange, AuditEntry, User)
    }


def test_seed_demo_creates_prisoners_and_one_account_per_role(db):
    output = seed("--prisoners", "12")
    site = Site.objects.get(code="MC")
    assert site.prisoners.count() == 12
    assert Contact.objects.filter(prisoner__site=site).exists()
    for username, password in PASSWORDS.items():
        user = User.objects.get(username=username)
        assert roles_of(user) == {Role(username)}
        assert list(user.sites.all()) == [site]
        assert Client().login(username=username, password=password)
        assert f"{username} / {password}" in output
    assert "12/12" in output


def test_second_run_creates_nothing_and_still_prints_the_accounts(db):
    seed("--prisoners", "5")
    before = rows()
    output = seed("--prisoners", "5")
    assert rows() == before
    assert "already has prisoners" in output
    assert "supervisor / supervisor-demo-2026" in output


def test_existing_accounts_are_left_alone(db):
    User.objects.create_user("guard", password="someone-elses-password")
    seed("--prisoners", "1")
    assert User.objects.get(username="guard").check_password("someone-elses-password")


def test_seed_demo_refuses_a_nonsense_count(db):
    with pytest.raises(CommandError, match="at least 1"):
        seed("--prisoners", "0")
    assert not Prisoner.objects.exists()


def test_demo_prisoners_keep_every_registry_rule(db, supervisor):
    site = Site.objects.get(code="MC")
    prisoners = seed_prisoners(site=site, actor=supervisor, count=80, random=Random(7))
    identities = {p.identity for p in prisoners}
    assert identities == set(Prisoner.Identity.values)
    assert [p.isn for p in prisoners] == [f"MC-{n:05d}" for n in range(1, 81)]
    for prisoner in prisoners:
        contacts = list(prisoner.contacts.all())
        assert 1 <= len(contacts) <= 3
        for contact in contacts:
            assert phonenumbers.is_valid_number(phonenumbers.parse(contact.phone_number))
    assert StatusChange.objects.exclude(status=Prisoner.Status.INTERNED).exists()
    assert Prisoner.objects.filter(surname_latin__gt="").count() > 0
