"""Backups: ``manage.py backup`` (pg_dump) and ``manage.py restore`` into a fresh database,
whose hash chain is verified there (camp.backups)."""

import io
import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from psycopg import sql

import camp.settings
from calls import services as call_services
from camp import backups, chain
from camp.models import ChainLink
from tests.factories import CallFactory, LetterFactory
from tests.served import database_url

# pg_dump and pg_restore see only what is committed.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)
ROOT = django_settings.BASE_DIR
ROWS = {
    "calls_call": "SELECT id, outcome, locality, notes, ended_at FROM calls_call ORDER BY id",
    "calls_amendment": "SELECT id, call_id, reason, changes FROM calls_amendment ORDER BY id",
    "letters_letter": "SELECT id, kind, notes FROM letters_letter ORDER BY id",
    "camp_chainlink": "SELECT position, table_name, row_id, hash FROM camp_chainlink "
    "ORDER BY position",
}


def in_command_language(message) -> str:
    """``message()`` as a command run in its own process says it: in the configured
    language (camp.settings), not the English the tests' own process speaks."""
    with translation.override(camp.settings.LANGUAGE_CODE):
        return message()


def _connect(name: str) -> psycopg.Connection:
    database = connection.settings_dict
    return psycopg.connect(
        host=database["HOST"] or None,
        port=database["PORT"] or None,
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        dbname=name,
        autocommit=True,
    )


