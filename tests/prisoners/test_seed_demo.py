import datetime
import io
from random import Random

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from calls import demo as calls_demo
from calls.models import Amendment, Booking, Call, CallSlot, Line
from camp.models import AuditEntry, Site, User
from camp.roles import Role, roles_of
from prisoners.demo import Progress, seed_prisoners
from prisoners.models import Contact, Prisoner, StatusChange

PASSWORDS = {
    "guard": "guard-demo-2026",
    "supervisor": "supervisor-demo-2026",
    "administrator": "admin-demo-2026!",
}


def seed(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rows() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            Prisoner,
            Contact,
            StatusChange,
            AuditEntry,
            User,
            Line,
            CallSlot,
            Booking,
            Call,
            Amendment,
        )
    }


def test_seed_demo_creates_a_camp_and_one_account_per_role(db):
    output, progress = seed("--prisoners", "12", "--weeks", "4")
    site = Site.objects.get(code="MC")
    assert site.prisoners.count() == 12
    assert Contact.objects.filter(prisoner__site=site).exists()
    assert Call.objects.filter(site=site).exists()
    for username, password in PASSWORDS.items():
        user = User.objects.get(username=username)
        assert roles_of(user) == {Role(username)}
        assert list(user.sites.all()) == [site]
        assert Client().login(username=username, password=password)
        assert f"{username} / {password}" in output
    assert "Demo data created." in output
    # One bar on stderr over the whole run, redrawn in place, ending full.
    assert "logbook entries" in progress
    assert progress.replace("\r", "\n").strip().splitlines()[-1].split("|")[0].endswith("100%")


def test_second_run_creates_nothing_and_still_prints_the_accounts(db):
    seed("--prisoners", "5", "--weeks", "2")
    before = rows()
    output, _progress = seed("--prisoners", "5", "--weeks", "2")
    assert rows() == before
    assert "already has prisoners" in output
    assert "supervisor / supervisor-demo-2026" in output


def test_existing_accounts_are_left_alone(db):
    User.objects.create_user("guard", password="someone-elses-password")
    seed("--prisoners", "1", "--weeks", "1")
    assert User.objects.get(username="guard").check_password("someone-elses-password")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--prisoners", "0"], "--prisoners must be at least 1, not 0"),
        (["--prisoners", "-5"], "--prisoners must be at least 1"),
        (["--prisoners", "100000"], "--prisoners must be at most 99999"),
        (["--weeks", "0"], "--weeks must be at least 1, not 0"),
        (["--weeks", "261"], "--weeks must be at most 260"),
        (["--weeks", "many"], "invalid int value"),
    ],
)
def test_seed_demo_refuses_a_bad_argument_and_writes_nothing(db, arguments, message):
    with pytest.raises(CommandError, match=message):
        seed(*arguments)
    assert set(rows().values()) == {0}


def test_a_failure_part_way_leaves_nothing_behind(db, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the line to the coordination office is down")

    monkeypatch.setattr(calls_demo, "seed_calls", broken)
    with pytest.raises(RuntimeError):
        seed("--prisoners", "5", "--weeks", "2")
    assert rows()["Prisoner"] == rows()["User"] == 0
    assert Site.objects.get(code="MC").last_serial == 0


def test_demo_prisoners_keep_every_registry_rule(db, supervisor):
    site = Site.objects.get(code="MC")
    site.last_serial = 5
    site.save()
    today = site.today()
    prisoners = seed_prisoners(site=site, actor=supervisor, count=80, weeks=10, random=Random(7))

    assert {p.identity for p in prisoners} == set(Prisoner.Identity.values)
    # ISNs continue the site's sequence, and its counter is kept in step.
    assert [p.isn for p in prisoners] == [f"MC-{n:05d}" for n in range(6, 86)]
    site.refresh_from_db()
    assert site.last_serial == 85
    stored = {p.pk: p for p in Prisoner.objects.filter(site=site)}
    assert set(stored) == {p.pk for p in prisoners}
    first_day = today - datetime.timedelta(weeks=10)
    arrivals = sorted(p.arrived_on for p in stored.values())
    # Spread over the weeks asked for, a third when the camp opened.
    assert first_day <= arrivals[0] and arrivals[-1] <= today - datetime.timedelta(days=3)
    assert arrivals[-1] - arrivals[0] > datetime.timedelta(weeks=6)
    for prisoner in stored.values():
        assert prisoner.captured_on <= prisoner.arrived_on
        contacts = list(prisoner.contacts.all())
        assert 1 <= len(contacts) <= 3
        for contact in contacts:
            assert phonenumbers.is_valid_number(phonenumbers.parse(contact.phone_number))
            assert contact.requested_at.date() >= prisoner.arrived_on
            if contact.status != Contact.Status.PENDING:
                assert contact.decided_by == supervisor
                assert contact.decided_at >= contact.requested_at
        # The history starts with the arrival and ends with the status the prisoner has.
        history = list(prisoner.status_changes.order_by("effective_on", "recorded_at", "pk"))
        assert (history[0].status, history[0].effective_on) == ("interned", prisoner.arrived_on)
        assert history[-1].status == prisoner.status
        assert all(change.effective_on <= today for change in history)
    assert StatusChange.objects.exclude(status=Prisoner.Status.INTERNED).exists()
    assert Contact.objects.filter(status=Contact.Status.REVOKED).exclude(revoke_reason="").exists()
    assert Prisoner.objects.filter(surname_latin__gt="").count() > 0
    # One audit entry for the step, not one per row.
    assert list(AuditEntry.objects.values_list("action", flat=True)) == [
        "prisoners.prisoner.registered"
    ]


class CountingProgress(Progress):
    def __init__(self):
        self.rows = 0

    def advance(self, rows):
        self.rows += rows


def test_demo_prisoners_report_every_row_to_the_progress_bar(db, supervisor):
    site = Site.objects.get(code="MC")
    progress = CountingProgress()
    seed_prisoners(
        site=site, actor=supervisor, count=1234, weeks=30, random=Random(7), progress=progress
    )
    invented = 1234
    written = sum(model.objects.count() for model in (Prisoner, Contact, StatusChange))
    assert progress.rows == invented + written
