"""Append-only that no session setting switches off (camp.triggers).

pgtrigger's own triggers step aside for any trigger named in ``pgtrigger.ignore``, which
every role that may write can ``SET LOCAL``. Here that setting names every trigger in the
database, and the record still refuses UPDATE, DELETE and TRUNCATE.
"""

import pytest
from django.db import ProgrammingError, connection, transaction

from calls import services as call_services
from calls.models import Call
from camp import audit
from camp.models import ExportRecord
from letters import services as letter_services
from prisoners import services as prisoner_services
from prisoners.models import Prisoner, StatusChange
from tests.factories import CallFactory, LetterFactory, LineFactory, PrisonerFactory

PROTECTED = [
    "calls_call",
    "calls_amendment",
    "letters_letter",
    "letters_letteramendment",
    "prisoners_statuschange",
    "camp_auditentry",
    "camp_exportrecord",
]

# What each table's UPDATE touches, and what the refusal says: the logbook and the
# register of letters change only through amendments; the rest not at all.
UPDATES = {
    "calls_call": ("notes = 'rewritten'", "changes only through an amendment"),
    "calls_amendment": ("reason = 'rewritten'", "calls_amendment is append-only: UPDATE"),
    "letters_letter": ("notes = 'rewritten'", "changes only through an amendment"),
    "letters_letteramendment": (
        "reason = 'rewritten'",
        "letters_letteramendment is append-only: UPDATE",
    ),
    "prisoners_statuschange": ("note = 'rewritten'", "prisoners_statuschange is append-only"),
    "camp_auditentry": ("action = 'rewritten'", "camp_auditentry is append-only: UPDATE"),
    "camp_exportrecord": ("filename = 'rewritten'", "camp_exportrecord is append-only: UPDATE"),
}


@pytest.fixture
def rows(site, supervisor):
    """One row in each protected table: ``{table: id}``."""
    call = CallFactory(line=LineFactory(site=site))
    amendment = call_services.amend_call(
        call=call, changes={"language": "uk"}, reason="Misheard.", actor=supervisor
    )
    letter = LetterFactory(prisoner=call.prisoner)
    letter_amendment = letter_services.amend_letter(
        letter=letter, changes={"notes": "Torn envelope."}, reason="Noticed.", actor=supervisor
    )
    change = StatusChange.objects.create(
        prisoner=call.prisoner,
        status=Prisoner.Status.INTERNED,
        effective_on=call.prisoner.arrived_on,
        recorded_by=supervisor,
    )
    entry = audit.record(actor=supervisor, action="camp.site.checked", target=site, site=site)
    export = ExportRecord.objects.create(
        user=supervisor,
        dataset=ExportRecord.Dataset.LOG,
        format=ExportRecord.Format.CSV,
        site_codes=[site.code],
        row_count=1,
        sha256="0" * 64,
        filename="log.csv",
    )
    return {
        "calls_call": call.pk,
        "calls_amendment": amendment.pk,
        "letters_letter": letter.pk,
        "letters_letteramendment": letter_amendment.pk,
        "prisoners_statuschange": change.pk,
        "camp_auditentry": entry.pk,
        "camp_exportrecord": export.pk,
    }


def _ignore_every_trigger(cursor) -> None:
    """What pgtrigger's bypass does, for every trigger there is, and proof that pgtrigger's
    own check would now step aside for them."""
    cursor.execute(
        "SELECT set_config('pgtrigger.ignore', array_agg(tgname::text)::text, true)"
        " FROM pg_trigger WHERE NOT tgisinternal"
    )
    cursor.execute(
        "SELECT bool_and(_pgtrigger_should_ignore(tgname)) FROM pg_trigger WHERE NOT tgisinternal"
    )
    assert cursor.fetchone()[0] is True


def _refused_despite_bypass(sql: str, params: list, match: str) -> None:
    with (
        pytest.raises(ProgrammingError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # The test's rows leave deferred foreign-key checks pending, and PostgreSQL
        # refuses to TRUNCATE a table with pending trigger events: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _ignore_every_trigger(cursor)
        cursor.execute(sql, params)


@pytest.mark.parametrize("table", PROTECTED)
def test_update_is_refused_even_when_every_trigger_is_ignored(rows, table):
    assignment, match = UPDATES[table]
    _refused_despite_bypass(
        f"UPDATE {table} SET {assignment} WHERE id = %s", [rows[table]], match=match
    )


@pytest.mark.parametrize("table", PROTECTED)
def test_delete_is_refused_even_when_every_trigger_is_ignored(rows, table):
    _refused_despite_bypass(
        f"DELETE FROM {table} WHERE id = %s",
        [rows[table]],
        match=f"{table} is append-only: DELETE refused",
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE id = %s", [rows[table]])
        assert cursor.fetchone() == (1,)


@pytest.mark.parametrize("table", PROTECTED)
def test_truncate_is_refused(rows, table):
    # CASCADE, or the foreign keys pointing at most of these tables refuse it first; the
    # named table's trigger fires before those of the tables it cascades to.
    _refused_despite_bypass(
        f"TRUNCATE {table} CASCADE", [], match=f"{table} is append-only: TRUNCATE refused"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchone()[0] >= 1


def test_no_trigger_in_the_database_honours_pgtrigger_ignore(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tgrelid::regclass::text, tgname FROM pg_trigger
            JOIN pg_proc ON pg_proc.oid = tgfoid
            WHERE NOT tgisinternal AND prosrc LIKE '%%_pgtrigger_should_ignore%%'
            """
        )
        assert cursor.fetchall() == []


def test_every_protected_table_refuses_truncate_by_its_own_trigger(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger
            WHERE NOT tgisinternal AND tgtype & 32 <> 0  -- TRIGGER_TYPE_TRUNCATE
            """
        )
        assert {table for (table,) in cursor.fetchall()} >= set(PROTECTED)


def test_an_open_call_still_ends_and_a_closed_one_is_still_amended(site, guard, supervisor):
    call = CallFactory(line=LineFactory(site=site), ended_at=None, outcome="")
    call = call_services.end_call(call=call, outcome=Call.Outcome.NO_ANSWER, actor=guard)
    assert not call.is_open
    call_services.amend_call(
        call=call, changes={"outcome": Call.Outcome.CONNECTED}, reason="Misheard.", actor=supervisor
    )
    call.refresh_from_db()
    assert (call.outcome, call.amendment_count) == (Call.Outcome.CONNECTED, 1)


def test_a_letter_still_takes_its_steps(site, guard):
    letter = LetterFactory(prisoner=PrisonerFactory(site=site))
    today = site.today()
    assert (
        letter_services.record_step(letters=[letter], step="dispatched_on", on=today, actor=guard)
        == 1
    )
    letter.refresh_from_db()
    assert letter.dispatched_on == today


def test_status_history_still_grows(site, supervisor):
    prisoner = PrisonerFactory(site=site)
    prisoner_services.change_status(
        prisoner=prisoner,
        status=Prisoner.Status.IN_HOSPITAL,
        effective_on=site.today(),
        note="",
        actor=supervisor,
    )
    prisoner.refresh_from_db()
    assert prisoner.status == Prisoner.Status.IN_HOSPITAL
    assert prisoner.status_changes.filter(status=Prisoner.Status.IN_HOSPITAL).exists()