def _drop(name: str) -> None:
    with _connect("postgres") as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def restored():
    """The name and URL of a database on the test server for a restore; dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restored"
    _drop(name)
    yield name, database_url({**connection.settings_dict, "NAME": name})
    _drop(name)


@pytest.fixture
def logbook(site, supervisor):
    """Closed calls, one amended, an open call, a letter: rows the chain covers, and one
    it does not yet."""
    calls = CallFactory.create_batch(3, line__site=site)
    call_services.amend_call(
        call=calls[0], changes={"locality": "Odesa"}, reason="Misheard", actor=supervisor
    )
    CallFactory(line__site=site, ended_at=None, outcome="")
    LetterFactory(prisoner=calls[1].prisoner)
    return calls


def _rows(conn) -> dict[str, list[tuple]]:
    return {table: conn.execute(query).fetchall() for table, query in ROWS.items()}


def _restore(path, url) -> str:
    out = io.StringIO()
    call_command("restore", str(path), database_url=url, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@committed
def test_a_backup_restores_into_a_fresh_database_with_every_entry_and_an_intact_chain(
    logbook, restored, tmp_path
):
    name, url = restored
    path = tmp_path / "camp.dump"
    out = io.StringIO()
    call_command("backup", output=path, stdout=out)
    size = f"{path.stat().st_size:,}"
    assert out.getvalue() == f"Backup written to {path} ({size} bytes).\n"
    count, head = chain.head()
    assert count > 0

    output = _restore(path, url)

    intact = in_command_language(
        lambda: _("chain intact: %(count)d links, head %(head)s") % {"count": count, "head": head}
    )
    assert output == f"Restored {path} into “{name}”.\n{intact}\n"
    with _connect(connection.settings_dict["NAME"]) as source, _connect(name) as copy:
        original = _rows(source)
        assert _rows(copy) == original
    assert len(original["calls_call"]) == 4
    assert len(original["calls_amendment"]) == 1
    assert len(original["letters_letter"]) == 1

    # The restored copy is checked as the live database is: a change made there behind
    # the triggers' back, by a superuser, is named.
    call = logbook[1]
    with _connect(name) as copy, copy.transaction():
        copy.execute("SET LOCAL session_replication_role = replica")
        copy.execute("UPDATE calls_call SET outcome = 'busy' WHERE id = %s", [call.pk])
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_REPLICA_URL"}
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_logbook"],
        cwd=ROOT,
        env=env | {"DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == f"CommandError: {_broken_at(call)}\n"


def _broken_at(call) -> str:
    position = ChainLink.objects.get(table_name="calls_call", row_id=call.pk).position
    return in_command_language(
        lambda: str(chain.Break(position, "calls_call", call.pk, "content changed"))
    )


@committed
def test_restoring_a_tampered_logbook_names_the_broken_entry_and_fails(logbook, restored, tmp_path):
    name, url = restored
    call = logbook[2]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE calls_call SET notes = 'Nothing said' WHERE id = %s", [call.pk])
    path = tmp_path / "camp.dump"
    call_command("backup", output=path, stdout=io.StringIO())
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("restore", str(path), database_url=url, stdout=out, stderr=err)

    assert raised.value.returncode == 1
    assert str(raised.value) == "The restored logbook does not verify (above)."
    assert out.getvalue() == f"Restored {path} into “{name}”.\n"
    assert err.getvalue() == f"CommandError: {_broken_at(call)}\n"


def test_a_database_without_the_logbook_is_neither_backed_up_nor_restored(db, restored, tmp_path):
    empty, url = restored
    with _connect("postgres") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(empty)))
    database = {**connection.settings_dict, "NAME": empty}
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_REPLICA_URL"}
    result = subprocess.run(
        [sys.executable, "manage.py", "backup", f"--output={tmp_path / 'refused.dump'}"],
        cwd=ROOT,
        env=env | {"DATABASE_URL": database_url(database)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    refused = in_command_language(
        lambda: _("The database holds no logbook yet: run “manage.py migrate” first.")
    )
    assert result.stderr == f"CommandError: {refused}\n"
    assert not (tmp_path / "refused.dump").exists()

    # A dump of some other database is not taken for a backup of the camp.
    path = tmp_path / "other.dump"
    backups.dump(database, server_major=connection.pg_version // 10000, path=path)
    _drop(empty)
    with pytest.raises(CommandError) as raised:
        call_command("restore", str(path), database_url=url)
    assert str(raised.value) == (
        f"{path} holds no logbook (no table camp_chainlink): it is not a backup of the camp."
    )


def test_restore_refuses_a_database_that_holds_tables(db, tmp_path):
    path = tmp_path / "camp.dump"
    path.write_bytes(b"PGDMP")
    url = database_url(connection.settings_dict)

    with pytest.raises(CommandError, match=r"already holds \d+ tables or sequences: restore "):
        call_command("restore", str(path), database_url=url)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{missing}", "--database-url=postgres://camp@db/camp"], r"^No backup file at .*\.$"),
        (
            ["{dump}", "--database-url=mysql://camp@db/camp"],
            "^The database URL must name a PostgreSQL database.$",
        ),
        (["{dump}"], "the following arguments are required: --database-url"),
    ],
)
def test_restore_refuses_bad_arguments(arguments, message, tmp_path):
    dump = tmp_path / "camp.dump"
    dump.write_bytes(b"PGDMP")
    values = {"dump": dump, "missing": tmp_path / "missing.dump"}
    with pytest.raises(CommandError, match=message):
        call_command("restore", *(argument.format(**values) for argument in arguments))


UNREACHABLE = "postgres://postgres@127.0.0.1:1/camp"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["restore", "{dump}", "--database-url", UNREACHABLE],
            lambda: (
                _("Cannot connect to the database “%(name)s” at %(host)s: %(error)s")
                % {"name": "camp", "host": "127.0.0.1:1", "error": ""}
            ),
        ),
        (["backup"], lambda: _("Cannot reach the database: %(error)s") % {"error": ""}),
    ],
)
def test_bad_arguments_give_a_message_and_no_traceback(arguments, message, tmp_path):
    dump = tmp_path / "camp.dump"
    dump.write_bytes(b"PGDMP")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_REPLICA_URL"}
    # The command's own database is unreachable too: nothing may need it before the check.
    env["DATABASE_URL"] = UNREACHABLE
    result = subprocess.run(
        [sys.executable, "manage.py", *(a.format(dump=dump) for a in arguments)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert in_command_language(message) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_pg_dump_older_than_the_server_is_refused(db, monkeypatch, tmp_path):
    old = backups.Program(path=tmp_path / "pg_dump", major=9)
    monkeypatch.setattr(backups, "newest_program", lambda name: old)
    server = connection.pg_version // 10000

    with pytest.raises(CommandError) as raised:
        call_command("backup", output=tmp_path / "camp.dump")

    assert str(raised.value) == (
        f"{old.path} is PostgreSQL 9, older than the server ({server}): "
        f"install postgresql-client-{server}."
    )
    assert not list(tmp_path.iterdir())


def test_the_newest_tools_are_chosen_and_can_dump_this_server(db):
    for name in ("pg_dump", "pg_restore"):
        program = backups.newest_program(name)
        assert program.major >= connection.pg_version // 10000
        assert program.path.name == name
