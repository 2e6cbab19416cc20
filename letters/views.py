"""Pages of the register of letters: the mail desk, a prisoner's register, an item
with its history, and the overdue capture cards.

Every change goes through ``letters.services``; objects come from the
``get_*_for_user`` selectors, so another site's objects answer 404. Mutating views
accept POST only (the amend form also shows itself on GET) and redirect after success.
"""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from camp import audit
from camp.forms import add_service_error
from camp.roles import STAFF, is_supervisor, role_required
from letters import selectors, services
from letters.forms import STEP_CHOICES, AmendLetterForm, BatchForm, RecordLetterForm, StepForm
from letters.models import AMENDABLE_FIELDS, Kind, Letter
from prisoners.models import Contact, Prisoner
from prisoners.selectors import get_prisoner_for_user, visible_prisoners

# The desk lists at most this many items still in the camp's hands, oldest first.
DESK_LIMIT = 300


def _today(request) -> datetime.date:
    return request.site.today() if request.site else timezone.localdate()


def _correspondent(letter: Letter, *, reveal: bool) -> str:
    """Who wrote or will read it. For a withheld identity, a guard sees only the
    relationship: a family name would give the prisoner's away."""
    hide = letter.prisoner.is_withheld and not reveal
    if letter.contact_id is not None:
        if hide:
            return letter.contact.get_relationship_display()
        return f"{letter.contact.name} ({letter.contact.get_relationship_display()})"
    if hide:
        return "—" if not letter.correspondent_name else _("(withheld)")
    return letter.correspondent_name or "—"


def _row(letter: Letter, *, reveal: bool) -> dict:
    return {
        "letter": letter,
        "prisoner_name": letter.prisoner.name_shown(reveal=reveal),
        "correspondent": _correspondent(letter, reveal=reveal),
    }


def _visible_letters(user):
    return Letter.objects.filter(site__in=user.sites.all())


# --- The mail desk --------------------------------------------------------------------


def _render_desk(request, *, batch_form=None, step_form=None, status=200):
    today = _today(request)
    reveal = is_supervisor(request.user)
    waiting, more = selectors.in_camp(user=request.user, limit=DESK_LIMIT)
    return render(
        request,
        "letters/desk.html",
        {
            "today": today,
            "batch_form": batch_form or BatchForm(today=today),
            "step_form": step_form or StepForm(letters=_visible_letters(request.user), today=today),
            "rows": [_row(letter, reveal=reveal) for letter in waiting],
            "more": more,
            "limit": DESK_LIMIT,
            "show_site": len(request.sites) > 1,
        },
        status=status,
    )


@require_GET
@role_required(*STAFF)
def desk(request):
    """Today's mail: record a pile of items at once, move the waiting ones along."""
    return _render_desk(request)


@require_POST
@role_required(*STAFF)
def batch_record(request):
    """One item of a kind per listed prisoner, all in one transaction or none."""
    form = BatchForm(request.POST, today=_today(request))
    if form.is_valid():
        data = form.cleaned_data
        found = (
            visible_prisoners(user=request.user).select_related("site").filter(isn__in=data["isns"])
        )
        try:
            letters = services.record_batch(
                prisoners_by_isn={prisoner.isn: prisoner for prisoner in found},
                isns=data["isns"],
                kind=data["kind"],
                direction=data["direction"],
                channel=data["channel"],
                handed_in_on=data["handed_in_on"],
                actor=request.user,
            )
        except services.LetterError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                ngettext("%(count)d item recorded.", "%(count)d items recorded.", len(letters))
                % {"count": len(letters)},
            )
            return redirect("letters:desk")
    return _render_desk(request, batch_form=form)


