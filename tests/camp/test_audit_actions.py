"""Every action the code records is written by its service, with its actor and target.

``recorded_actions`` reads the action names out of the source: each ``action=``
given to ``audit.record`` outside the tests. The cases below perform each of them
through its service function; a new action without a case fails
``test_every_recorded_action_has_a_case``.
"""

import ast
import datetime
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from calls import exports
from calls import services as calls
from calls.models import Outcome, ScheduleWindow, Suspension
from camp import two_factor
from camp.audit import target_label
from camp.models import AuditEntry, Site, User
from camp.roles import Role, has_role
from letters import services as letters
from prisoners import services as registry
from prisoners.models import Contact, Prisoner
from tests.factories import (
    AirRaidAlertFactory,
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LetterFactory,
    LineFactory,
    PrisonerFactory,
    ScheduleWindowFactory,
    UserFactory,
    login_verified,
)

ROOT = Path(__file__).resolve().parents[2]
# Not application code: tests record made-up actions; the rest holds no Python of ours.
SKIPPED_DIRS = {"tests", "var", "static", "templates", "node_modules"}
MINUTE = datetime.timedelta(minutes=1)
DAY = datetime.timedelta(days=1)


# --- Reading the action names out of the source ---------------------------------------


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _is_audit_record(call: ast.Call) -> bool:
    name = _dotted(call.func)
    return name == "record" or name.endswith("audit.record")


def _action_names(expr: ast.expr, scope: ast.AST, where: str) -> set[str]:
    """The string literals ``expr`` can take: itself, either branch of a conditional,
    or whatever a local variable is assigned in ``scope``."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return _action_names(expr.body, scope, where) | _action_names(expr.orelse, scope, where)
    if isinstance(expr, ast.Name):
        values = [
            node.value
            for node in ast.walk(scope)
            if isinstance(node, ast.Assign)
            and any(
                isinstance(target, ast.Name) and target.id == expr.id for target in node.targets
            )
        ]
        if values:
            return set().union(*(_action_names(value, scope, where) for value in values))
    raise AssertionError(
        f"{where}: the audit action is not a string literal this test can read; "
        "write it as one, or teach recorded_actions to read it."
    )


class _RecordCalls(ast.NodeVisitor):
    def __init__(self, module: ast.Module, where: str):
        self.scopes: list[ast.AST] = [module]
        self.where = where
        self.actions: dict[str, list[str]] = {}

    def _visit_scope(self, node):
        self.scopes.append(node)
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_scope

    def visit_Call(self, node: ast.Call):
        if _is_audit_record(node):
            where = f"{self.where}:{node.lineno}"
            for keyword in node.keywords:
                if keyword.arg == "action":
                    for name in _action_names(keyword.value, self.scopes[-1], where):
                        self.actions.setdefault(name, []).append(where)
        self.generic_visit(node)


def _source_files(root: Path):
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            name for name in subdirectories if not name.startswith(".") and name not in SKIPPED_DIRS
        )
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(directory, name)


def recorded_actions(root: Path = ROOT) -> dict[str, list[str]]:
    """Each action name recorded in the application's code, with where it is recorded."""
    found: dict[str, list[str]] = {}
    for path in _source_files(root):
        where = str(path.relative_to(root))
        visitor = _RecordCalls(ast.parse(path.read_text(), where), where)
        visitor.visit(visitor.scopes[0])
        for name, places in visitor.actions.items():
            found.setdefault(name, []).extend(places)
    return found


# --- One case per action --------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    action: str
    # Performs the action as ``actor`` at ``site``; returns the object the entry is about.
    perform: Callable[[Site, object], models.Model]
    id: str = ""
    # Log-ins are nobody's act but the member of staff's, at no one site (camp.audit).
    by_actor: bool = True
    at_site: bool = True


def _prisoner(site):
    return ContactFactory(prisoner__site=site).prisoner


def _register(site, actor):
    return registry.register_prisoner(
        site=site,
        actor=actor,
        surname="Шевченко",
        first_names="Олександр",
        arrived_on=datetime.date(2026, 3, 1),
        captured_on=datetime.date(2026, 2, 20),
    )


def _update(site, actor):
    return registry.update_prisoner(
        prisoner=PrisonerFactory(site=site), actor=actor, housing_unit="C7"
    )


def _change_status(site, actor):
    prisoner = PrisonerFactory(site=site)
    registry.change_status(
        prisoner=prisoner,
        status=Prisoner.Status.IN_HOSPITAL,
        effective_on=site.today(),
        note="Admitted to the camp hospital.",
        actor=actor,
    )
    return prisoner


