"""Database triggers that no session setting switches off.

pgtrigger wraps every trigger function in a check of the ``pgtrigger.ignore`` setting,
which any role that may write can ``SET LOCAL``: an append-only table would then take
an UPDATE, and an amendment would be stored without being applied. The triggers here
are installed from a template without that check; they are registered, migrated and
listed like any other pgtrigger trigger.

What still passes them is what passes every trigger: the table's owner may drop or
disable it, and a superuser may set ``session_replication_role = replica``. The
application's database role therefore owns no table (``manage.py grant_app_role``).
"""

import pgtrigger
from django.db import models
from pgtrigger import compiler


class UnconditionalTriggerSql(compiler.UpsertTriggerSql):
    """pgtrigger's installation SQL minus the ``pgtrigger.ignore`` check.

    Migrations name this class, so the template is versioned like pgtrigger's own:
    never edit it; add a new class for a new template.
    """

    def get_template(self) -> str:
        return """
            CREATE OR REPLACE FUNCTION {pgid}()
            RETURNS TRIGGER AS $$
                {declare}
                BEGIN
                    {func}
                END;
            $$ LANGUAGE plpgsql;

            DROP TRIGGER IF EXISTS {pgid} ON {table};
            CREATE {constraint} TRIGGER {pgid}
                {when} {operation} ON {table}
                {timing}
                {referencing}
                FOR EACH {level} {condition}
                EXECUTE PROCEDURE {execute};

            COMMENT ON TRIGGER {pgid} ON {table} IS '{hash}';
        """


class Unconditional(pgtrigger.Trigger):
    """A ``pgtrigger.Trigger`` that fires whatever ``pgtrigger.ignore`` says."""

    def compile(self, model: type[models.Model]) -> compiler.Trigger:
        return compiler.Trigger(
            name=self.name,
            sql=UnconditionalTriggerSql(
                pgid=self.get_pgid(model),
                declare=self.render_declare(model),
                func=self.render_func(model),
                table=model._meta.db_table,
                constraint="CONSTRAINT" if self.timing else "",
                when=self.when,
                operation=self.operation,
                timing=f"DEFERRABLE INITIALLY {self.timing}" if self.timing else "",
                referencing=self.referencing or "",
                level=self.level,
                condition=self.render_condition(model),
                execute=self.render_execute(model),
            ),
        )


class AppendOnly(Unconditional):
    """Refuses UPDATE and DELETE of any row (or only the ``operation`` given)."""

    when = pgtrigger.Before
    operation = pgtrigger.Update | pgtrigger.Delete
    func = "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;"


class RefuseTruncate(Unconditional):
    """Refuses TRUNCATE, which fires no row trigger (also when reached by CASCADE)."""

    level = pgtrigger.Statement
    when = pgtrigger.Before
    operation = pgtrigger.Truncate
    func = "RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME;"


def append_only(*, operation: pgtrigger.Operation | None = None) -> list[pgtrigger.Trigger]:
    """The triggers of an append-only table: no UPDATE or DELETE (or only ``operation``
    refused, where another trigger rules the rest) and no TRUNCATE."""
    name = "append_only" if operation is None else f"append_only_{str(operation).lower()}"
    return [
        AppendOnly(name=name, operation=operation),
        RefuseTruncate(name="append_only_truncate"),
    ]
