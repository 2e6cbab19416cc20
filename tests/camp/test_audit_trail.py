"""The audit trail (camp.audit, camp.history): row history by trigger, business actions
and log-ins in one trail, its page and each object's history panel."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from calls import services as call_services
from calls.models import Call, ScheduleWindow
from camp import audit, history
from camp.models import AuditEntry, Site
from prisoners.models import Contact, Prisoner
from tests.camp.test_audit_actions import recorded_actions
from tests.factories import (
    CallFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
    ScheduleWindowFactory,
)


def outside_the_application() -> None:
    """What a database session of its own starts with: no history context."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', '', true),"
            " set_config('pghistory.context_metadata', '', true)"
        )


def events_of(obj) -> list:
    return list(type(obj).pgh_event_model.objects.filter(pgh_obj_id=obj.pk).order_by("pgh_id"))


# --- Row history by trigger -----------------------------------------------------------


def test_raw_sql_insert_update_and_delete_are_in_the_row_history(site):
    line = LineFactory(site=site)
    outside_the_application()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO calls_schedulewindow (line_id, weekday, starts_at, ends_at, slot_minutes)"
            " VALUES (%s, 1, '09:00', '10:00', 15) RETURNING id",
            [line.pk],
        )
        (window_id,) = cursor.fetchone()
        cursor.execute(
            "UPDATE calls_schedulewindow SET ends_at = '11:00' WHERE id = %s", [window_id]
        )
        cursor.execute("DELETE FROM calls_schedulewindow WHERE id = %s", [window_id])

    events = list(
        ScheduleWindow.pgh_event_model.objects.filter(pgh_obj_id=window_id).order_by("pgh_id")
    )
    assert [(e.pgh_label, str(e.ends_at)) for e in events] == [
        ("insert", "10:00:00"),
        ("update", "11:00:00"),
        ("delete", "11:00:00"),
    ]
    assert len({e.pgh_context_id for e in events}) == 1
    assert events[0].pgh_context == {"database_user": connection.settings_dict["USER"]}


def test_a_change_outside_the_application_gets_an_entry_of_its_own(site):
    prisoner = PrisonerFactory(site=site)
    outside_the_application()
    with connection.cursor() as cursor:
        for change in ("housing_unit = 'Z-17'", "place_of_birth = 'Nowhere-17'"):
            cursor.execute(f"UPDATE prisoners_prisoner SET {change} WHERE id = %s", [prisoner.pk])

    (entry,) = AuditEntry.objects.filter(action=history.DATABASE_CHANGED)
    assert (entry.actor, entry.target_type, entry.target_id, entry.site) == (
        None,
        "prisoners.prisoner",
        str(prisoner.pk),
        site,
    )
    assert entry.data == {"database_user": connection.settings_dict["USER"]}
    updates = [e for e in events_of(prisoner) if e.pgh_label == "update"]
    assert [e.pgh_context_id for e in updates] == [entry.context_id] * 2


def test_the_application_writes_no_entry_for_changes_outside_it(site, supervisor):
    call_services.add_line(site=site, name="Line 7", actor=supervisor)
    assert not AuditEntry.objects.filter(action=history.DATABASE_CHANGED).exists()


def test_derived_columns_and_secrets_stay_out_of_the_row_history(site, guard):
    prisoner = PrisonerFactory(site=site)
    Prisoner.objects.filter(pk=prisoner.pk).update(last_connected_at=timezone.now())
    guard.set_password("another long passphrase")
    guard.save()
    assert [e.pgh_label for e in events_of(prisoner)] == ["insert"]
    assert [e.pgh_label for e in events_of(guard)] == ["insert"]
    assert not hasattr(type(guard).pgh_event_model, "password")


def test_the_request_path_user_and_action_are_the_context_of_its_changes(
    supervisor_client, supervisor, site
):
    contact = ContactFactory(
        prisoner__site=site, status=Contact.Status.PENDING, decided_by=None, decided_at=None
    )
    url = reverse("prisoners:contact-approve", args=[contact.pk])

    supervisor_client.post(url)

    entry = AuditEntry.objects.get(action="prisoners.contact.approved")
    update = events_of(contact)[-1]
    assert (update.pgh_label, update.status) == ("update", Contact.Status.APPROVED)
    assert update.pgh_context == {"user": supervisor.pk, "url": url}
    assert update.pgh_context_id == entry.context_id
    (item,) = audit.history_for(contact)
    assert item.label == "Contact approved"
    assert [(change.label, change.object_id) for change in item.changes] == [
        ("Contact changed", str(contact.pk))
    ]
    assert {field.name for field in item.changes[0].fields} >= {"Status", "Decided by"}


def test_two_requests_are_two_contexts(supervisor_client, site):
    line = LineFactory(site=site)
    for active in ("0", "1"):
        supervisor_client.post(reverse("calls:line-toggle", args=[line.pk]), {"active": active})
    contexts = {e.pgh_context_id for e in events_of(line) if e.pgh_label == "update"}
    assert len(contexts) == 2