def _add_contact(site, actor):
    return registry.add_contact(
        prisoner=PrisonerFactory(site=site),
        actor=actor,
        phone_number="+7 912 345-67-89",
        name="Олена",
        relationship=Contact.Relationship.WIFE,
        country="RU",
    )


def _approve_contact(site, actor):
    pending = ContactFactory(
        prisoner__site=site, status=Contact.Status.PENDING, decided_by=None, decided_at=None
    )
    return registry.approve_contact(contact=pending, actor=actor)


def _revoke_contact(site, actor):
    return registry.revoke_contact(
        contact=ContactFactory(prisoner__site=site), reason="The family asked.", actor=actor
    )


def _add_line(site, actor):
    return calls.add_line(site=site, name="Line 9", actor=actor)


def _activate_line(site, actor):
    return calls.set_line_active(
        line=LineFactory(site=site, active=False), active=True, actor=actor
    )


def _deactivate_line(site, actor):
    return calls.set_line_active(line=LineFactory(site=site), active=False, actor=actor)


def _later_booking(site, **fields):
    """A live booking of a slot that starts tomorrow."""
    starts_at = (timezone.now() + DAY).replace(second=0, microsecond=0)
    slot = CallSlotFactory(line__site=site, starts_at=starts_at, ends_at=starts_at + 15 * MINUTE)
    return BookingFactory(slot=slot, **fields)


def _suspend_booking_with_its_line(site, actor):
    booking = _later_booking(site)
    calls.set_line_active(line=booking.slot.line, active=False, cancel_bookings=True, actor=actor)
    return booking


def _add_window(site, actor):
    return calls.add_schedule_window(
        line=LineFactory(site=site),
        weekday=ScheduleWindow.Weekday.TUESDAY,
        starts_at=datetime.time(14),
        ends_at=datetime.time(16),
        slot_minutes=15,
        actor=actor,
    )


def _remove_window(site, actor):
    window = ScheduleWindowFactory(line__site=site)
    pk = window.pk
    calls.remove_schedule_window(window=window, actor=actor)
    return ScheduleWindow(pk=pk)


def _generate_slots(site, actor):
    ScheduleWindowFactory(line__site=site)
    today = site.today()
    calls.generate_slots(site=site, date_from=today, date_to=today + 7 * DAY, actor=actor)
    return site


def _set_policy(site, actor):
    return calls.set_call_policy(
        site=site, effective_from=site.today(), actor=actor, max_minutes=10
    )


def _suspend(site, actor, prisoner=None):
    return calls.suspend_calls(
        prisoner=prisoner or PrisonerFactory(site=site),
        reason=Suspension.Reason.MEDICAL,
        authority="Camp doctor",
        document_reference="",
        starts_on=site.today(),
        ends_on=site.today() + 3 * DAY,
        actor=actor,
    )


def _cancel_booking_by_suspension(site, actor):
    booking = _later_booking(site)
    _suspend(site, actor, prisoner=booking.prisoner)
    return booking


def _book(site, actor):
    slot = CallSlotFactory(line__site=site)
    return calls.book_slot(slot=slot, prisoner=_prisoner(site), actor=actor)


def _cancel_booking(site, actor):
    return calls.cancel_booking(booking=_later_booking(site), reason="Moved.", actor=actor)


def _mark_no_show(site, actor):
    starts_at = (timezone.now() - 5 * MINUTE).replace(microsecond=0)
    slot = CallSlotFactory(line__site=site, starts_at=starts_at, ends_at=starts_at + 15 * MINUTE)
    return calls.mark_no_show(booking=BookingFactory(slot=slot), actor=actor)


def _start_call(site, actor):
    prisoner = _prisoner(site)
    return calls.start_call(
        line=LineFactory(site=site), prisoner=prisoner, contact=prisoner.contacts.get(), actor=actor
    )


def _open_call(site):
    started_at = timezone.now() - 2 * MINUTE
    return CallFactory(
        line__site=site,
        started_at=started_at,
        deadline=started_at + 15 * MINUTE,
        ended_at=None,
        outcome="",
    )


def _end_call(site, actor):
    return calls.end_call(call=_open_call(site), outcome=Outcome.CONNECTED, actor=actor)


def _start_alert(site, actor):
    return calls.start_alert(site=site, actor=actor)


def _end_alert(site, actor):
    return calls.end_alert(alert=AirRaidAlertFactory(site=site), actor=actor)


