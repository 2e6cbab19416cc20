"""Row history: every insert, update and delete of the camp's tables, kept by triggers.

Each tracked model gets an event table (``django-pghistory``: ``CallEvent`` for
``Call`` ...) that a statement-level trigger fills in the same statement as the
change, so no code path, COPY or raw SQL passes it. An event holds the row as it
was after the change (before it, for a delete), its label (``insert``, ``update``,
``delete``) and its context: ``pgh_context_id``, one UUID per request, command or
database transaction, and ``pgh_context``, what the application knew then (the
acting user's id and the request path, set by ``pghistory``'s middleware; the
command's name; or, outside the application, the database user).

The row history and the business actions are one trail: an ``AuditEntry`` (a
business action of ``camp.audit``, a log-in, a reveal ...) is written in the same
context, and ``camp.audit`` shows each entry with the row changes of its context.
A change made outside the application (a database session with no context) gets a
context of its own, and an ``AuditEntry`` "changed directly in the database" that
names its first row, from ``OutsideApplication``: so it is in the trail too.

Event tables are append-only (``camp.triggers``) and hash-chained (``camp.chain``).
"""

import pghistory
import pghistory.models
import pghistory.trigger
import pgtrigger
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from camp.triggers import Unconditional, append_only

# The action of the audit entry the database writes for a change made outside it.
DATABASE_CHANGED = "camp.database.changed"

# ``camp_history_context_id()``: the transaction's history context, begun here if the
# application set none (a database session of its own): pghistory's settings then
# name a new context whose metadata is the database user, for the rest of the
# transaction. ``AuditEntry.context_id`` defaults to it.
CONTEXT_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION camp_history_context_id() RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    context text := NULLIF(current_setting('pghistory.context_id', true), '');
BEGIN
    IF context IS NULL THEN
        context := gen_random_uuid()::text;
        PERFORM set_config('pghistory.context_id', context, true),
                set_config('pghistory.context_metadata',
                           jsonb_build_object('database_user', session_user)::text, true);
    END IF;
    RETURN context::uuid;
END;
$$;"""
DROP_CONTEXT_FUNCTION_SQL = "DROP FUNCTION IF EXISTS camp_history_context_id();"


class OutsideApplication(Unconditional):
    """On an event table: an event written with no context (the change was made in a
    database session, not by the application) begins one, with an audit entry
    naming the row, so that the change is in the trail like any other. Fires only
    for the first such event of a transaction: the later ones find the context set.

    ``site`` is the event model's ``pgh_site_sql`` (see ``track``).
    """

    when = pgtrigger.Before
    operation = pgtrigger.Insert
    condition = pgtrigger.Q(new__pgh_context_id__isnull=True)

    def __init__(self, *, target_type: str, site: str, **kwargs):
        site = site.format(row="NEW")
        func = f"""
            IF NULLIF(current_setting('pghistory.context_id', true), '') IS NULL THEN
                INSERT INTO camp_auditentry
                    (actor_id, action, target_type, target_id, site_id, data, created_at)
                VALUES (NULL, '{DATABASE_CHANGED}', '{target_type}', NEW.pgh_obj_id::text,
                        {site}, jsonb_build_object('database_user', session_user), now());
            END IF;
            NEW.pgh_context_id := camp_history_context_id();
            NEW.pgh_context := current_setting('pghistory.context_metadata')::jsonb;
            RETURN NEW;
        """
        super().__init__(name="outside_application", func=func, **kwargs)


# What pghistory's statement-level SQL adds to attach its shared context table, which it
# does whatever the context field: with the context kept in each event (settings), it
# would only write a context row per statement that nothing reads.
_ATTACH_SHARED_CONTEXT = "WITH _pgh_attached_context AS ( SELECT _pgh_attach_context() AS value ) "
_JOIN_SHARED_CONTEXT = ", _pgh_attached_context;"


class _UnconditionalEvent(pghistory.trigger.Event):
    """pghistory's event trigger, installed without the ``pgtrigger.ignore`` check
    (``camp.triggers``): no session setting keeps a change out of the history. Nor does
    it write pghistory's shared context table."""

    compile = Unconditional.compile

    def get_func(self, model):
        sql = super().get_func(model).func
        if _ATTACH_SHARED_CONTEXT not in sql or _JOIN_SHARED_CONTEXT not in sql:
            raise ImproperlyConfigured(
                "pghistory's event SQL changed: review camp.history._UnconditionalEvent."
            )
        return pgtrigger.Func(
            sql.replace(_ATTACH_SHARED_CONTEXT, "").replace(_JOIN_SHARED_CONTEXT, ";")
        )


class _UnconditionalTracker:
    def add_event_trigger(self, event_model):
        pgtrigger.register(
            _UnconditionalEvent(
                event_model=event_model,
                label=self.label,
                name=self.trigger_name,
                row=self.row,
                operation=self.operation,
                condition=self.condition,
                level=self.level,
            )
        )(event_model.pgh_tracked_model)


class _InsertEvent(_UnconditionalTracker, pghistory.InsertEvent):
    pass


class _UpdateEvent(_UnconditionalTracker, pghistory.UpdateEvent):
    pass


class _DeleteEvent(_UnconditionalTracker, pghistory.DeleteEvent):
    pass


def track(*, site: str, exclude: tuple[str, ...] = ()):
    """Keep the row history of the decorated model: every insert, update and delete.

    ``site`` is the SQL that finds the site of a row of the event table (which has the
    model's columns), written over ``{row}``: it gives the site of the entry
    ``OutsideApplication`` writes, and keeps the changes an entry shows to its site's.
    ``exclude`` names columns left out of the history: values derived by triggers from
    other rows (kept in those rows' history) and secrets; an UPDATE that changes only
    those writes no event.
    """

    def decorator(model: type[models.Model]) -> type[models.Model]:
        label = model._meta.label_lower
        return pghistory.track(
            _InsertEvent(),
            _UpdateEvent(),
            _DeleteEvent(),
            # Generated columns are computed from the others, in the event table too.
            exclude=[*exclude, *(f.name for f in model._meta.local_fields if f.generated)],
            level=pgtrigger.Statement,
            attrs={"pgh_site_sql": site},
            meta={
                "triggers": [
                    *append_only(),
                    OutsideApplication(target_type=label, site=site),
                ],
                "indexes": [
                    # The row changes of a trail entry: camp.audit.with_changes.
                    models.Index(
                        fields=["pgh_context_id", "pgh_id"], name=f"{model._meta.db_table}_ctx"
                    ),
                ],
            },
        )(model)

    return decorator


def event_models() -> list[type[models.Model]]:
    """The event model of every tracked model, in a fixed order."""
    return sorted(
        (
            model
            for model in apps.get_models()
            if issubclass(model, pghistory.models.Event) and model.pgh_tracked_model is not None
        ),
        key=lambda model: model._meta.db_table,
    )


def tracked() -> list[type[models.Model]]:
    """Every model whose rows have a history."""
    return [model.pgh_tracked_model for model in event_models()]
