"""Forms of the guard's desk: choosing who calls on which line, whom they call, and
how the call ended. They convert input to domain objects; the rules are the
services' (``calls.services.start_call`` and ``end_call``)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from calls.models import Line, Outcome
from camp.models import Site
from prisoners.models import Contact, Prisoner

# Longer digit strings cannot be a primary key; they are only ever tried as an ISN.
MAX_PK_DIGITS = 18


class UnscheduledCallForm(forms.Form):
    """A call outside the schedule: a line of the desk's site and a prisoner held there.

    ``prisoner`` accepts the internment serial number (any letter case) or, for
    links, the prisoner's id; it cleans to a ``Prisoner`` of ``site``.
    """

    line = forms.ModelChoiceField(
        label=_("Line"), queryset=Line.objects.none(), empty_label=_("Choose a line")
    )
    prisoner = forms.CharField(
        label=_("Prisoner's ISN"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site
        self.fields["line"].queryset = Line.objects.filter(site=site, active=True).order_by("name")
        self.fields["line"].error_messages["invalid_choice"] = _(
            "Choose one of the lines in service at this site."
        )

    def clean_prisoner(self) -> Prisoner:
        value = self.cleaned_data["prisoner"].strip()
        prisoners = Prisoner.objects.filter(site=self.site).select_related("site")
        prisoner = prisoners.filter(isn__iexact=value).first()
        looks_like_pk = value.isascii() and value.isdigit() and len(value) <= MAX_PK_DIGITS
        if prisoner is None and looks_like_pk:
            prisoner = prisoners.filter(pk=int(value)).first()
        if prisoner is None:
            raise ValidationError(
                _("No prisoner with the ISN “%(isn)s” is held at %(site)s."),
                code="unknown",
                params={"isn": value, "site": self.site.name},
            )
        return prisoner


class ContactChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, contact: Contact) -> str:
        parts = [
            f"{contact.name} ({contact.get_relationship_display()})",
            contact.phone_number,
            contact.locality,
        ]
        return " · ".join(part for part in parts if part)


class CallStartForm(forms.Form):
    """Which approved contact the prisoner calls; number and locality come from it.

    A prisoner with a single approved contact has it chosen already (``single_contact``):
    the guard only confirms. One query to tell.
    """

    contact = ContactChoiceField(
        label=_("Contact to call"),
        queryset=Contact.objects.none(),
        empty_label=None,
        widget=forms.RadioSelect(attrs={"class": "form-check-input mt-1"}),
        error_messages={
            "required": _("Choose the contact to call."),
            "invalid_choice": _("Choose one of the prisoner's approved contacts."),
        },
    )

    def __init__(self, *args, prisoner: Prisoner, **kwargs):
        super().__init__(*args, **kwargs)
        contacts = Contact.objects.approved().filter(prisoner=prisoner).order_by("name", "pk")
        self.fields["contact"].queryset = contacts
        first_two = list(contacts.values_list("pk", flat=True)[:2])
        self.single_contact = len(first_two) == 1
        if self.single_contact:
            self.fields["contact"].initial = first_two[0]


class CallEndForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", _("Choose the outcome")), *Outcome.choices],
        error_messages={"required": _("Choose the outcome.")},
        # The page is there to choose it: the cursor starts here.
        widget=forms.Select(attrs={"autofocus": True}),
    )
    language = forms.CharField(label=_("Language spoken"), max_length=40, required=False)
    notes = forms.CharField(
        label=_("Monitor's notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    flag_reason = forms.CharField(
        label=_("Flag for supervisor review"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Give the reason to flag this call for review; leave empty otherwise."),
    )

    def clean_language(self) -> str:
        return self.cleaned_data["language"].strip()

    def clean_flag_reason(self) -> str:
        return self.cleaned_data["flag_reason"].strip()