def _amend_call(site, actor):
    call = CallFactory(line__site=site)
    calls.amend_call(
        call=call, changes={"notes": "Spoke of the harvest."}, reason="Notes left out.", actor=actor
    )
    return call


def _transcribe_call(site, actor):
    started_at = timezone.now() - 3 * DAY
    return calls.transcribe_call(
        site=site,
        prisoner=PrisonerFactory(site=site),
        number_dialled="+79123456789",
        locality="Kursk, RU",
        started_at=started_at,
        ended_at=started_at + 9 * MINUTE,
        outcome=Outcome.CONNECTED,
        actor=actor,
    )


def _record_letter(site, actor):
    return letters.record_letter(
        prisoner=PrisonerFactory(site=site),
        kind="capture_card",
        direction="sent",
        handed_in_on=site.today(),
        actor=actor,
    )


def _record_letter_step(site, actor):
    letter = LetterFactory(prisoner__site=site)
    letters.record_step(letters=[letter], step="dispatched_on", on=site.today(), actor=actor)
    return letter


def _amend_letter(site, actor):
    letter = LetterFactory(prisoner__site=site)
    letters.amend_letter(letter=letter, changes={"notes": "Torn."}, reason="x", actor=actor)
    return letter


def _export_frequency(site, actor):
    client = login_verified(Client(), actor)
    response = client.get(reverse("reports:frequency"), {"format": "csv"})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    return site


def _export(site, actor, **reveal):
    """A visit pack of ``site`` written to memory, as the export page and command do."""
    filters = exports.make_filters(
        user=actor,
        dataset="pack",
        format="csv",
        site_codes=[site.code],
        date_from=site.today() - 30 * DAY,
        date_to=site.today(),
        **reveal,
    )
    return exports.write_export(filters=filters, actor=actor, output=io.BytesIO())


def _export_revealing_identities(site, actor):
    _export(site, actor, reveal=True, reveal_reason="Tracing request of the CTA.")
    return site


def _enrol_two_factor(site, actor):
    device = two_factor.pending_device(actor)
    token = f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    two_factor.enrol(device=device, token=token, actor=actor, site=site)
    return device


PASSWORD = "correct horse battery staple"


def _log_in(site, actor):
    Client().post(reverse("login"), {"username": actor.username, "password": PASSWORD})
    return actor


def _fail_to_log_in(site, actor):
    Client().post(reverse("login"), {"username": actor.username, "password": "wrong"})
    return actor


def _get_locked_out(site, actor):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": actor.username, "password": "wrong"})
    return actor


def _show_withheld_identity(site, actor):
    prisoner = PrisonerFactory(site=site, identity=Prisoner.Identity.WITHHELD, alias="Сокіл")
    login_verified(Client(), actor).get(reverse("prisoners:prisoner-detail", args=[prisoner.pk]))
    return prisoner


def _administrator(site):
    return UserFactory(role=Role.ADMINISTRATOR, sites=[site])


def _save_site_in_the_administration(site, actor):
    client = login_verified(Client(), _administrator(site))
    client.post(
        reverse("admin:camp_site_change", args=[site.pk]),
        {"name": site.name, "code": site.code, "address": "", "time_zone": site.time_zone},
    )
    return site


def _save_staff_in_the_administration(site, actor):
    client = login_verified(Client(), _administrator(site))
    client.post(
        reverse("admin:camp_user_add"),
        {"username": "new-guard", "password1": PASSWORD, "password2": PASSWORD},
    )
    return User.objects.get(username="new-guard")


def _set_a_password_in_the_administration(site, actor):
    guard = UserFactory(role=Role.GUARD, sites=[site])
    client = login_verified(Client(), _administrator(site))
    client.post(
        reverse("admin:auth_user_password_change", args=[guard.pk]),
        {"password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"},
    )
    return guard


