"""The tamper-evidence chain (camp.chain) and ``manage.py verify_logbook``."""

import datetime
import importlib
import io
import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.urls import reverse
from pypdf import PdfReader

from calls import exports
from calls import services as call_services
from calls.models import AMENDABLE_FIELD_TYPES as CALL_AMENDABLE_FIELD_TYPES
from calls.models import Call
from camp import audit, chain, history
from camp.models import AuditEntry, ChainLink, ExportRecord
from letters import services as letter_services
from letters.models import AMENDABLE_FIELD_TYPES as LETTER_AMENDABLE_FIELD_TYPES
from tests.concurrency import run_together
from tests.factories import CallFactory, LetterFactory, LineFactory


def verify_output() -> str:
    out = io.StringIO()
    call_command("verify_logbook", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def broken_message() -> str:
    with pytest.raises(CommandError) as raised:
        verify_output()
    assert raised.value.returncode == 1
    return str(raised.value)


def as_superuser_behind_the_triggers(sql: str, params=()) -> None:
    """What an attacker with the database's superuser can do: write with every
    trigger off (also the chain's and the append-only ones)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def links_of(row) -> list[ChainLink]:
    return list(ChainLink.objects.filter(table_name=row._meta.db_table, row_id=row.pk))


@pytest.fixture
def logbook(site, supervisor):
    """A closed call amended once, an item of mail amended once, and their audit."""
    call = CallFactory(line__site=site)
    amendment = call_services.amend_call(
        call=call, changes={"locality": "Odesa"}, reason="Misheard", actor=supervisor
    )
    letter = LetterFactory(prisoner=call.prisoner)
    letter_amendment = letter_services.amend_letter(
        letter=letter, changes={"notes": "Water-damaged"}, reason="Noted late", actor=supervisor
    )
    return call, amendment, letter, letter_amendment


def test_final_rows_are_chained_once_in_order(logbook):
    call, amendment, letter, letter_amendment = logbook
    for row in (call, amendment, letter, letter_amendment):
        assert len(links_of(row)) == 1
    assert len(links_of(AuditEntry.objects.filter(action="calls.call.amended").get())) == 1
    head = chain.head()  # after the row history's links, made as the transaction commits
    links = list(ChainLink.objects.order_by("position"))
    assert [link.position for link in links] == list(range(1, len(links) + 1))
    assert links[0].previous_hash == chain.GENESIS
    for before, after in itertools.pairwise(links):
        assert after.previous_hash == before.hash
        assert after.hash == chain.link_hash(after.previous_hash, after.content_hash)
    assert head == (links[-1].position, links[-1].hash)


def test_a_call_is_chained_when_it_closes_not_while_open(site):
    call = CallFactory(line__site=site, ended_at=None, outcome="")
    assert links_of(call) == []
    Call.objects.filter(pk=call.pk).update(
        ended_at=call.started_at + datetime.timedelta(minutes=5), outcome="no_answer"
    )
    assert len(links_of(call)) == 1
    assert verify_output().startswith("chain intact:")


def test_intact_chain_verifies_with_its_head(logbook):
    count, digest = chain.head()
    assert verify_output() == f"chain intact: {count} links, head {digest}\n"


def test_tampered_amendment_is_named(logbook):
    _call, amendment, _letter, _letter_amendment = logbook
    with connection.cursor() as cursor:
        # The test's transaction still holds deferred foreign-key checks.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE calls_amendment DISABLE TRIGGER ALL")
        cursor.execute(
            "UPDATE calls_amendment SET reason = 'Routine' WHERE id = %s", [amendment.pk]
        )
        cursor.execute("ALTER TABLE calls_amendment ENABLE TRIGGER ALL")
    (link,) = links_of(amendment)
    assert broken_message() == (
        f"broken at link {link.position}: calls_amendment row {amendment.pk} (content changed)"
    )


def test_a_call_changed_behind_its_amendments_is_named(logbook):
    call, *_rest = logbook
    # The amended column: its first recorded value is in the amendment, the
    # current one must still be the amendment's "to".
    as_superuser_behind_the_triggers(
        "UPDATE calls_call SET locality = 'Kharkiv' WHERE id = %s", [call.pk]
    )
    (link,) = links_of(call)
    assert broken_message() == (
        f"broken at link {link.position}: calls_call row {call.pk} (content changed)"
    )


def test_a_call_changed_in_a_column_never_amended_is_named(logbook):
    call, *_rest = logbook
    as_superuser_behind_the_triggers(
        "UPDATE calls_call SET outcome = 'busy' WHERE id = %s", [call.pk]
    )
    assert f"calls_call row {call.pk} (content changed)" in broken_message()


def test_a_letter_changed_behind_the_triggers_is_named(logbook):
    _call, _amendment, letter, _letter_amendment = logbook
    as_superuser_behind_the_triggers(
        "UPDATE letters_letter SET reference = 'X-1' WHERE id = %s", [letter.pk]
    )
    assert f"letters_letter row {letter.pk} (content changed)" in broken_message()


def test_a_deleted_audit_entry_is_named(logbook):
    entry = AuditEntry.objects.filter(action="calls.call.amended").get()
    (link,) = links_of(entry)
    as_superuser_behind_the_triggers("DELETE FROM camp_auditentry WHERE id = %s", [entry.pk])
    assert broken_message() == (
        f"broken at link {link.position}: camp_auditentry row {entry.pk} (row missing)"
    )


def test_a_removed_link_is_named_at_the_next(logbook):
    _call, amendment, *_rest = logbook
    (link,) = links_of(amendment)
    following = ChainLink.objects.get(position=link.position + 1)
    as_superuser_behind_the_triggers(
        "DELETE FROM camp_chainlink WHERE position = %s", [link.position]
    )
    assert broken_message() == (
        f"broken at link {following.position}: {following.table_name} row "
        f"{following.row_id} (link missing)"
    )


def test_a_row_slipped_in_behind_the_triggers_is_named(logbook, supervisor):
    as_superuser_behind_the_triggers(
        "INSERT INTO camp_auditentry (action, target_type, target_id, data, created_at)"
        " VALUES ('camp.forged', 'x', '1', '{}', now())"
    )
    forged = AuditEntry.objects.get(action="camp.forged")
    assert (
        broken_message()
        == f"broken at unchained row: camp_auditentry row {forged.pk} (link missing)"
    )


def test_the_chain_cannot_be_rewritten_through_the_application(logbook):
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        ChainLink.objects.update(hash="0" * 64)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_form_one_chain_without_fork(site):
    def job(number):
        def write():
            with transaction.atomic():
                for _ in range(3):
                    audit.record(actor=None, action=f"test.writer{number}", target=site, site=site)

        return write

    results = run_together([job(number) for number in range(6)])
    assert results == [None] * 6
    assert ChainLink.objects.filter(table_name="camp_auditentry").count() >= 18
    assert verify_output().startswith("chain intact:")


def test_the_daily_pdf_prints_the_chain_head(logbook, guard_client, site):
    count, digest = chain.head()
    response = guard_client.get(f"{reverse('calls:logbook-day-pdf')}?site={site.pk}")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"{count}:{digest}" in text.replace("\n", "")


def test_a_pdf_export_prints_and_records_the_chain_head(logbook, administrator):
    head = chain.head_text()
    output = io.BytesIO()
    record = exports.write_export(
        filters=exports.make_filters(
            user=administrator,
            dataset="log",
            format="pdf",
            site_codes=["NC"],
            date_from=datetime.date(2020, 1, 1),
            date_to=datetime.date(2030, 12, 31),
        ),
        actor=administrator,
        output=output,
    )
    text = "".join(page.extract_text() for page in PdfReader(output).pages)
    assert head in text.replace("\n", "")
    assert record.chain_head == head
    assert ExportRecord.objects.get().chain_head == head


def test_the_export_history_shows_the_chain_head(logbook, administrator, administrator_client):
    output = io.BytesIO()
    record = exports.write_export(
        filters=exports.make_filters(
            user=administrator,
            dataset="registry",
            format="csv",
            site_codes=["NC"],
            date_from=None,
            date_to=None,
        ),
        actor=administrator,
        output=output,
    )
    page = administrator_client.get(reverse("exports:export-list")).content.decode()
    assert record.chain_head in page


def test_installed_chain_sql_is_current():
    """The migration froze the content function's columns: a new amendable field
    needs a new migration of the chain SQL (and a new copy of the column lists)."""
    assert chain.CALL_AMENDABLE == CALL_AMENDABLE_FIELD_TYPES
    assert chain.LETTER_AMENDABLE == LETTER_AMENDABLE_FIELD_TYPES
    migration = importlib.import_module("camp.migrations.0009_chain_audit_trail")
    assert migration.INSTALL_SQL.strip() == chain.install_sql().strip()


def test_every_event_table_is_chained_with_every_column():
    """A model newly tracked, or a field added to one, needs its event table's columns
    in the chain: in EVENT_COLUMNS for a new table, in CHAINED_WHEN_SET for a new column
    (the links already made do not cover it), with a new migration of the chain SQL."""
    tables = {
        model._meta.db_table: [
            # A generated column is computed from the chained ones.
            field.column
            for field in model._meta.concrete_fields
            if not field.generated
        ]
        for model in history.event_models()
    }
    assert sorted(chain.EVENT_COLUMNS) == sorted(tables)
    for table, columns in tables.items():
        chained = [*chain.EVENT_ENVELOPE, *chain.EVENT_COLUMNS[table]]
        assert sorted(chained + chain.CHAINED_WHEN_SET.get(table, [])) == sorted(columns), table


def test_the_row_history_is_chained_and_verified(site, supervisor):
    call = CallFactory(line__site=site)
    call_services.amend_call(
        call=call, changes={"locality": "Odesa"}, reason="Misheard", actor=supervisor
    )
    events = list(Call.pgh_event_model.objects.filter(pgh_obj=call).order_by("pgh_id"))
    assert [event.pgh_label for event in events] == ["insert", "update"]
    # Chained as the transaction commits; verifying chains this one's first.
    assert [links_of_event(event) for event in events] == [[], []]
    output = verify_output()
    assert output.startswith(f"chain intact: {ChainLink.objects.count()} links")
    assert all(len(links_of_event(event)) == 1 for event in events)


def test_the_row_history_is_chained_at_commit_without_the_chains_lock_before(site):
    LineFactory(site=site)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT count(*) FROM camp_chainpending")
        assert cursor.fetchone()[0] > 0
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT count(*) FROM camp_chainpending")
        assert cursor.fetchone() == (0,)


def links_of_event(event) -> list[ChainLink]:
    return list(ChainLink.objects.filter(table_name=event._meta.db_table, row_id=event.pgh_id))


def test_a_rewritten_row_history_breaks_the_chain(site, supervisor):
    """Who did it is in the event's context: rewriting it shows."""
    call = CallFactory(line__site=site)
    event = Call.pgh_event_model.objects.get(pgh_obj=call)
    verify_output()
    (link,) = links_of_event(event)
    as_superuser_behind_the_triggers(
        "UPDATE calls_callevent SET pgh_context = '{\"user\": 1}' WHERE pgh_id = %s",
        [event.pgh_id],
    )
    assert broken_message() == (
        f"broken at link {link.position}: calls_callevent row {event.pgh_id} (content changed)"
    )


def test_an_audit_entry_chains_its_context_and_older_entries_still_verify(site, supervisor):
    """Entries written before the context column existed (NULL) hash as they did."""
    entry = audit.record(actor=supervisor, action="camp.site.checked", target=site, site=site)
    assert entry.context_id is not None
    as_superuser_behind_the_triggers(
        "UPDATE camp_auditentry SET context_id = gen_random_uuid() WHERE id = %s", [entry.pk]
    )
    (link,) = links_of(entry)
    assert broken_message() == (
        f"broken at link {link.position}: camp_auditentry row {entry.pk} (content changed)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT camp_chain_content('camp_auditentry', %s),"
            " ROW(id, actor_id, action, target_type, target_id, site_id, data, created_at)::text"
            " FROM camp_auditentry WHERE id = %s",
            [entry.pk, entry.pk],
        )
        with_context, without = cursor.fetchone()
        assert with_context.startswith(without + ",")
        as_superuser_behind_the_triggers(
            "UPDATE camp_auditentry SET context_id = NULL WHERE id = %s", [entry.pk]
        )
        cursor.execute("SELECT camp_chain_content('camp_auditentry', %s)", [entry.pk])
        assert cursor.fetchone() == (without,)
