"""Forms of the register of letters: one item, a batch, a status step, a correction.

Dates are calendar days at the prisoner's site. The rules between fields are the
services' (``letters.services``); the forms convert input into domain values.
"""

import datetime

from crispy_forms.layout import Column, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from camp.forms import fields_only_helper
from letters.models import AMENDABLE_FIELDS, Channel, Direction, Kind, Letter
from letters.services import STEP_REASONS, parse_isns
from prisoners.models import Contact, Prisoner

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
EARLIEST_DATE = datetime.date(2000, 1, 1)
LATEST_DATE = datetime.date(2999, 12, 31)
# A batch longer than this is a paste gone wrong.
MAX_BATCH = 500


class SiteDateField(forms.DateField):
    """A day between 2000 and 2999: anything else is a typing mistake."""

    widget = DATE_WIDGET

    def validate(self, value):
        super().validate(value)
        if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValidationError(
                _("Enter a date between %(earliest)s and %(latest)s."),
                params={
                    "earliest": date_format(EARLIEST_DATE),
                    "latest": date_format(LATEST_DATE),
                },
            )


def _contact_label(contact: Contact) -> str:
    return f"{contact.name} ({contact.get_relationship_display()}, {contact.locality})"


class RecordLetterForm(forms.Form):
    """One item for one prisoner; the correspondent is an approved contact or typed."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.SENT
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.POST)
    contact = forms.ModelChoiceField(
        label=_("Contact"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=_("Not one of the contacts"),
    )
    correspondent_name = forms.CharField(
        label=_("Correspondent (typed)"), max_length=200, required=False
    )
    correspondent_locality = forms.CharField(label=_("Locality"), max_length=200, required=False)
    reference = forms.CharField(label=_("Reference"), max_length=60, required=False)
    written_on = SiteDateField(label=_("Written"), required=False)
    handed_in_on = SiteDateField(
        label=_("Handed in or arrived"),
        help_text=_("The day the prisoner handed it in, or it arrived for him."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, contacts: list[Contact], today: datetime.date, **kwargs):
        kwargs.setdefault("initial", {"handed_in_on": today})
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(
            pk__in=[contact.pk for contact in contacts]
        )
        # The choices come from ``contacts`` already read: no query while rendering.
        self.fields["contact"].choices = [
            ("", self.fields["contact"].empty_label),
            *((contact.pk, _contact_label(contact)) for contact in contacts),
        ]
        self.helper = fields_only_helper(
            Row(Column("kind"), Column("direction"), Column("channel")),
            Row(Column("contact"), Column("correspondent_name"), Column("correspondent_locality")),
            Row(Column("written_on"), Column("handed_in_on"), Column("reference")),
            "notes",
        )


class BatchForm(forms.Form):
    """Many items of one kind, one per prisoner, typed as ISNs one per line."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.CARD)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.SENT
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.POST)
    handed_in_on = SiteDateField(label=_("Handed in or arrived"))
    isns = forms.CharField(
        label=_("Prisoners (ISN, one per line)"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )

    def __init__(self, *args, today: datetime.date, **kwargs):
        kwargs.setdefault("initial", {"handed_in_on": today})
        super().__init__(*args, **kwargs)
        self.helper = fields_only_helper(
            Row(Column("kind"), Column("direction"), Column("channel"), Column("handed_in_on")),
            "isns",
        )

    def clean_isns(self) -> list[str]:
        isns = parse_isns(self.cleaned_data["isns"])
        if not isns:
            raise ValidationError(_("List at least one ISN."))
        if len(isns) > MAX_BATCH:
            raise ValidationError(
                _("At most %(max)d prisoners at a time."), params={"max": MAX_BATCH}
            )
        return isns


STEP_CHOICES = list(STEP_REASONS.items())


class StepForm(forms.Form):
    """A status step for the items ticked on the desk, or for one item."""

    step = forms.ChoiceField(label=_("Step"), choices=STEP_CHOICES)
    on = SiteDateField(label=_("On"))
    letters = forms.ModelMultipleChoiceField(
        label=_("Items"), queryset=Letter.objects.none(), widget=forms.MultipleHiddenInput
    )

    def __init__(self, *args, letters, today: datetime.date, **kwargs):
        kwargs.setdefault("initial", {"on": today})
        super().__init__(*args, **kwargs)
        self.fields["letters"].queryset = letters
        self.fields["step"].widget.attrs["class"] = "form-select"
        self.fields["on"].widget.attrs["class"] = "form-control"
        self.fields["letters"].error_messages["required"] = _("Tick at least one item.")


class AmendLetterForm(forms.Form):
    """The amendable fields prefilled with an item's current values, and a reason.

    ``changes()`` gives only the fields whose value differs from the current one, as
    the service takes them (``prisoner_id``, ``contact_id``).
    """

    prisoner = forms.CharField(label=_("Prisoner (ISN)"), max_length=20)
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    contact = forms.TypedChoiceField(
        label=_("Contact"), coerce=int, empty_value=None, required=False
    )
    correspondent_name = forms.CharField(
        label=_("Correspondent (typed)"), max_length=200, required=False
    )
    correspondent_locality = forms.CharField(label=_("Locality"), max_length=200, required=False)
    reference = forms.CharField(label=_("Reference"), max_length=60, required=False)
    written_on = SiteDateField(label=_("Written"), required=False)
    handed_in_on = SiteDateField(label=_("Handed in or arrived"))
    censored_on = SiteDateField(label=_("Examined by the censor"), required=False)
    dispatched_on = SiteDateField(label=_("Dispatched"), required=False)
    delivered_on = SiteDateField(label=_("Delivered"), required=False)
    returned_on = SiteDateField(label=_("Returned"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    in_error = forms.BooleanField(
        label=_("Recorded in error"),
        required=False,
        help_text=_("The item stays in the register, marked as recorded in error."),
    )
    reason = forms.CharField(
        label=_("Reason for the amendment"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the item for good, with your name and the time."),
    )

    def __init__(self, *args, letter: Letter, contacts: list[Contact], prisoners, **kwargs):
        self.letter = letter
        self.current = letter.amendable_values()
        self.prisoners = prisoners
        initial = {name: value for name, value in self.current.items() if not name.endswith("_id")}
        initial["prisoner"] = letter.prisoner.isn
        initial["contact"] = letter.contact_id
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["contact"].choices = [
            ("", _("Not one of the contacts")),
            *((contact.pk, _contact_label(contact)) for contact in contacts),
        ]
        self.helper = fields_only_helper(
            Row(Column("prisoner"), Column("kind"), Column("direction"), Column("channel")),
            Row(Column("contact"), Column("correspondent_name"), Column("correspondent_locality")),
            Row(Column("reference"), Column("written_on"), Column("handed_in_on")),
            Row(
                Column("censored_on"),
                Column("dispatched_on"),
                Column("delivered_on"),
                Column("returned_on"),
            ),
            "notes",
            "in_error",
            "reason",
        )

    def clean_prisoner(self) -> Prisoner:
        isn = self.cleaned_data["prisoner"].strip().upper()
        if isn == self.letter.prisoner.isn:
            return self.letter.prisoner
        prisoner = self.prisoners.filter(isn=isn, site=self.letter.site_id).first()
        if prisoner is None:
            raise ValidationError(
                _("No prisoner with the ISN “%(isn)s” at this item's site."), params={"isn": isn}
            )
        return prisoner

    def changes(self) -> dict:
        """The amendable fields whose submitted value differs from the current one."""
        data = dict(self.cleaned_data)
        data["prisoner_id"] = data.pop("prisoner").pk
        data["contact_id"] = data.pop("contact")
        changed = {}
        for name in AMENDABLE_FIELDS:
            new, old = data[name], self.current[name]
            if isinstance(old, str):
                new = (new or "").replace("\r\n", "\n").strip()
            if new != old:
                changed[name] = new
        return changed
