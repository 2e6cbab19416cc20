"""Set up the database role the application connects as, with no more rights than it uses.

Run as the role that owns the tables (the one ``migrate`` runs as), after every
``migrate``: grants are given table by table, so a table a later migration creates has
none until this runs again (no ``ALTER DEFAULT PRIVILEGES``, on purpose: a new table's
rights are decided here, not inherited).

The application role owns nothing and holds no UPDATE, DELETE or TRUNCATE right on the
append-only record (amendments, status history, the audit trail and its row history,
exports). It may UPDATE
``calls_call`` and ``letters_letter``: an open call is ended by an UPDATE, and an
amendment's trigger, which runs with the application's rights, writes the corrected
values into the entry; those tables' triggers refuse every other UPDATE.
"""

import re

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg import sql

from camp import history

# Tables of the camp's own apps get SELECT and INSERT; UPDATE and DELETE only where a
# service (or a trigger running for one) needs it, as listed here.
OWN_APPS = ("calls_", "camp_", "letters_", "prisoners_")
APPEND_ONLY = frozenset(
    {
        "calls_amendment",
        "camp_auditentry",
        "camp_exportrecord",
        "letters_letteramendment",
        "prisoners_statuschange",
        # The row history: its triggers write it with the rights of whoever changed the row.
        *(model._meta.db_table for model in history.event_models()),
    }
)
UPDATED = frozenset(
    {
        "calls_airraidalert",  # end_alert
        "calls_booking",  # cancel, no-show, suspended by an alert or a suspension
        "calls_call",  # end_call, an alert ends open calls, amendments (trigger-guarded)
        "calls_callslot",  # suspended_by an alert
        "calls_line",  # set_line_active
        "camp_site",  # last_serial of the prisoner numbers
        "camp_user",  # last_login, passwords, the admin's staff page
        "letters_letter",  # amendments (trigger-guarded)
        "letters_sentmail",  # the register's counting triggers
        "prisoners_contact",  # approve, revoke; the refresh triggers
        "prisoners_prisoner",  # update, change_status; the refresh triggers
    }
)
DELETED = frozenset(
    {
        "camp_chainpending",  # the row history's queue, drained as its links are made
        "calls_schedulewindow",  # remove_schedule_window
        "camp_user_groups",  # the admin's staff page
        "camp_user_sites",
        "camp_user_user_permissions",
    }
)
# Framework and third-party tables (sessions, auth, login throttling, second factors)
# are theirs to manage: all four rights. Migrations are the owner's alone.
# pghistory's shared context table: the trail keeps each event's context in the event
# itself (PGHISTORY_CONTEXT_FIELD), so nothing may write here, nor update a context.
READ_ONLY = frozenset({"django_migrations", "pghistory_context"})

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def privileges_for(table: str) -> list[str]:
    if table in READ_ONLY:
        return ["SELECT"]
    if not table.startswith(OWN_APPS):
        return ["SELECT", "INSERT", "UPDATE", "DELETE"]
    if table in APPEND_ONLY:
        return ["SELECT", "INSERT"]
    return [
        "SELECT",
        "INSERT",
        *(["UPDATE"] if table in UPDATED else []),
        *(["DELETE"] if table in DELETED else []),
    ]


class Command(BaseCommand):
    help = gettext_lazy(
        "Create or update the database role the application connects as: SELECT and "
        "INSERT everywhere, UPDATE and DELETE only where the application needs them, "
        "never on the append-only record, no TRUNCATE, no ownership. Run as the tables' "
        "owner after every migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", default="camp_app", help=_("Role name (default camp_app)."))
        parser.add_argument(
            "--login",
            action="store_true",
            help=_("Allow the role to log in (for trust, peer or certificate authentication)."),
        )
        parser.add_argument(
            "--password", default="", help=_("Allow the role to log in with this password.")
        )

    def handle(self, *args, role: str, login: bool, password: str, **options):
        if not ROLE_NAME.match(role):
            raise CommandError(
                _("“%(role)s” is not a plain lower-case role name.") % {"role": role}
            )
        name = sql.Identifier(role)
        with transaction.atomic(), connection.cursor() as cursor:

            def run(statement, *params):
                cursor.execute(statement.as_string(cursor.connection), params or None)

            cursor.execute(
                "SELECT rolsuper OR rolbypassrls OR rolcreaterole FROM pg_roles WHERE rolname = %s",
                [role],
            )
            found = cursor.fetchone()
            if found is None:
                run(sql.SQL("CREATE ROLE {} NOLOGIN").format(name))
                self.stdout.write(_("Created role %(role)s.") % {"role": role})
            elif found[0]:
                raise CommandError(
                    _(
                        "Role %(role)s is a superuser or may bypass row security or create "
                        "roles: an application role must be able to do neither."
                    )
                    % {"role": role}
                )
            if password:
                run(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(name, sql.Literal(password)))
            elif login:
                run(sql.SQL("ALTER ROLE {} LOGIN").format(name))

            cursor.execute(
                """
                SELECT tablename, tableowner FROM pg_tables
                WHERE schemaname = current_schema() ORDER BY tablename
                """
            )
            tables = cursor.fetchall()
            owners = sorted({owner for _table, owner in tables if pg_has_role(cursor, role, owner)})
            if owners:
                raise CommandError(
                    _(
                        "Role %(role)s owns the tables or may act as their owner (%(owners)s); "
                        "the application must connect as a role that does not."
                    )
                    % {"role": role, "owners": ", ".join(owners)}
                )

            cursor.execute("SELECT current_schema()")
            schema = sql.Identifier(cursor.fetchone()[0])
            run(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, name))
            run(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, name))
            run(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(schema, name))
            for table, _owner in tables:
                privileges = privileges_for(table)
                run(
                    sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                        sql.SQL(", ").join(map(sql.SQL, privileges)), sql.Identifier(table), name
                    )
                )
                self.stdout.write(f"{table}: {', '.join(privileges)}", self.style.SQL_KEYWORD)
            run(
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                    schema, name
                )
            )
        self.stdout.write(
            self.style.SUCCESS(_("Role %(role)s has the application's rights.") % {"role": role})
        )


def pg_has_role(cursor, role: str, owner: str) -> bool:
    """True if ``role`` is ``owner`` or may become it (membership, SET ROLE)."""
    cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
    return cursor.fetchone()[0]
