"""Every change to the register of letters goes through these functions.

Each runs in one transaction, writes its audit entries in it, and raises
``LetterError`` with a message for the user when a rule refuses; a batch is
written whole or not at all. After an item is recorded, its row changes only
through ``LetterAmendment`` rows that a database trigger applies: status steps
(``record_step``) and corrections (``amend_letter``).
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from camp import audit
from camp.roles import SUPERVISORS, has_role
from letters.models import (
    AMENDABLE_FIELDS,
    STEP_DATES,
    Channel,
    Direction,
    Kind,
    Letter,
    LetterAmendment,
    Status,
)
from prisoners.models import Contact, Prisoner

# The reason each status step is recorded with.
STEP_REASONS = {
    "censored_on": gettext_lazy("Examined by the censor"),
    "dispatched_on": gettext_lazy("Dispatched"),
    "delivered_on": gettext_lazy("Delivered"),
    "returned_on": gettext_lazy("Returned"),
}


class LetterError(ValidationError):
    """A rule of the register of letters refused the change; the message is for the user."""


# The database's refusals, in the words of the forms.
CONSTRAINT_MESSAGES = {
    "letters_letter_capture_card_is_sent": gettext_lazy(
        "A capture card is always sent by the prisoner."
    ),
    "letters_letter_red_cross_message_by_icrc": gettext_lazy(
        "A Red Cross message goes through the ICRC."
    ),
    "letters_letter_contact_or_typed_name": gettext_lazy(
        "Give either one of the prisoner's contacts or a typed correspondent, not both."
    ),
    "letters_letter_written_before_handed_in": gettext_lazy(
        "It cannot be written after it was handed in."
    ),
    "letters_letter_censored_after_handed_in": gettext_lazy("The dates are out of order."),
    "letters_letter_received_never_dispatched": gettext_lazy(
        "Received mail is not dispatched by the camp."
    ),
    "letters_letter_dispatched_in_order": gettext_lazy("The dates are out of order."),
    "letters_letter_delivered_in_order": gettext_lazy("The dates are out of order."),
    "letters_letter_returned_in_order": gettext_lazy("The dates are out of order."),
    "letters_letter_sent_delivered_after_dispatch": gettext_lazy(
        "A sent item is delivered only after it was dispatched."
    ),
    "letters_letter_delivered_or_returned": gettext_lazy(
        "An item is either delivered or returned."
    ),
}


def _refusal(error: IntegrityError) -> LetterError:
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") or ""
    message = CONSTRAINT_MESSAGES.get(name) or _("The item breaks a rule of the register.")
    return LetterError(str(message))


def _jsonable(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _check_item(values: dict, *, site_today: datetime.date) -> dict:
    """The rules an item's values must keep, each message beside its field.

    The database holds most of them as constraints; this gives the friendlier message
    and refuses dates in the future, which depend on the site's calendar.
    """
    errors = {}
    if values["kind"] not in Kind.values:
        errors["kind"] = _("Choose a kind.")
    if values["direction"] not in Direction.values:
        errors["direction"] = _("Choose sent or received.")
    if values["channel"] not in Channel.values:
        errors["channel"] = _("Choose a channel.")
    if values["kind"] == Kind.CAPTURE_CARD and values["direction"] != Direction.SENT:
        errors["direction"] = _("A capture card is always sent by the prisoner.")
    if values["kind"] == Kind.RED_CROSS_MESSAGE and values["channel"] != Channel.ICRC:
        errors["channel"] = _("A Red Cross message goes through the ICRC.")
    if values["contact_id"] is not None and values["correspondent_name"]:
        errors["correspondent_name"] = _(
            "Give either one of the prisoner's contacts or a typed correspondent, not both."
        )
    dates = ["written_on", "handed_in_on", *STEP_DATES]
    if values["handed_in_on"] is None:
        errors["handed_in_on"] = _("Give the day the camp took it in.")
    for name in dates:
        if values[name] is not None and values[name] > site_today:
            errors[name] = _("This day has not come yet.")
    if values["direction"] == Direction.RECEIVED and values["dispatched_on"] is not None:
        errors["dispatched_on"] = _("Received mail is not dispatched by the camp.")
    if (
        values["direction"] == Direction.SENT
        and values["delivered_on"] is not None
        and values["dispatched_on"] is None
    ):
        errors["delivered_on"] = _("A sent item is delivered only after it was dispatched.")
    if values["delivered_on"] is not None and values["returned_on"] is not None:
        errors["returned_on"] = _("An item is either delivered or returned.")
    written_on, handed_in_on = values["written_on"], values["handed_in_on"]
    if written_on is not None and handed_in_on is not None and written_on > handed_in_on:
        errors.setdefault("written_on", _("It cannot be written after it was handed in."))
    # handed in ≤ censored ≤ dispatched; delivered or returned after all of them.
    latest = None
    for name in ["handed_in_on", "censored_on", "dispatched_on"]:
        value = values[name]
        if value is None:
            continue
        if latest is not None and value < latest:
            errors.setdefault(name, _("The dates are out of order."))
        latest = max(latest, value) if latest else value
    for name in ["delivered_on", "returned_on"]:
        value = values[name]
        if value is not None and latest is not None and value < latest:
            errors.setdefault(name, _("The dates are out of order."))
    return errors


def _check_contact(contact: Contact | None, prisoner: Prisoner) -> None:
    if contact is None:
        return
    if contact.prisoner_id != prisoner.pk or contact.status != Contact.Status.APPROVED:
        raise LetterError({"contact": _("Choose one of the prisoner's approved contacts.")})


@transaction.atomic
def record_letter(
    *,
    prisoner: Prisoner,
    kind: str,
    direction: str,
    handed_in_on: datetime.date,
    actor,
    channel: str = Channel.POST,
    contact: Contact | None = None,
    correspondent_name: str = "",
    correspondent_locality: str = "",
    reference: str = "",
    written_on: datetime.date | None = None,
    notes: str = "",
) -> Letter:
    """Record one item the camp took in on ``handed_in_on``: handed in by the prisoner
    (sent) or arrived for him (received). The correspondent is one of the prisoner's
    approved contacts, or typed, or not known."""
    site = prisoner.site
    values = {
        **dict.fromkeys(AMENDABLE_FIELDS),
        "prisoner_id": prisoner.pk,
        "kind": kind,
        "direction": direction,
        "channel": channel,
        "contact_id": contact.pk if contact else None,
        "correspondent_name": correspondent_name.strip(),
        "correspondent_locality": correspondent_locality.strip(),
        "reference": reference.strip(),
        "written_on": written_on,
        "handed_in_on": handed_in_on,
        "notes": notes.strip(),
        "in_error": False,
    }
    errors = _check_item(values, site_today=site.today())
    if errors:
        raise LetterError(errors)
    _check_contact(contact, prisoner)
    try:
        with transaction.atomic():
            letter = Letter.objects.create(
                site=site,
                prisoner=prisoner,
                kind=kind,
                direction=direction,
                channel=channel,
                contact=contact,
                correspondent_name=values["correspondent_name"],
                correspondent_locality=values["correspondent_locality"],
                reference=values["reference"],
                written_on=written_on,
                handed_in_on=handed_in_on,
                notes=values["notes"],
                recorded_by=actor,
            )
    except IntegrityError as error:
        raise _refusal(error) from None
    audit.record(
        actor=actor,
        action="letters.letter.recorded",
        target=letter,
        site=site,
        data={"prisoner": prisoner.isn, "kind": kind, "direction": direction},
    )
    return letter


def parse_isns(text: str) -> list[str]:
    """The ISNs typed one per line (commas and spaces also separate), upper-cased, in order."""
    return [word.upper() for word in text.replace(",", " ").split()]


@transaction.atomic
def record_batch(
    *,
    prisoners_by_isn: dict[str, Prisoner],
    isns: list[str],
    kind: str,
    direction: str,
    channel: str,
    handed_in_on: datetime.date,
    actor,
) -> list[Letter]:
    """Record one item of ``kind`` for each prisoner in ``isns``: "these 40 cards
    handed in today". ``prisoners_by_isn`` holds the prisoners the actor may see
    (with their sites); an ISN not in it, or listed twice, refuses the whole batch,
    every bad line named, and nothing is written. One audit entry per item."""
    if not isns:
        raise LetterError({"isns": _("List at least one ISN.")})
    unknown = [isn for isn in isns if isn not in prisoners_by_isn]
    seen, repeated = set(), []
    for isn in isns:
        if isn in seen and isn not in repeated:
            repeated.append(isn)
        seen.add(isn)
    messages = []
    if unknown:
        messages.append(
            ngettext(
                "No prisoner at your sites has the ISN %(isns)s.",
                "No prisoner at your sites has these ISNs: %(isns)s.",
                len(unknown),
            )
            % {"isns": ", ".join(unknown)}
        )
    if repeated:
        messages.append(
            ngettext(
                "Listed twice: %(isns)s. Record a second item on the prisoner's page.",
                "Listed twice: %(isns)s. Record second items on the prisoners' pages.",
                len(repeated),
            )
            % {"isns": ", ".join(repeated)}
        )
    if messages:
        raise LetterError({"isns": messages})
    # A rule the batch's own fields break (a capture card received, a day to come)
    # refuses at the first item; the transaction then writes nothing.
    return [
        record_letter(
            prisoner=prisoners_by_isn[isn],
            kind=kind,
            direction=direction,
            channel=channel,
            handed_in_on=handed_in_on,
            actor=actor,
        )
        for isn in isns
    ]


def _step_refusal(letter: Letter, step: str) -> str | None:
    """Why ``letter`` cannot take ``step`` now, or None."""
    if letter.in_error:
        return _("recorded in error")
    if getattr(letter, step) is not None:
        return _("already has this date")
    if step == "dispatched_on" and letter.direction != Direction.SENT:
        return _("received mail is not dispatched")
    if step == "delivered_on" and letter.direction == Direction.SENT and not letter.dispatched_on:
        return _("not dispatched yet")
    if step in {"delivered_on", "returned_on"} and letter.status in {
        Status.DELIVERED,
        Status.RETURNED,
    }:
        return _("already delivered or returned")
    if step == "censored_on" and letter.status not in {Status.HANDED_IN, Status.ARRIVED}:
        return _("already past the censor")
    return None


@transaction.atomic
def record_step(*, letters: list[Letter], step: str, on: datetime.date, actor) -> int:
    """Fill in the date of ``step`` (one of ``STEP_DATES``) on each item, as an
    amendment whose reason names the step, so the history shows every step.

    All or nothing: one item that cannot take the step (already past it, recorded in
    error, dates out of order) refuses the whole batch, each such item named. The
    items are locked for the transaction, so two clerks marking the same pile do not
    both succeed. One audit entry per item.
    """
    if step not in STEP_DATES:
        raise LetterError({"step": _("Choose a step.")})
    if not letters:
        raise LetterError(_("Choose at least one item."))
    locked = list(
        Letter.objects.select_for_update(of=("self",))
        .select_related("site", "prisoner")
        .filter(pk__in=[letter.pk for letter in letters])
        .order_by("pk")
    )
    refused = []
    for letter in locked:
        reason = _step_refusal(letter, step)
        if reason is None and on > letter.site.today():
            reason = _("that day has not come yet")
        if reason is None:
            earlier = [
                value
                for name in ["handed_in_on", *STEP_DATES[: STEP_DATES.index(step)]]
                if (value := getattr(letter, name)) is not None
            ]
            if on < max(earlier):
                reason = _("dates out of order")
        if reason is not None:
            refused.append(
                _("%(kind)s of %(isn)s (%(reason)s)")
                % {"kind": letter.get_kind_display(), "isn": letter.prisoner.isn, "reason": reason}
            )
    if refused:
        raise LetterError(
            _("Nothing was recorded. These items cannot take this step: %(items)s.")
            % {"items": "; ".join(refused)}
        )
    try:
        with transaction.atomic():
            LetterAmendment.objects.bulk_create(
                LetterAmendment(
                    letter=letter,
                    changes={step: {"from": None, "to": on.isoformat()}},
                    reason=str(STEP_REASONS[step]),
                    is_correction=False,
                    author=actor,
                )
                for letter in locked
            )
    except IntegrityError as error:
        raise _refusal(error) from None
    for letter in locked:
        audit.record(
            actor=actor,
            action="letters.letter.status_changed",
            target=letter,
            site=letter.site,
            data={"step": step, "on": on.isoformat()},
        )
    return len(locked)


def may_amend(letter: Letter, user) -> bool:
    """Supervisors correct any item; a guard corrects the items they recorded, on the
    day they recorded them (at the item's site)."""
    if has_role(user, *SUPERVISORS):
        return True
    zone = letter.site.zone
    return (
        letter.recorded_by_id == user.pk
        and letter.created_at.astimezone(zone).date() == letter.site.today()
    )


@transaction.atomic
def amend_letter(*, letter: Letter, changes: dict, reason: str, actor) -> LetterAmendment:
    """Correct an item: each changed field's old and new value, the reason, the author
    and the time. The database trigger applies it to the row in this transaction, so
    ``letter`` comes back holding the current values. Setting ``in_error`` withdraws
    an item recorded by mistake; it stays in the register, marked as such."""
    letter = Letter.objects.select_for_update(of=("self",)).select_related("site").get(pk=letter.pk)
    if not may_amend(letter, actor):
        raise LetterError(_("You may not amend this item."))
    if not reason.strip():
        raise LetterError({"reason": _("Give the reason for the amendment.")})
    unknown = set(changes) - set(AMENDABLE_FIELDS)
    if unknown:
        raise LetterError(
            _("These fields cannot be amended: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    current = letter.amendable_values()
    diff = {
        name: {"from": _jsonable(current[name]), "to": _jsonable(value)}
        for name, value in changes.items()
        if current[name] != value
    }
    if not diff:
        raise LetterError(_("Nothing would change."))
    after = {**current, **{name: changes[name] for name in diff}}
    errors = _check_item(after, site_today=letter.site.today())
    if after["in_error"] is False and current["in_error"] and not has_role(actor, *SUPERVISORS):
        errors["in_error"] = _("Only a supervisor can restore an item withdrawn in error.")
    prisoner = None
    if "prisoner_id" in diff:
        prisoner = Prisoner.objects.filter(pk=after["prisoner_id"], site=letter.site).first()
        if prisoner is None:
            errors["prisoner_id"] = _("Choose a prisoner of the same site.")
    if errors:
        raise LetterError(errors)
    if "contact_id" in diff or "prisoner_id" in diff:
        contact = after["contact_id"] and Contact.objects.filter(pk=after["contact_id"]).first()
        if after["contact_id"] and contact is None:
            raise LetterError({"contact_id": _("Choose one of the prisoner's approved contacts.")})
        if contact:
            # A contact already on the item may since have been revoked: it stays true.
            owner = prisoner or Prisoner(pk=after["prisoner_id"])
            if contact.prisoner_id != owner.pk or (
                "contact_id" in diff and contact.status != Contact.Status.APPROVED
            ):
                raise LetterError(
                    {"contact_id": _("Choose one of the prisoner's approved contacts.")}
                )
    try:
        with transaction.atomic():
            amendment = LetterAmendment.objects.create(
                letter=letter, changes=diff, reason=reason.strip(), author=actor
            )
    except IntegrityError as error:
        raise _refusal(error) from None
    letter.refresh_from_db()
    audit.record(
        actor=actor,
        action="letters.letter.amended",
        target=letter,
        site=letter.site,
        data={"amendment": amendment.pk, "fields": sorted(diff)},
    )
    return amendment
