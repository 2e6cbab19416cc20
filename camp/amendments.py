"""The SQL of append-only amendments, shared by every register that corrects rows
only through them (the call logbook, the register of letters).

An amendment row holds ``changes``: ``{field: {"from": old, "to": new}}``. An AFTER
INSERT trigger on the amendment table, built by ``apply_amendment_sql``, locks the
entry, checks every "from" against the entry's value now and writes the "to" values
into the entry's columns in the same statement; a BEFORE UPDATE trigger on the
entry, ``changes_only_by_amendment_sql``, refuses any other UPDATE. The columns then
always hold the current values, and the amendments are their history.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AmendmentRecord(models.Model):
    """What every amendment holds besides the entry it corrects: the changes, the
    reason, the author and the time. Applied in ``id`` order by the trigger."""

    # {field: {"from": old, "to": new}}; dates and times as ISO 8601 strings.
    changes = models.JSONField(_("changes"))
    reason = models.TextField(_("reason"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        # The order the trigger applied them in.
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""), name="%(app_label)s_%(class)s_has_reason"
            ),
        ]


def _value(field: str, key: str, field_types: dict[str, str]) -> str:
    return f"(NEW.changes -> '{field}' ->> '{key}')::{field_types[field]}"


def apply_amendment_sql(
    *,
    entry_table: str,
    entry_column: str,
    field_types: dict[str, str],
    check_entry: str = "",
    check_changes: str = "",
    count: str = "amendment_count = amendment_count + 1",
) -> str:
    """The body of the trigger that applies an inserted amendment to its entry.

    ``entry_table`` is the corrected table, ``entry_column`` the amendment's column
    naming its row (``call_id``), ``field_types`` each amendable column with its SQL
    type. The trigger must declare ``entry`` as ``<entry_table>%ROWTYPE``.
    ``check_entry`` runs once the entry is locked into ``entry`` (refuse entries not
    yet amendable); ``check_changes`` once ``NEW.changes`` has the right shape
    (refuse changes this kind of amendment may not make). ``count`` is the SET
    clause that counts amendments on the entry.
    """
    fields = list(field_types)
    set_clauses = ("," + chr(10) + "        ").join(
        f"{f} = CASE WHEN NEW.changes ? '{f}' THEN {_value(f, 'to', field_types)} ELSE {f} END"
        for f in fields
    )
    stale = " OR ".join(
        f"(NEW.changes ? '{f}' AND {_value(f, 'from', field_types)} IS DISTINCT FROM entry.{f})"
        for f in fields
    )
    return f"""
    SELECT * INTO entry FROM {entry_table} WHERE id = NEW.{entry_column} FOR UPDATE;{check_entry}
    IF jsonb_typeof(NEW.changes) <> 'object' OR NEW.changes = '{{}}'::jsonb OR EXISTS (
        SELECT 1 FROM jsonb_each(NEW.changes) AS change(field, value)
        WHERE change.field <> ALL (ARRAY[{", ".join(f"'{f}'" for f in fields)}])
           OR jsonb_typeof(change.value) <> 'object'
           OR NOT change.value ?& ARRAY['from', 'to']
    ) THEN
        RAISE EXCEPTION 'amendment of entry %: changes must map amendable fields to '
                        '{{"from": ..., "to": ...}}', NEW.{entry_column};
    END IF;{check_changes}
    IF {stale} THEN
        RAISE EXCEPTION 'amendment of entry %: a "from" value is not the entry''s current value',
            NEW.{entry_column};
    END IF;
    UPDATE {entry_table} SET
        {set_clauses},
        {count}
    WHERE id = NEW.{entry_column};
    RETURN NULL;
"""


def changes_only_by_amendment_sql(message: str) -> str:
    """The body of a BEFORE UPDATE trigger on the entry table: only the amendment
    trigger (one trigger level down) may change the row. ``message`` is a
    PL/pgSQL format string given ``OLD.id``."""
    return f"""
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION '{message}',
            OLD.id;
    END IF;
    RETURN NEW;
"""