CASES = [
    Case("prisoners.prisoner.registered", _register),
    Case("prisoners.prisoner.updated", _update),
    Case("prisoners.prisoner.status_changed", _change_status),
    Case("prisoners.contact.added", _add_contact),
    Case("prisoners.contact.approved", _approve_contact),
    Case("prisoners.contact.revoked", _revoke_contact),
    Case("calls.line.added", _add_line),
    Case("calls.line.activated", _activate_line),
    Case("calls.line.deactivated", _deactivate_line),
    Case("calls.booking.suspended", _suspend_booking_with_its_line),
    Case("calls.schedulewindow.added", _add_window),
    Case("calls.schedulewindow.removed", _remove_window),
    Case("calls.slots.generated", _generate_slots),
    Case("calls.callpolicy.set", _set_policy),
    Case("calls.suspension.added", _suspend),
    Case("calls.booking.created", _book),
    Case("calls.booking.cancelled", _cancel_booking),
    Case("calls.booking.cancelled", _cancel_booking_by_suspension, id="by-a-suspension"),
    Case("calls.booking.no_show", _mark_no_show),
    Case("calls.call.started", _start_call),
    Case("calls.call.ended", _end_call),
    Case("calls.alert.started", _start_alert),
    Case("calls.alert.ended", _end_alert),
    Case("calls.call.amended", _amend_call),
    Case("calls.call.transcribed", _transcribe_call),
    Case("letters.letter.recorded", _record_letter),
    Case("letters.letter.status_changed", _record_letter_step),
    Case("letters.letter.amended", _amend_letter),
    Case("calls.report.frequency_exported", _export_frequency),
    Case("calls.export.created", _export),
    Case("calls.export.identities_revealed", _export_revealing_identities),
    Case("camp.two_factor.enrolled", _enrol_two_factor),
    Case("camp.login.succeeded", _log_in, at_site=False),
    Case("camp.login.failed", _fail_to_log_in, by_actor=False, at_site=False),
    Case("camp.login.locked_out", _get_locked_out, by_actor=False, at_site=False),
    Case("prisoners.prisoner.identity_revealed", _show_withheld_identity),
]
# Recorded by an administrator: the case checks who.
ADMINISTRATION_CASES = [
    Case("camp.site.saved", _save_site_in_the_administration),
    Case("camp.staff.saved", _save_staff_in_the_administration, at_site=False),
    Case("camp.staff.password_set", _set_a_password_in_the_administration, at_site=False),
]


def test_every_recorded_action_has_a_case():
    found = recorded_actions()
    covered = {case.action for case in CASES + ADMINISTRATION_CASES}
    uncovered = {name: places for name, places in found.items() if name not in covered}
    assert uncovered == {}, "recorded actions without a case here"
    assert sorted(covered - set(found)) == [], "cases for actions the code no longer records"


def test_the_reader_finds_literals_conditionals_and_local_names(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "services.py").write_text(
        "from camp import audit\n"
        "def one(x):\n"
        '    audit.record(actor=None, action="app.thing.made", target=x, site=None)\n'
        "def two(x, on):\n"
        '    action = "app.thing.on" if on else "app.thing.off"\n'
        "    audit.record(actor=None, action=action, target=x, site=None)\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(
        'audit.record(actor=None, action="test.only", target=None, site=None)\n'
    )
    assert set(recorded_actions(tmp_path)) == {"app.thing.made", "app.thing.on", "app.thing.off"}


def test_the_reader_refuses_an_action_it_cannot_read(tmp_path):
    (tmp_path / "services.py").write_text(
        'def f(x, kind):\n    audit.record(actor=None, action=f"app.{kind}", target=x, site=None)\n'
    )
    with pytest.raises(AssertionError, match=r"services\.py:2"):
        recorded_actions(tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[case.id or case.action for case in CASES])
def test_the_action_writes_its_audit_entry(case, site, supervisor):
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    target = case.perform(site, supervisor)

    written = AuditEntry.objects.filter(action=case.action, pk__gt=before)
    assert [(entry.actor, entry.target_type, entry.target_id, entry.site) for entry in written] == [
        (
            supervisor if case.by_actor else None,
            target_label(target),
            str(target.pk),
            site if case.at_site else None,
        )
    ]


@pytest.mark.parametrize("case", ADMINISTRATION_CASES, ids=[c.action for c in ADMINISTRATION_CASES])
def test_the_administration_writes_its_audit_entry(case, site, supervisor):
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    target = case.perform(site, supervisor)

    (entry,) = AuditEntry.objects.filter(action=case.action, pk__gt=before)
    assert has_role(entry.actor, Role.ADMINISTRATOR)
    assert (entry.target_type, entry.target_id, entry.site) == (
        target_label(target),
        str(target.pk),
        site if case.at_site else None,
    )


def test_a_failed_log_in_for_a_name_no_account_has_is_recorded(db):
    Client().post(reverse("login"), {"username": "nobody-here", "password": "wrong"})

    entry = AuditEntry.objects.get(action="camp.login.failed")
    assert (entry.actor, entry.target_type, entry.target_id, entry.site) == (
        None,
        "camp.user",
        "",
        None,
    )
    assert entry.data["username"] == "nobody-here"
