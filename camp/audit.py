"""The audit trail: who did what to which object, and which rows it changed.

One trail, two kinds of rows written in the same history context (``camp.history``):

- an ``AuditEntry`` for each business action (``record``, called by the services in
  their transaction: ``prisoners.contact.approved`` ...) and for each event that
  changes no row of its own: a log-in, a failed log-in, a lock-out, an export, a
  withheld identity shown; the database writes one itself for a change made outside
  the application (``camp.database.changed``);
- the row history: every insert, update and delete of the camp's tables, written by
  triggers whatever wrote the row.

The audit page and each object's history panel list the entries, each with the row
changes of its context attached (``with_changes``). Actions read in the user's
language (``ACTION_LABELS``); the dotted codes stay in the database.
"""

import datetime
import functools
from dataclasses import dataclass
from typing import Any

import pghistory
from axes.signals import user_locked_out
from django.apps import apps
from django.contrib.auth.signals import user_login_failed
from django.db import models
from django.db.models.expressions import RawSQL
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from camp import history
from camp.models import AuditEntry, Site, User
from camp.throttling import client_ip_address

ACTION_LABELS = {
    "calls.alert.started": _("Air-raid alert"),
    "calls.alert.ended": _("Air-raid all clear"),
    "calls.booking.created": _("Slot booked"),
    "calls.booking.cancelled": _("Booking cancelled"),
    "calls.booking.no_show": _("No-show recorded"),
    "calls.booking.suspended": _("Booking suspended"),
    "calls.call.started": _("Call started"),
    "calls.call.ended": _("Call ended"),
    "calls.call.amended": _("Logbook entry amended"),
    "calls.call.transcribed": _("Paper logbook entry transcribed"),
    "calls.callpolicy.set": _("Call policy set"),
    "calls.export.created": _("Export made"),
    "calls.export.identities_revealed": _("Withheld identities included in an export"),
    "calls.line.added": _("Line added"),
    "calls.line.activated": _("Line back in service"),
    "calls.line.deactivated": _("Line out of service"),
    "calls.report.frequency_exported": _("Call frequency downloaded"),
    "calls.schedulewindow.added": _("Schedule window added"),
    "calls.schedulewindow.removed": _("Schedule window removed"),
    "calls.slots.generated": _("Slots generated"),
    "calls.suspension.added": _("Calls suspended"),
    "camp.database.changed": _("Changed directly in the database"),
    "camp.login.succeeded": _("Logged in"),
    "camp.login.failed": _("Log-in refused"),
    "camp.login.locked_out": _("Locked out after failed log-ins"),
    "camp.site.saved": _("Site saved in the administration"),
    "camp.staff.saved": _("Staff account saved in the administration"),
    "camp.staff.password_set": _("Password set by an administrator"),
    "camp.two_factor.enrolled": _("Two-factor log-in set up"),
    "letters.letter.recorded": _("Item of mail recorded"),
    "letters.letter.status_changed": _("Item of mail moved on"),
    "letters.letter.amended": _("Item of mail corrected"),
    "prisoners.contact.added": _("Contact proposed"),
    "prisoners.contact.approved": _("Contact approved"),
    "prisoners.contact.revoked": _("Contact revoked"),
    "prisoners.prisoner.registered": _("Prisoner registered"),
    "prisoners.prisoner.updated": _("Registration changed"),
    "prisoners.prisoner.status_changed": _("Status changed"),
    "prisoners.prisoner.identity_revealed": _("Withheld identity shown"),
}

# How a row change reads: "Call created", "Contact changed" ...
ROW_CHANGE_LABELS = {
    "insert": _("%(thing)s created"),
    "update": _("%(thing)s changed"),
    "delete": _("%(thing)s deleted"),
}
# Row changes shown with each entry; the rest are counted as "and more".
CHANGES_SHOWN = 10


def target_label(obj: models.Model) -> str:
    return obj._meta.label_lower


def action_label(action: str) -> str:
    """The action in the active language; an unknown code (an entry written by an older
    version) reads as itself rather than not at all."""
    return ACTION_LABELS.get(action, action)


def model_label(label: str) -> str:
    """``calls.call`` as the user reads it: "Call"."""
    try:
        return capfirst(apps.get_model(label)._meta.verbose_name)
    except LookupError:
        return label


def record(
    *, actor, action: str, target: models.Model | None, site: Site | None, data=None
) -> AuditEntry:
    """Append one entry; ``action`` is dotted, e.g. ``prisoners.contact.approved``, and
    has a label in ``ACTION_LABELS``. The entry joins the history context of the
    request or command (the database fills ``context_id``), so the row changes written
    in it are the entry's. ``target`` None: about a name no account has."""
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        target_type=target_label(target) if target is not None else target_label(User()),
        target_id=str(target.pk) if target is not None else "",
        site=site,
        data=data or {},
    )


def command_context(name: str) -> pghistory.context:
    """The history context of a management command: its rows and entries belong together,
    and are not taken for changes made outside the application."""
    return pghistory.context(command=name)


# --- Events that change no row of their own -------------------------------------------


def _address(request) -> str | None:
    # The test client's and scripts' authenticate() comes without a request.
    return client_ip_address(request) if request is not None else None


