"""Writing and reading the audit log. Services call ``record`` inside their transaction."""

from django.db import models

from camp.models import AuditEntry, Site


def target_label(obj: models.Model) -> str:
    return obj._meta.label_lower


def record(*, actor, action: str, target: models.Model, site: Site | None, data=None) -> AuditEntry:
    """Append one entry; ``action`` is dotted, e.g. ``prisoners.contact.approved``."""
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        target_type=target_label(target),
        target_id=str(target.pk),
        site=site,
        data=data or {},
    )


def history_for(obj: models.Model):
    """An object's audit entries, newest first, with their actors. One query."""
    return AuditEntry.objects.filter(
        target_type=target_label(obj), target_id=str(obj.pk)
    ).select_related("actor")