def _next_url(request, default: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_POST
@role_required(*STAFF)
def letter_step(request):
    """A status step (censored, dispatched, delivered, returned) for the ticked items."""
    form = StepForm(request.POST, letters=_visible_letters(request.user), today=_today(request))
    back = _next_url(request, reverse("letters:desk"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return HttpResponseRedirect(back)
    data = form.cleaned_data
    try:
        count = services.record_step(
            letters=list(data["letters"]), step=data["step"], on=data["on"], actor=request.user
        )
    except services.LetterError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        step = dict(STEP_CHOICES)[data["step"]]
        messages.success(
            request,
            ngettext(
                "%(step)s: %(count)d item recorded.", "%(step)s: %(count)d items recorded.", count
            )
            % {"step": step, "count": count},
        )
    return HttpResponseRedirect(back)


# --- A prisoner's register ------------------------------------------------------------


def _approved_contacts(prisoner: Prisoner) -> list[Contact]:
    return list(prisoner.contacts.approved().order_by("name", "pk"))


def _render_register(request, prisoner: Prisoner, *, form=None, status=200):
    today = prisoner.site.today()
    reveal = is_supervisor(request.user)
    letters = list(selectors.letters_of(prisoner=prisoner))
    for letter in letters:
        letter.prisoner = prisoner  # the same row: no query per item
    return render(
        request,
        "letters/prisoner_register.html",
        {
            "prisoner": prisoner,
            "prisoner_name": prisoner.name_shown(reveal=reveal),
            "rows": [_row(letter, reveal=reveal) for letter in letters],
            "summary": selectors.month_summary(prisoner=prisoner, day=today),
            "month": today,
            "form": form or RecordLetterForm(contacts=_approved_contacts(prisoner), today=today),
        },
        status=status,
    )


@require_GET
@role_required(*STAFF)
def prisoner_register(request, pk):
    """The prisoner's letters, cards and messages, newest first, and a form to record one."""
    prisoner = get_prisoner_for_user(user=request.user, pk=pk)
    return _render_register(request, prisoner)


@require_POST
@role_required(*STAFF)
def letter_record(request, pk):
    """Record one item in the prisoner's register."""
    prisoner = get_prisoner_for_user(user=request.user, pk=pk)
    form = RecordLetterForm(
        request.POST, contacts=_approved_contacts(prisoner), today=prisoner.site.today()
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            letter = services.record_letter(prisoner=prisoner, actor=request.user, **data)
        except services.LetterError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("%(kind)s recorded.") % {"kind": letter.get_kind_display()},
            )
            return redirect("letters:prisoner-register", pk=prisoner.pk)
    return _render_register(request, prisoner, form=form)


# --- One item -------------------------------------------------------------------------


def _label(name: str) -> str:
    field = Letter._meta.get_field(name.removesuffix("_id"))
    return str(field.verbose_name).capitalize()


def _display(name: str, value, *, isns: dict, contacts: dict) -> str:
    """A field's value as the detail page and the history show it."""
    if value is None or value == "":
        return "—"
    if name == "prisoner_id":
        return isns.get(value, str(value))
    if name == "contact_id":
        return contacts.get(value, str(value))
    if name == "in_error":
        return _("Yes") if value else _("No")
    if isinstance(value, str) and name.endswith("_on"):
        value = datetime.date.fromisoformat(value)
    if isinstance(value, datetime.date):
        return date_format(value)
    if name in {"kind", "direction", "channel"}:
        choices = Letter._meta.get_field(name).choices
        return str(dict(choices).get(value, value))
    return str(value)


@require_GET
@role_required(*STAFF)
def letter_detail(request, pk):
    """One item: its current values, status steps and corrections, and the audit history."""
    letter = selectors.get_letter_for_user(user=request.user, pk=pk)
    reveal = is_supervisor(request.user)
    amendments = list(letter.amendments.all())
    # Names for the prisoners and contacts the history mentions: two queries at most.
    prisoner_ids, contact_ids = {letter.prisoner_id}, set()
    for amendment in amendments:
        for name, change in amendment.changes.items():
            target = {"prisoner_id": prisoner_ids, "contact_id": contact_ids}.get(name)
            if target is not None:
                target.update(v for v in (change["from"], change["to"]) if v is not None)
    isns = dict(Prisoner.objects.filter(pk__in=prisoner_ids).values_list("pk", "isn"))
    hide_names = letter.prisoner.is_withheld and not reveal
    contacts = {
        contact.pk: contact.get_relationship_display() if hide_names else str(contact)
        for contact in Contact.objects.filter(pk__in=contact_ids)
    }
    names = {"isns": isns, "contacts": contacts}
    history = [
        {
            "amendment": amendment,
            "changes": [
                {
                    "label": _label(name),
                    "from": _display(name, change["from"], **names),
                    "to": _display(name, change["to"], **names),
                }
                for name, change in sorted(
                    amendment.changes.items(), key=lambda item: AMENDABLE_FIELDS.index(item[0])
                )
                if not (hide_names and name == "correspondent_name")
            ],
        }
        for amendment in amendments
    ]
    today = letter.site.today()
    return render(
        request,
        "letters/letter_detail.html",
        {
            "letter": letter,
            "row": _row(letter, reveal=reveal),
            "history": history,
            "audit_entries": list(audit.history_for(letter)),
            "may_amend": services.may_amend(letter, request.user),
            "step_form": StepForm(letters=_visible_letters(request.user), today=today),
            "next": request.get_full_path(),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def letter_amend(request, pk):
    """Correct an item: supervisors any, the guard who recorded it on the day."""
    letter = selectors.get_letter_for_user(user=request.user, pk=pk)
    if not services.may_amend(letter, request.user):
        raise PermissionDenied
    contacts = _approved_contacts(letter.prisoner)
    if letter.contact is not None and letter.contact not in contacts:
        contacts.append(letter.contact)
    form = AmendLetterForm(
        request.POST if request.method == "POST" else None,
        letter=letter,
        contacts=contacts,
        prisoners=visible_prisoners(user=request.user),
    )
    if form.is_valid():
        try:
            services.amend_letter(
                letter=letter,
                changes=form.changes(),
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except services.LetterError as error:
            add_service_error(
                form, error, fields={"prisoner_id": "prisoner", "contact_id": "contact"}
            )
        else:
            messages.success(request, _("The item was amended."))
            return redirect("letters:letter-detail", pk=letter.pk)
    return render(
        request,
        "letters/letter_amend.html",
        {"letter": letter, "form": form, "row": _row(letter, reveal=is_supervisor(request.user))},
    )


# --- Capture cards --------------------------------------------------------------------


@require_GET
@role_required(*STAFF)
def capture_card_overdue(request):
    """Interned prisoners whose capture card (Art. 70) was not handed in within a week of
    arrival, longest overdue first."""
    reveal = is_supervisor(request.user)
    prisoners = list(selectors.overdue_capture_cards(user=request.user))
    return render(
        request,
        "letters/capture_card_overdue.html",
        {
            "rows": [
                {
                    "prisoner": prisoner,
                    "name": prisoner.name_shown(reveal=reveal),
                    "due_on": prisoner.arrived_on
                    + datetime.timedelta(days=selectors.CAPTURE_CARD_DAYS),
                    "days_overdue": prisoner.days_since_arrival - selectors.CAPTURE_CARD_DAYS,
                }
                for prisoner in prisoners
            ],
            "days": selectors.CAPTURE_CARD_DAYS,
            "kind": Kind.CAPTURE_CARD.label,
            "show_site": len(request.sites) > 1,
        },
    )