def logged_in(request, user) -> None:
    """A log-in with username and password succeeded (the log-in page): also the first
    step of a two-factor log-in."""
    record(
        actor=user,
        action="camp.login.succeeded",
        target=user,
        site=None,
        data={"address": _address(request)},
    )


def _login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username", "")
    account = User.objects.filter(username=username).first()
    record(
        actor=None,
        action="camp.login.failed",
        target=account,
        site=None,
        data={"username": username, "address": _address(request)},
    )


def _locked_out(sender, request, username, ip_address, **kwargs):
    record(
        actor=None,
        action="camp.login.locked_out",
        target=User.objects.filter(username=username).first(),
        site=None,
        data={"username": username, "address": ip_address},
    )


def connect_signals() -> None:
    """Refused log-ins and lock-outs go into the trail (CampConfig.ready); a log-in that
    succeeds is recorded by the log-in page (``logged_in``), not by every ``login()``."""
    user_login_failed.connect(_login_failed, dispatch_uid="camp.audit.login_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="camp.audit.locked_out")


# --- Reading the trail ----------------------------------------------------------------


@functools.cache
def _changes_sql() -> str:
    """A correlated subquery: the first ``CHANGES_SHOWN`` + 1 row changes of the
    entry's context (``camp_auditentry.context_id``) across every event table, as a
    JSON array; for an update, with the object's row before it. An entry of a site shows
    only rows of that site: a command's context spans sites. One index range scan per
    event table (``<table>_ctx``), and an index lookup or two per change shown."""
    branches = []
    for model in history.event_models():
        table = model._meta.db_table
        label = model.pgh_tracked_model._meta.label_lower
        branches.append(
            f"""(SELECT '{label}' AS model, e.pgh_id, e.pgh_label AS operation,
                       e.pgh_obj_id::text AS object_id, e.pgh_created_at AS at,
                       to_jsonb(e) AS after,
                       CASE WHEN e.pgh_label = 'update' THEN (
                           SELECT to_jsonb(p) FROM {table} AS p
                           WHERE p.pgh_obj_id = e.pgh_obj_id AND p.pgh_id < e.pgh_id
                           ORDER BY p.pgh_id DESC LIMIT 1) END AS before
                FROM {table} AS e
                WHERE e.pgh_context_id = camp_auditentry.context_id
                  AND (camp_auditentry.site_id IS NULL
                       OR {model.pgh_site_sql.format(row="e")} = camp_auditentry.site_id)
                ORDER BY e.pgh_id LIMIT {CHANGES_SHOWN + 1})"""
        )
    union = "\n UNION ALL ".join(branches)
    return f"""(SELECT coalesce(jsonb_agg(change ORDER BY change.at, change.model,
                                          change.pgh_id), '[]')
               FROM (SELECT * FROM ({union}) AS found
                     ORDER BY at, model, pgh_id LIMIT {CHANGES_SHOWN + 1}) AS change)"""


def with_changes(entries: models.QuerySet) -> models.QuerySet:
    """``entries`` with their actors and the row changes of their contexts
    (``raw_changes``), in the same query."""
    return entries.select_related("actor").annotate(
        raw_changes=RawSQL(_changes_sql(), [], output_field=models.JSONField())
    )


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RowChange:
    label: str
    thing: str
    object_id: str
    fields: list[FieldChange]


@dataclass(frozen=True)
class TrailEntry:
    """An entry as the pages show it: who, when, what (translated), about what, and
    the row changes of its context."""

    entry: AuditEntry
    label: str
    target: str
    changes: list[RowChange]
    more_changes: bool

    @property
    def created_at(self) -> datetime.datetime:
        return self.entry.created_at

    @property
    def actor(self) -> User | None:
        return self.entry.actor

    @property
    def action(self) -> str:
        return self.entry.action


def _field_changes(model: type[models.Model], before: dict | None, after: dict) -> list:
    if before is None:
        return []
    names = {field.attname: field for field in model._meta.concrete_fields}
    return [
        FieldChange(
            name=capfirst(names[column].verbose_name),
            before=before.get(column),
            after=value,
        )
        for column, value in after.items()
        if column in names and column != "id" and before.get(column) != value
    ]


def _row_change(raw: dict) -> RowChange:
    model = apps.get_model(raw["model"])
    thing = capfirst(model._meta.verbose_name)
    return RowChange(
        label=ROW_CHANGE_LABELS[raw["operation"]] % {"thing": thing},
        thing=thing,
        object_id=raw["object_id"],
        fields=_field_changes(model, raw["before"], raw["after"]),
    )


def trail_entries(entries) -> list[TrailEntry]:
    """Entries read through ``with_changes``, as the pages show them."""
    shown = []
    for entry in entries:
        raw = entry.raw_changes or []
        shown.append(
            TrailEntry(
                entry=entry,
                label=action_label(entry.action),
                target=f"{model_label(entry.target_type)} {entry.target_id}".strip(),
                changes=[_row_change(change) for change in raw[:CHANGES_SHOWN]],
                more_changes=len(raw) > CHANGES_SHOWN,
            )
        )
    return shown


def history_for(obj: models.Model) -> list[TrailEntry]:
    """An object's trail entries, newest first, with their actors and row changes. One
    query."""
    return trail_entries(
        with_changes(
            AuditEntry.objects.filter(target_type=target_label(obj), target_id=str(obj.pk))
        )
    )
