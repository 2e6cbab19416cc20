"""Pages of the prisoner registry.

Every change goes through ``prisoners.services``; objects are fetched through the
``get_*_for_user`` selectors, so another site's prisoners answer 404. Guards see
a withheld identity only by its ISN and first name or alias: the views choose
what to show (``Prisoner.name_shown``, ``_registration_rows``), the templates only lay it out.
"""

import copy
import datetime

import phonenumbers
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from camp import audit
from camp.forms import add_service_error
from camp.roles import STAFF, SUPERVISORS, is_supervisor, role_required
from prisoners import panels, selectors, services
from prisoners.forms import (
    ContactForm,
    PrisonerFilterForm,
    PrisonerForm,
    RevokeContactForm,
    StatusChangeForm,
)
from prisoners.models import MAX_APPROVED_CONTACTS, Contact, Prisoner

PAGE_SIZE = 50

# What a guard may see of a withheld identity, besides the ISN and the name shown.
WITHHELD_VISIBLE_FIELDS = ("identity", "housing_unit", "languages")


def _display(prisoner: Prisoner, name: str):
    """A registration field as it reads on the page."""
    field = prisoner._meta.get_field(name)
    if field.choices:
        return getattr(prisoner, f"get_{name}_display")()
    value = getattr(prisoner, name)
    if isinstance(value, list):
        return ", ".join(value)
    if isinstance(value, datetime.date):
        return date_format(value)
    return value


def _registration_rows(prisoner: Prisoner, *, reveal: bool) -> list[tuple[str, object]]:
    """(label, value) of each registration field ``reveal`` allows, in form order."""
    names = [
        name for name in services.REGISTRATION_FIELDS if reveal or name in WITHHELD_VISIBLE_FIELDS
    ]
    return [
        (prisoner._meta.get_field(name).verbose_name, _display(prisoner, name)) for name in names
    ]


