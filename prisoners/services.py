"""Every change to the prisoner registry goes through these functions.

Each runs in one transaction, writes its audit entry in it, and raises
``RegistryError`` (with a message for the user) when a rule refuses the change.
"""

import datetime

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from camp import audit
from camp.models import Site
from prisoners.models import MAX_APPROVED_CONTACTS, Contact, Prisoner, StatusChange
from prisoners.transliteration import to_latin


class RegistryError(ValidationError):
    """A registry rule refused the change; the message is for the user."""


REGISTRATION_FIELDS = [
    "identity",
    "surname",
    "first_names",
    "patronymic",
    "alias",
    "rank",
    "service_number",
    "date_of_birth",
    "place_of_birth",
    "power_depends_on",
    "father_first_name",
    "mother_maiden_name",
    "person_to_inform",
    "person_to_inform_address",
    "captured_on",
    "place_of_capture",
    "arrived_on",
    "housing_unit",
    "languages",
]


def normalize_phone_number(raw: str, *, default_region: str = "UA") -> str:
    """Return ``raw`` in E.164, or raise RegistryError when it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise RegistryError(_("“%(number)s” is not a phone number.") % {"number": raw}) from None
    if not phonenumbers.is_valid_number(number):
        raise RegistryError(_("“%(number)s” is not a valid phone number.") % {"number": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _transliterate(prisoner: Prisoner) -> None:
    prisoner.surname_latin = to_latin(prisoner.surname)
    prisoner.first_names_latin = to_latin(prisoner.first_names)
    prisoner.patronymic_latin = to_latin(prisoner.patronymic)


def check_registration(prisoner: Prisoner) -> None:
    """Raise RegistryError when ``prisoner`` breaks a registration rule.

    The messages are keyed by the field they concern. Forms call this too, so their
    errors stand beside the fields instead of as a database constraint's name.
    """
    # Before a site is chosen (a form still being filled), the active time zone's today.
    today = prisoner.site.today() if prisoner.site_id else timezone.localdate()
    errors = {}
    if prisoner.date_of_birth and prisoner.date_of_birth > today:
        errors["date_of_birth"] = _("The date of birth cannot be in the future.")
    if prisoner.arrived_on and prisoner.arrived_on > today:
        errors["arrived_on"] = _("The arrival date cannot be in the future.")
    if prisoner.captured_on and prisoner.arrived_on and prisoner.captured_on > prisoner.arrived_on:
        errors["captured_on"] = _("The date of capture cannot be after the arrival date.")
    identity = Prisoner.Identity
    if prisoner.identity == identity.FULL:
        if not prisoner.surname:
            errors["surname"] = _("A full identity needs the surname.")
        if not prisoner.first_names:
            errors["first_names"] = _("A full identity needs the first names.")
    elif prisoner.identity == identity.FIRST_NAME_ONLY and not prisoner.first_names:
        errors["first_names"] = _("Give at least the first name.")
    elif prisoner.identity == identity.ALIAS and not prisoner.alias:
        errors["alias"] = _("Give the alias the prisoner is known by.")
    elif prisoner.identity == identity.WITHHELD and not (prisoner.first_names or prisoner.alias):
        errors["alias"] = _("A withheld identity needs a first name or an alias to show.")
    if errors:
        raise RegistryError(errors)


@transaction.atomic
def register_prisoner(*, site: Site, actor, **fields) -> Prisoner:
    """Register a prisoner at ``site`` and issue the next ISN of that site (e.g. ``MC-00042``)."""
    prisoner = Prisoner(
        site=site, **{name: fields[name] for name in REGISTRATION_FIELDS if name in fields}
    )
    check_registration(prisoner)
    _transliterate(prisoner)
    # The row lock makes concurrent registrations at one site take numbers in turn.
    locked_site = Site.objects.select_for_update().get(pk=site.pk)
    locked_site.last_serial += 1
    locked_site.save(update_fields=["last_serial"])
    prisoner.isn = f"{locked_site.code}-{locked_site.last_serial:05d}"
    prisoner.save()
    StatusChange.objects.create(
        prisoner=prisoner,
        status=prisoner.status,
        effective_on=prisoner.arrived_on,
        # No note: the status history words the first entry in the reader's language.
        recorded_by=actor,
    )
    audit.record(actor=actor, action="prisoners.prisoner.registered", target=prisoner, site=site)
    return prisoner


@transaction.atomic
def update_prisoner(*, prisoner: Prisoner, actor, **fields) -> Prisoner:
    """Change registration fields; the audit entry keeps the old and new values."""
    locked = Prisoner.objects.select_for_update().get(pk=prisoner.pk)
    changes = {}
    for name in REGISTRATION_FIELDS:
        if name in fields and getattr(locked, name) != fields[name]:
            changes[name] = {
                "from": _jsonable(getattr(locked, name)),
                "to": _jsonable(fields[name]),
            }
            setattr(locked, name, fields[name])
    if not changes:
        return locked
    check_registration(locked)
    _transliterate(locked)
    locked.save()
    audit.record(
        actor=actor,
        action="prisoners.prisoner.updated",
        target=locked,
        site=locked.site,
        data=changes,
    )
    return locked


def _jsonable(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


@transaction.atomic
def change_status(
    *, prisoner: Prisoner, status: str, effective_on: datetime.date, note: str, actor
) -> StatusChange:
    """Record a dated status change; the history keeps every earlier entry."""
    locked = Prisoner.objects.select_for_update().get(pk=prisoner.pk)
    if status == locked.status:
        raise RegistryError({"status": _("The prisoner already has this status.")})
    if effective_on > locked.site.today():
        raise RegistryError(
            {"effective_on": _("A status change cannot take effect in the future.")}
        )
    latest = locked.status_changes.order_by("-effective_on").first()
    if latest and effective_on < latest.effective_on:
        raise RegistryError(
            {
                "effective_on": _(
                    "The last change took effect on %(date)s; this one cannot be earlier."
                )
                % {"date": date_format(latest.effective_on)}
            }
        )
    change = StatusChange.objects.create(
        prisoner=locked, status=status, effective_on=effective_on, note=note, recorded_by=actor
    )
    previous = locked.status
    locked.status = status
    locked.save(update_fields=["status"])
    audit.record(
        actor=actor,
        action="prisoners.prisoner.status_changed",
        target=locked,
        site=locked.site,
        data={"from": previous, "to": status, "effective_on": effective_on.isoformat()},
    )
    prisoner.status = status
    return change


@transaction.atomic
def add_contact(*, prisoner: Prisoner, actor, phone_number: str, **fields) -> Contact:
    """Add a contact, pending until a supervisor approves it."""
    number = normalize_phone_number(phone_number, default_region=fields.get("country") or "UA")
    if (
        prisoner.contacts.exclude(status=Contact.Status.REVOKED)
        .filter(phone_number=number)
        .exists()
    ):
        raise RegistryError(
            {"phone_number": _("This prisoner already has this number as a contact.")}
        )
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                prisoner=prisoner, phone_number=number, requested_by=actor, **fields
            )
    except IntegrityError:
        # Lost a race with an identical request: the unique constraint held.
        raise RegistryError(
            {"phone_number": _("This prisoner already has this number as a contact.")}
        ) from None
    audit.record(actor=actor, action="prisoners.contact.added", target=contact, site=prisoner.site)
    return contact


@transaction.atomic
def approve_contact(*, contact: Contact, actor) -> Contact:
    """Approve a pending contact, keeping at most MAX_APPROVED_CONTACTS approved per prisoner."""
    # Locking the prisoner serialises approvals, so two at once cannot both pass the limit.
    Prisoner.objects.select_for_update().get(pk=contact.prisoner_id)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.status != Contact.Status.PENDING:
        raise RegistryError(_("Only a pending contact can be approved."))
    approved = Contact.objects.approved().filter(prisoner_id=contact.prisoner_id).count()
    if approved >= MAX_APPROVED_CONTACTS:
        raise RegistryError(
            _("This prisoner already has %(limit)d approved contacts; revoke one first.")
            % {"limit": MAX_APPROVED_CONTACTS}
        )
    contact.status = Contact.Status.APPROVED
    contact.decided_by = actor
    contact.decided_at = timezone.now()
    contact.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(
        actor=actor, action="prisoners.contact.approved", target=contact, site=contact.prisoner.site
    )
    return contact


@transaction.atomic
def revoke_contact(*, contact: Contact, reason: str, actor) -> Contact:
    """Revoke a pending or approved contact; the reason is kept."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.status == Contact.Status.REVOKED:
        raise RegistryError(_("This contact is already revoked."))
    if not reason.strip():
        raise RegistryError({"reason": _("Give the reason for revoking.")})
    contact.status = Contact.Status.REVOKED
    contact.revoke_reason = reason.strip()
    contact.decided_by = actor
    contact.decided_at = timezone.now()
    contact.save(update_fields=["status", "revoke_reason", "decided_by", "decided_at"])
    audit.record(
        actor=actor,
        action="prisoners.contact.revoked",
        target=contact,
        site=contact.prisoner.site,
        data={"reason": contact.revoke_reason},
    )
    return contact
