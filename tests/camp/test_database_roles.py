"""The application's database role (``manage.py grant_app_role``), on the real server.

The role is created inside the test's transaction, so it is gone when the test rolls
back; the statements run as it after ``SET ROLE``.
"""

import contextlib
import io
import uuid

import pytest
from django.core.management import call_command
from django.db import ProgrammingError, connection, transaction

from calls import services as call_services
from calls.models import Call, Line
from camp import audit
from camp.management.commands.grant_app_role import APPEND_ONLY, privileges_for
from camp.models import AuditEntry
from tests.factories import CallFactory, LineFactory

PROTECTED = sorted(APPEND_ONLY | {"calls_call", "letters_letter"})


@pytest.fixture
def app_role(db):
    """A fresh role with the application's rights, as the command gives them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        if not cursor.fetchone()[0]:
            pytest.skip("the test database's user may not create roles")
    role = f"camp_app_{uuid.uuid4().hex[:12]}"
    call_command("grant_app_role", role=role, stdout=io.StringIO())
    return role


@contextlib.contextmanager
def acting_as(role: str):
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def _refused(statement: str, params=None, match: str = "permission denied") -> None:
    with (
        pytest.raises(ProgrammingError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, params)


def test_role_owns_no_table_and_cannot_become_the_owner(app_role):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
              AND pg_has_role(%s, tableowner, 'MEMBER')
            """,
            [app_role],
        )
        assert cursor.fetchall() == []
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = %s",
            [app_role],
        )
        assert cursor.fetchone() == (False, False, False)


@pytest.mark.parametrize("table", PROTECTED)
def test_role_has_no_update_delete_or_truncate_right_on_the_record(app_role, table):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT privilege_type FROM information_schema.role_table_grants
            WHERE grantee = %s AND table_name = %s
            """,
            [app_role, table],
        )
        granted = {privilege for (privilege,) in cursor.fetchall()}
    assert granted == set(privileges_for(table))
    assert not granted & {"DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
    if table in APPEND_ONLY:
        assert "UPDATE" not in granted


def test_role_reads_writes_and_runs_the_logbook(app_role, site, guard, supervisor):
    closed = CallFactory(line=LineFactory(site=site))
    open_call = CallFactory(line=closed.line, prisoner=closed.prisoner, ended_at=None, outcome="")
    with acting_as(app_role):
        assert Call.objects.filter(pk__in=[closed.pk, open_call.pk]).count() == 2
        audit.record(actor=guard, action="camp.site.checked", target=site, site=site)
        call_services.end_call(call=open_call, outcome=Call.Outcome.NO_ANSWER, actor=guard)
        call_services.amend_call(
            call=closed, changes={"language": "uk"}, reason="Misheard.", actor=supervisor
        )
    closed.refresh_from_db()
    assert (closed.language, closed.amendment_count) == ("uk", 1)
    assert AuditEntry.objects.filter(action="calls.call.ended").exists()


def test_role_cannot_rewrite_erase_or_empty_the_record(app_role, site, supervisor):
    call = CallFactory(line=LineFactory(site=site))
    entry = audit.record(actor=supervisor, action="camp.site.checked", target=site, site=site)
    with acting_as(app_role):
        # The right to UPDATE open calls stays; the trigger refuses a closed one.
        _refused(
            "UPDATE calls_call SET notes = 'x' WHERE id = %s",
            [call.pk],
            match="changes only through an amendment",
        )
        _refused("DELETE FROM calls_call WHERE id = %s", [call.pk])
        _refused("UPDATE camp_auditentry SET action = 'x' WHERE id = %s", [entry.pk])
        _refused("DELETE FROM camp_auditentry WHERE id = %s", [entry.pk])
        for table in PROTECTED:
            _refused(f"TRUNCATE {table} CASCADE")
        for table in APPEND_ONLY:
            _refused(f"UPDATE {table} SET id = id")
            _refused(f"DELETE FROM {table}")
        # What an owner or a superuser could do to step past the triggers.
        _refused("ALTER TABLE camp_auditentry DISABLE TRIGGER ALL", match="must be owner")
        _refused("SET LOCAL session_replication_role = replica")
    assert AuditEntry.objects.filter(pk=entry.pk, action="camp.site.checked").exists()


def test_role_only_reads_the_shared_context_table_the_trail_never_writes(app_role, site):
    """Each event keeps its context itself (camp.history): pghistory's shared context
    table is never written, so the role need not update it."""
    assert privileges_for("pghistory_context") == ["SELECT"]
    line = LineFactory(site=site)
    with acting_as(app_role):
        call_services.set_line_active(line=line, active=False, actor=None)
        _refused(
            "INSERT INTO pghistory_context (id, metadata, created_at, updated_at)"
            " VALUES (gen_random_uuid(), '{}', now(), now())"
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pghistory_context")
        assert cursor.fetchone() == (0,)


def test_role_keeps_the_row_history_of_a_change_made_outside_the_application(app_role, site):
    line = LineFactory(site=site)
    with acting_as(app_role), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', '', true),"
            " set_config('pghistory.context_metadata', '', true)"
        )
        cursor.execute("UPDATE calls_line SET name = 'Renamed' WHERE id = %s", [line.pk])
        # The links of the row history, made as a commit makes them, with the role's rights.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT count(*) FROM camp_chainpending")
        assert cursor.fetchone() == (0,)
    (entry,) = AuditEntry.objects.filter(action="camp.database.changed")
    assert (entry.target_type, entry.target_id, entry.site, entry.data) == (
        "calls.line",
        str(line.pk),
        site,
        # The login that made the change, whatever role it had set.
        {"database_user": connection.settings_dict["USER"]},
    )
    event = Line.pgh_event_model.objects.get(pgh_obj_id=line.pk, pgh_label="update")
    assert (event.name, event.pgh_context_id) == ("Renamed", entry.context_id)
