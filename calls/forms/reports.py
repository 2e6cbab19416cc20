"""Forms of the supervisor's review pages."""

import datetime

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calls.reports import FREQUENCY_SORTS, FrequencyFilter
from prisoners.models import Prisoner


class ResolveFlagForm(forms.Form):
    """The supervisor's note on a flagged call; kept as the reason of the amendment
    that clears the flag."""

    note = forms.CharField(
        label=gettext_lazy("Note on the review"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Write a note on what the review found.")},
    )

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("Write a note on what the review found."))
        return note


# Sorts offered by the call-frequency report: a column, "-" before it for descending.
SORT_CHOICES = [
    (f"{prefix}{name}", f"{prefix}{name}") for name in FREQUENCY_SORTS for prefix in ("", "-")
]


class FrequencyFilterForm(forms.Form):
    """Filters and sort of the call-frequency report; every choice comes from the
    user's sites and their prisoners, so a value from elsewhere is not valid."""

    site = forms.TypedChoiceField(label=gettext_lazy("Site"), required=False, coerce=int)
    housing_unit = forms.ChoiceField(label=gettext_lazy("Housing unit"), required=False)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    power = forms.ChoiceField(label=gettext_lazy("Nationality"), required=False)
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)

    def __init__(self, *args, sites, units: list[str], powers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["site"].choices = everything + [(site.pk, site.name) for site in sites]
        self.fields["housing_unit"].choices = everything + [(unit, unit) for unit in units]
        self.fields["status"].choices = everything + list(Prisoner.Status.choices)
        self.fields["power"].choices = everything + [(power, power) for power in powers]
        self.fields["power"].help_text = _("The Power on which he depends (GCIII Art. 122).")

    def filters(self) -> FrequencyFilter:
        """The report's filter; the unfiltered report, sorted by ISN, when invalid."""
        if not self.is_valid():
            return FrequencyFilter()
        data = self.cleaned_data
        sort = data["sort"] or "isn"
        return FrequencyFilter(
            site=data["site"] if data["site"] != "" else None,
            housing_unit=data["housing_unit"] or None,
            status=data["status"] or None,
            power=data["power"] or None,
            sort=sort.removeprefix("-"),
            descending=sort.startswith("-"),
        )


class MonthForm(forms.Form):
    """A calendar month as ``YYYY-MM``, cleaned to its first day."""

    month = forms.CharField(
        label=gettext_lazy("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month"}),
        help_text=gettext_lazy("As YYYY-MM."),
    )

    def clean_month(self) -> datetime.date | None:
        value = self.cleaned_data["month"].strip()
        if not value:
            return None
        try:
            return datetime.datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(_("Give the month as YYYY-MM, e.g. 2026-03.")) from None
