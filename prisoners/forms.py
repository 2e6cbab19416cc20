"""Forms of the prisoner registry.

They validate and convert input; the registry's rules are ``prisoners.services``'
and reach a form either through ``services.check_registration`` (called in
``clean``) or, when a service refuses, through ``camp.forms.add_service_error``.
"""

import copy

import phonenumbers
from crispy_forms.layout import Column, Fieldset, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from camp.forms import fields_only_helper
from camp.models import Site
from prisoners import services
from prisoners.models import Contact, Prisoner, Status

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PrisonerFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        help_text=_("ISN or any part of a name, in Cyrillic or Latin letters."),
    )
    site = forms.TypedChoiceField(label=_("Site"), coerce=int, required=False, empty_value=None)
    housing_unit = forms.ChoiceField(label=_("Housing unit"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any")), *Prisoner.Status.choices], required=False
    )

    helper = fields_only_helper(
        Row(
            Column("q", css_class="col-sm-6 col-lg-4"),
            Column("site", css_class="col-sm-6 col-lg"),
            Column("housing_unit", css_class="col-sm-6 col-lg"),
            Column("status", css_class="col-sm-6 col-lg"),
        )
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        sites = user.sites.all()
        # Choices as lists: the template renders them without a query of its own.
        self.fields["site"].choices = [("", _("Any")), *((s.pk, s.name) for s in sites)]
        units = (
            Prisoner.objects.filter(site__in=sites)
            .exclude(housing_unit="")
            .order_by("housing_unit")
            .values_list("housing_unit", flat=True)
            .distinct()
        )
        self.fields["housing_unit"].choices = [("", _("Any")), *((unit, unit) for unit in units)]

    def filters(self) -> dict:
        """The filters that validated; a bogus value drops only its own filter.

        ``site`` comes out as a site's id, one of the user's sites.
        """
        self.is_valid()
        return getattr(self, "cleaned_data", {})


class PrisonerForm(forms.ModelForm):
    """Registration fields (``services.REGISTRATION_FIELDS``); on create also the site.

    ``clean`` applies ``services.check_registration``, so a broken rule is shown
    beside its field; the view still saves through the services.
    """

    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none())

    class Meta:
        model = Prisoner
        fields = services.REGISTRATION_FIELDS
        widgets = {
            "date_of_birth": DATE_INPUT,
            "captured_on": DATE_INPUT,
            "arrived_on": DATE_INPUT,
            "person_to_inform_address": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "identity": _(
                "Give what the prisoner gave. A withheld identity is shown to guards only "
                "by its first name or alias."
            ),
            "languages": _("Separated by commas, e.g. ru, uk."),
        }

    # The site is chosen on registration only; see __init__.
    layout = (
        Fieldset(
            _("Identity"),
            "identity",
            Row(
                Column("surname", css_class="col-md-4"),
                Column("first_names", css_class="col-md-4"),
                Column("patronymic", css_class="col-md-4"),
            ),
            "alias",
        ),
        Fieldset(
            _("Service and birth"),
            Row(
                Column("rank", css_class="col-md-4"),
                Column("service_number", css_class="col-md-4"),
                Column("power_depends_on", css_class="col-md-4"),
            ),
            Row(
                Column("date_of_birth", css_class="col-md-4"),
                Column("place_of_birth", css_class="col-md-8"),
            ),
        ),
        Fieldset(
            _("Family"),
            Row(
                Column("father_first_name", css_class="col-md-6"),
                Column("mother_maiden_name", css_class="col-md-6"),
            ),
            "person_to_inform",
            "person_to_inform_address",
        ),
        Fieldset(
            _("Capture and internment"),
            Row(
                Column("captured_on", css_class="col-md-4"),
                Column("place_of_capture", css_class="col-md-8"),
            ),
            Row(
                Column("arrived_on", css_class="col-md-4"),
                Column("housing_unit", css_class="col-md-4"),
                Column("languages", css_class="col-md-4"),
            ),
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Django echoes a callable default (languages=list) in a hidden input to tell
        # whether it changed; the saved registration already says that.
        self.fields["languages"].show_hidden_initial = False
        if self.instance.pk is None:
            field = self.fields["site"]
            field.queryset = user.sites.all()
            # Listed now, so that the template renders them without a query of its own.
            field.choices = [("", field.empty_label), *((s.pk, s.name) for s in field.queryset)]
            self.helper = fields_only_helper("site", *self.layout)
        else:
            # A prisoner changes site by a transfer, not by editing the registration.
            del self.fields["site"]
            self.helper = fields_only_helper(*self.layout)

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        # The database compares with its own clock; today itself is no birth date either.
        if born is not None and born >= timezone.localdate():
            raise ValidationError(_("The date of birth must be in the past."))
        return born

    def clean(self):
        cleaned = super().clean()
        # Check the rules on a copy: the instance is the one shown until the service saves.
        candidate = copy.copy(self.instance)
        for name in services.REGISTRATION_FIELDS:
            if name in cleaned:
                setattr(candidate, name, cleaned[name])
        try:
            services.check_registration(candidate)
        except services.RegistryError as error:
            for field, messages in error.message_dict.items():
                # A field that failed its own validation already says what is wrong.
                if field not in self.errors:
                    self.add_error(field, messages)
        return cleaned

    def registration(self) -> dict:
        """The cleaned registration fields, as the services take them."""
        return {name: self.cleaned_data[name] for name in services.REGISTRATION_FIELDS}


class StatusChangeForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    effective_on = forms.DateField(label=_("Effective date"), widget=DATE_INPUT)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E.g. which hospital, or where the prisoner was transferred."),
    )

    helper = fields_only_helper(
        Row(
            Column("status", css_class="col-sm-6"),
            Column("effective_on", css_class="col-sm-6"),
        ),
        "note",
    )

    def __init__(self, *args, prisoner: Prisoner, **kwargs):
        kwargs.setdefault("initial", {"effective_on": prisoner.site.today()})
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (value, label) for value, label in Status.choices if value != prisoner.status
        ]


class ContactForm(forms.ModelForm):
    """A contact as ``services.add_contact`` takes it; the number comes out in E.164."""

    class Meta:
        model = Contact
        # Country before the number: the number is read in the country's format.
        fields = ["name", "relationship", "country", "phone_number", "city", "region", "language"]
        help_texts = {
            "phone_number": _("With the country code, e.g. +7 912 345 67 89."),
            "country": _("Two letters (ISO 3166), e.g. RU or UA."),
            "language": _("The language the prisoner will speak on the call."),
        }

    helper = fields_only_helper(
        Row(
            Column("name", css_class="col-md-8"),
            Column("relationship", css_class="col-md-4"),
        ),
        Row(
            Column("phone_number", css_class="col-md-6"),
            Column("language", css_class="col-md-6"),
        ),
        Row(
            Column("city", css_class="col-md-4"),
            Column("region", css_class="col-md-5"),
            Column("country", css_class="col-md-3"),
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].widget.attrs.update(
            {"maxlength": 2, "autocapitalize": "characters", "class": "text-uppercase"}
        )
        self.fields["phone_number"].widget.attrs.update({"inputmode": "tel", "maxlength": 32})
        self.fields["phone_number"].max_length = 32
        self.fields["phone_number"].validators = []

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationError(_("“%(code)s” is not a country code."), params={"code": country})
        return country

    def clean_phone_number(self):
        raw = self.cleaned_data["phone_number"]
        try:
            return services.normalize_phone_number(
                raw, default_region=self.cleaned_data.get("country") or "UA"
            )
        except services.RegistryError as error:
            raise ValidationError(error.messages) from None

    def contact(self) -> dict:
        """The cleaned fields, as ``services.add_contact`` takes them."""
        return dict(self.cleaned_data)


class RevokeContactForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revoking"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give the reason for revoking.")},
    )

    helper = fields_only_helper()