# --- Append-only and chained ----------------------------------------------------------


EVENT_TABLES = sorted(model._meta.db_table for model in history.event_models())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET pgh_label = 'rewritten'",
        "DELETE FROM {table}",
        "TRUNCATE {table}",
    ],
)
@pytest.mark.parametrize("bypass", ["", "SET LOCAL pgtrigger.ignore = '{{{table}:append_only}}';"])
def test_the_row_history_refuses_update_delete_and_truncate(site, statement, bypass):
    CallFactory(line__site=site)
    table = "calls_callevent"
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        if bypass:
            cursor.execute(bypass.format(table=table))
        cursor.execute(statement.format(table=table))


def test_every_event_table_is_append_only_and_chained(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tgrelid::regclass::text, array_agg(tgname::text ORDER BY tgname)
            FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(%s)
            GROUP BY 1
            """,
            [EVENT_TABLES],
        )
        triggers = dict(cursor.fetchall())
    assert sorted(triggers) == EVENT_TABLES
    for table, names in triggers.items():
        assert any(name.startswith("pgtrigger_append_only_") for name in names), table
        assert any(name.startswith("pgtrigger_append_only_truncate_") for name in names), table
        assert f"tamper_chain_{table}_insert" in names, table


def test_no_session_setting_keeps_a_change_out_of_the_history(site):
    line = LineFactory(site=site)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(format('%%s:%%s', tgrelid::regclass, tgname), ',')"
            " FROM pg_trigger WHERE NOT tgisinternal"
        )
        (every_trigger,) = cursor.fetchone()
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + every_trigger + "}"]
        )
        cursor.execute("UPDATE calls_line SET name = 'Renamed' WHERE id = %s", [line.pk])
    assert [e.pgh_label for e in events_of(line)] == ["insert", "update"]


# --- Labels ---------------------------------------------------------------------------


def test_every_recorded_action_has_a_label():
    actions = set(recorded_actions()) | {history.DATABASE_CHANGED}
    assert sorted(actions - set(audit.ACTION_LABELS)) == []
    assert sorted(set(audit.ACTION_LABELS) - actions) == [], "labels of actions never recorded"


def test_row_changes_read_in_words():
    labels = {
        str(audit.ROW_CHANGE_LABELS[operation] % {"thing": "Call"})
        for operation in ("insert", "update", "delete")
    }
    assert labels == {"Call created", "Call changed", "Call deleted"}


# --- The audit page -------------------------------------------------------------------


@pytest.fixture
def two_sites(site, other_site, supervisor):
    """A business action at each site."""
    mine = call_services.add_line(site=site, name="Line North", actor=supervisor)
    theirs = call_services.add_line(site=other_site, name="Line South", actor=supervisor)
    return mine, theirs


def test_anonymous_is_sent_to_log_in(client, db):
    response = client.get(reverse("audit-trail"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("client_fixture", ["guard_client", "supervisor_client"])
def test_only_administrators_read_the_trail(request, client_fixture):
    assert request.getfixturevalue(client_fixture).get(reverse("audit-trail")).status_code == 403


def test_the_page_shows_labels_and_row_changes_of_the_administrators_sites_only(
    administrator_client, two_sites
):
    mine, _theirs = two_sites
    page = administrator_client.get(reverse("audit-trail")).content.decode()
    table = page[page.index("<table") :]
    assert "Line added" in table
    assert "calls.line.added" not in table
    entries = administrator_client.get(reverse("audit-trail")).context["entries"]
    (added,) = [item for item in entries if item.entry.action == "calls.line.added"]
    assert added.entry.target_id == str(mine.pk)
    lines = [c.object_id for c in added.changes if c.thing == "Line"]
    assert lines == [str(mine.pk)], "the other site's line, made in the same context, is hidden"


def test_the_navigation_offers_the_trail_to_administrators_only(
    administrator_client, supervisor_client
):
    url = reverse("audit-trail")
    assert url in administrator_client.get(reverse("calls:desk")).content.decode()
    assert url not in supervisor_client.get(reverse("calls:desk")).content.decode()


def test_log_ins_of_the_administrators_staff_are_shown_not_others(
    administrator_client, guard, other_site
):
    from tests.factories import UserFactory

    stranger = UserFactory(username="stranger", sites=[other_site])
    audit.record(actor=guard, action="camp.login.succeeded", target=guard, site=None)
    audit.record(actor=stranger, action="camp.login.succeeded", target=stranger, site=None)
    audit.record(
        actor=None,
        action="camp.login.failed",
        target=None,
        site=None,
        data={"username": "zz-nobody"},
    )
    response = administrator_client.get(reverse("audit-trail"), {"action": "camp.login.succeeded"})
    shown = [item.entry.actor for item in response.context["entries"]]
    assert guard in shown
    assert stranger not in shown
    failed = administrator_client.get(reverse("audit-trail"), {"action": "camp.login.failed"})
    assert "zz-nobody" in failed.content.decode()


def test_filters_by_user_object_action_and_period(administrator_client, site, supervisor, guard):
    line = call_services.add_line(site=site, name="Line 1", actor=supervisor)
    call_services.set_line_active(line=line, active=False, actor=guard)
    audit.record(actor=guard, action="calls.line.activated", target=line, site=site)
    url = reverse("audit-trail")

    def actions(**filters) -> list[str]:
        response = administrator_client.get(url, filters)
        assert response.status_code == 200
        return sorted(item.entry.action for item in response.context["entries"])

    assert actions(actor=guard.pk) == ["calls.line.activated", "calls.line.deactivated"]
    assert actions(action="calls.line.added") == ["calls.line.added"]
    assert "calls.line.added" in actions(target_type="calls.line", target_id=line.pk)
    assert actions(target_type="calls.line", target_id=line.pk + 1000) == []
    today = site.today()
    assert "calls.line.added" in actions(date_from=today.isoformat(), date_to=today.isoformat())
    tomorrow = today + datetime.timedelta(days=1)
    assert actions(date_from=tomorrow.isoformat()) == []


@pytest.mark.parametrize(
    "filters",
    [
        {"actor": "not-a-number"},
        {"target_id": "-3"},
        {"target_id": "5"},
        {"date_from": "2026-13-45"},
        {"date_from": "2026-05-02", "date_to": "2026-05-01"},
        {"action": "no.such.action"},
        {"page": "garbage~1"},
    ],
)
def test_bad_filters_are_refused_on_the_page_not_with_an_error(administrator_client, filters):
    response = administrator_client.get(reverse("audit-trail"), filters)
    assert response.status_code == 200


def test_the_page_costs_the_same_queries_however_many_entries(
    administrator_client, site, supervisor, django_assert_max_num_queries
):
    for number in range(60):
        call_services.add_line(site=site, name=f"Line {number}", actor=supervisor)
    with django_assert_max_num_queries(10):
        response = administrator_client.get(reverse("audit-trail"))
    assert len(response.context["entries"]) == 50
    older = response.context["page"].older
    with django_assert_max_num_queries(10):
        response = administrator_client.get(reverse("audit-trail"), {"page": older})
    assert len(response.context["entries"]) == 10


def test_an_entry_shows_at_most_ten_row_changes_and_says_there_are_more(site, supervisor):
    entry = audit.record(actor=supervisor, action="calls.slots.generated", target=site, site=site)
    line = LineFactory(site=site)
    for hour in range(12):
        ScheduleWindowFactory(
            line=line, starts_at=datetime.time(hour), ends_at=datetime.time(hour, 30)
        )
    (item,) = audit.history_for(Site.objects.get(pk=site.pk))
    assert item.entry == entry
    assert len(item.changes) == audit.CHANGES_SHOWN
    assert item.more_changes


# --- History panels and reveals -------------------------------------------------------


def test_the_call_page_shows_its_history_in_words(guard_client, site, supervisor):
    call = CallFactory(line__site=site)
    call_services.amend_call(
        call=call, changes={"locality": "Odesa"}, reason="Misheard", actor=supervisor
    )
    page = guard_client.get(reverse("calls:call-detail", args=[call.pk])).content.decode()
    assert "Logbook entry amended" in page
    assert "calls.call.amended" not in page
    assert "Call changed" in page


def test_the_panel_reads_in_one_query(site, supervisor, django_assert_num_queries):
    call = CallFactory(line__site=site)
    for locality in ("Odesa", "Kharkiv"):
        call_services.amend_call(
            call=Call.objects.get(pk=call.pk),
            changes={"locality": locality},
            reason="Misheard",
            actor=supervisor,
        )
    with django_assert_num_queries(1):
        items = audit.history_for(call)
    assert [item.label for item in items] == ["Logbook entry amended"] * 2


def test_a_withheld_identity_shown_to_a_supervisor_is_recorded_each_time(
    supervisor_client, guard_client, site
):
    prisoner = PrisonerFactory(site=site, identity=Prisoner.Identity.WITHHELD, alias="Сокіл")
    url = reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    guard_client.get(url)
    supervisor_client.get(url)
    supervisor_client.get(url)
    supervisor_client.get(reverse("prisoners:prisoner-list"))
    shown = AuditEntry.objects.filter(action="prisoners.prisoner.identity_revealed")
    assert shown.count() == 2
    assert {entry.site for entry in shown} == {site}


def test_a_prisoner_with_a_full_identity_is_shown_without_an_entry(supervisor_client, site):
    prisoner = PrisonerFactory(site=site)
    supervisor_client.get(reverse("prisoners:prisoner-detail", args=[prisoner.pk]))
    assert not AuditEntry.objects.filter(action="prisoners.prisoner.identity_revealed").exists()