def _phone(number: str) -> str:
    """An E.164 number grouped for reading aloud, e.g. ``+7 912 345-67-89``."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@require_GET
@role_required(*STAFF)
def prisoner_list(request):
    """One page of the registry. A constant number of queries, whatever the page size."""
    form = PrisonerFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    supervisor = is_supervisor(request.user)
    prisoners = selectors.prisoner_search(
        user=request.user,
        text=filters.get("q") or "",
        site=filters.get("site"),
        housing_unit=filters.get("housing_unit") or "",
        status=filters.get("status") or "",
        reveal_withheld=supervisor,
    )
    page = Paginator(prisoners, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "prisoners/prisoner_list.html",
        {
            "form": form,
            "page_obj": page,
            "rows": [
                {"prisoner": prisoner, "name": prisoner.name_shown(reveal=supervisor)}
                for prisoner in page.object_list
            ],
            "may_register": supervisor,
            "query_without_page": f"{query.urlencode()}&" if query else "",
        },
    )


def _render_detail(
    request,
    prisoner: Prisoner,
    *,
    status_form: StatusChangeForm | None = None,
    contact_form: tuple[int, RevokeContactForm] | None = None,
    contact_error: tuple[int, list[str]] | None = None,
):
    """The detail page; after a refused change, with that change's form and its errors.

    ``contact_form`` and ``contact_error`` name the contact they belong to. Three
    queries of its own (status history, contacts, audit history), none per contact,
    and the few of each section other apps add (``prisoners.panels``).
    """
    supervisor = is_supervisor(request.user)
    reveal = prisoner.is_revealed_to(request.user)
    if reveal and prisoner.is_withheld:
        # Each showing of an identity withheld for the prisoner's safety is in the trail.
        audit.record(
            actor=request.user,
            action="prisoners.prisoner.identity_revealed",
            target=prisoner,
            site=prisoner.site,
        )
    contacts = selectors.contacts_of(prisoner=prisoner)
    contact_rows = []
    for contact in contacts:
        if contact_form and contact_form[0] == contact.pk:
            revoke_form = contact_form[1]
        else:
            revoke_form = RevokeContactForm(prefix=f"contact-{contact.pk}")
        contact_rows.append(
            {
                "contact": contact,
                # A contact's name often carries the family name the identity withholds.
                "name": contact.name if reveal else "",
                "phone": _phone(contact.phone_number),
                "revoke_form": revoke_form,
                "revoke_open": bool(contact_form and contact_form[0] == contact.pk),
                "errors": contact_error[1]
                if contact_error and contact_error[0] == contact.pk
                else [],
            }
        )
    return render(
        request,
        "prisoners/prisoner_detail.html",
        {
            "prisoner": prisoner,
            "name": prisoner.name_shown(reveal=reveal),
            "reveal": reveal,
            "registration": _registration_rows(prisoner, reveal=reveal),
            "status_changes": selectors.status_history(prisoner=prisoner),
            "contact_rows": contact_rows,
            "approved_count": sum(c.status == Contact.Status.APPROVED for c in contacts),
            "max_approved": MAX_APPROVED_CONTACTS,
            "may_decide": supervisor,
            "status_form": (status_form or StatusChangeForm(prisoner=prisoner))
            if supervisor
            else None,
            "audit_entries": list(audit.history_for(prisoner)),
            "sections": panels.sections_for(request, prisoner),
        },
    )


@require_GET
@role_required(*STAFF)
def prisoner_detail(request, pk):
    prisoner = selectors.get_prisoner_for_user(user=request.user, pk=pk)
    return _render_detail(request, prisoner)


@require_http_methods(["GET", "POST"])
@role_required(*SUPERVISORS)
def prisoner_create(request):
    data = request.POST if request.method == "POST" else None
    form = PrisonerForm(data, user=request.user, initial={"site": request.site})
    if form.is_valid():
        try:
            prisoner = services.register_prisoner(
                site=form.cleaned_data["site"], actor=request.user, **form.registration()
            )
        except services.RegistryError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("%(name)s is registered as %(isn)s.")
                % {"name": prisoner.name_shown(reveal=True), "isn": prisoner.isn},
            )
            return redirect("prisoners:prisoner-detail", pk=prisoner.pk)
    return render(request, "prisoners/prisoner_form.html", {"form": form, "prisoner": None})


@require_http_methods(["GET", "POST"])
@role_required(*SUPERVISORS)
def prisoner_edit(request, pk):
    prisoner = selectors.get_prisoner_for_user(user=request.user, pk=pk)
    data = request.POST if request.method == "POST" else None
    # The form fills in its instance while validating; the page keeps showing the saved one.
    form = PrisonerForm(data, instance=copy.copy(prisoner), user=request.user)
    if form.is_valid():
        if not form.has_changed():
            messages.info(request, _("Nothing was changed."))
            return redirect("prisoners:prisoner-detail", pk=prisoner.pk)
        try:
            services.update_prisoner(prisoner=prisoner, actor=request.user, **form.registration())
        except services.RegistryError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, _("The registration of %(isn)s is saved.") % {"isn": prisoner.isn}
            )
            return redirect("prisoners:prisoner-detail", pk=prisoner.pk)
    return render(request, "prisoners/prisoner_form.html", {"form": form, "prisoner": prisoner})


@require_POST
@role_required(*SUPERVISORS)
def prisoner_status(request, pk):
    prisoner = selectors.get_prisoner_for_user(user=request.user, pk=pk)
    form = StatusChangeForm(request.POST, prisoner=prisoner)
    if form.is_valid():
        try:
            change = services.change_status(
                prisoner=prisoner, actor=request.user, **form.cleaned_data
            )
        except services.RegistryError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("The status of %(isn)s is now “%(status)s”, from %(date)s.")
                % {
                    "isn": prisoner.isn,
                    "status": change.get_status_display(),
                    "date": date_format(change.effective_on),
                },
            )
            return redirect("prisoners:prisoner-detail", pk=prisoner.pk)
    return _render_detail(request, prisoner, status_form=form)


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def contact_add(request, pk):
    prisoner = selectors.get_prisoner_for_user(user=request.user, pk=pk)
    data = request.POST if request.method == "POST" else None
    form = ContactForm(data)
    if form.is_valid():
        try:
            contact = services.add_contact(prisoner=prisoner, actor=request.user, **form.contact())
        except services.RegistryError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                _("The contact %(number)s is added; it waits for a supervisor's approval.")
                % {"number": _phone(contact.phone_number)},
            )
            return redirect("prisoners:prisoner-detail", pk=prisoner.pk)
    return render(
        request,
        "prisoners/contact_form.html",
        {
            "form": form,
            "prisoner": prisoner,
            "name": prisoner.name_shown(reveal=prisoner.is_revealed_to(request.user)),
            "max_approved": MAX_APPROVED_CONTACTS,
        },
    )


@require_POST
@role_required(*SUPERVISORS)
def contact_approve(request, pk):
    contact = selectors.get_contact_for_user(user=request.user, pk=pk)
    try:
        services.approve_contact(contact=contact, actor=request.user)
    except services.RegistryError as error:
        return _render_detail(request, contact.prisoner, contact_error=(contact.pk, error.messages))
    messages.success(
        request, _("The contact %(number)s is approved.") % {"number": _phone(contact.phone_number)}
    )
    return redirect("prisoners:prisoner-detail", pk=contact.prisoner_id)


@require_POST
@role_required(*SUPERVISORS)
def contact_revoke(request, pk):
    contact = selectors.get_contact_for_user(user=request.user, pk=pk)
    form = RevokeContactForm(request.POST, prefix=f"contact-{contact.pk}")
    if form.is_valid():
        try:
            services.revoke_contact(
                contact=contact, reason=form.cleaned_data["reason"], actor=request.user
            )
        except services.RegistryError as error:
            add_service_error(form, error)
            # "Already revoked" concerns the contact, not the reason: show it on its row.
            if form.non_field_errors():
                return _render_detail(
                    request, contact.prisoner, contact_error=(contact.pk, form.non_field_errors())
                )
        else:
            messages.success(
                request,
                _("The contact %(number)s is revoked.") % {"number": _phone(contact.phone_number)},
            )
            return redirect("prisoners:prisoner-detail", pk=contact.prisoner_id)
    return _render_detail(request, contact.prisoner, contact_form=(contact.pk, form))
