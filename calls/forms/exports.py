"""Forms of the export pages: what to export, and a file to check."""

from django import forms
from django.utils.translation import gettext_lazy

from calls.exports import make_filters
from calls.services import CallError
from camp.forms import add_service_error, fields_only_helper
from camp.models import ExportRecord
from prisoners.models import Prisoner


class SiteCodesField(forms.MultipleChoiceField):
    """Site codes, offered from the user's sites; any code passes the field, so that
    ``calls.exports.resolve_sites`` can say whether it is unknown or someone else's."""

    def valid_value(self, value):
        return True


class ExportForm(forms.Form):
    """Dataset, period, sites, statuses, format, and whether withheld identities go
    out in full (with a reason). Its ``filters`` come from
    ``calls.exports.make_filters``, the check ``manage.py export`` makes too."""

    dataset = forms.ChoiceField(
        label=gettext_lazy("Dataset"),
        choices=ExportRecord.Dataset.choices,
        widget=forms.RadioSelect,
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("First day, on each site's calendar. Not used by the registry."),
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("Last day, included."),
    )
    sites = SiteCodesField(label=gettext_lazy("Sites"), widget=forms.CheckboxSelectMultiple)
    statuses = forms.MultipleChoiceField(
        label=gettext_lazy("Statuses"),
        choices=Prisoner.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Prisoners' current status; none ticked means every status."),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=ExportRecord.Format.choices,
        widget=forms.RadioSelect,
    )
    reveal = forms.BooleanField(
        label=gettext_lazy("Include withheld identities for the ICRC / information bureau"),
        required=False,
        help_text=gettext_lazy(
            "GCIII Art. 126: an identity may be hidden on screens, never from the Central "
            "Tracing Agency. Without this, a withheld identity goes out as first name or "
            "alias plus ISN."
        ),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for including them"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required when the box above is ticked; kept in the audit log."),
    )

    # Which field a refusal of ``make_filters`` belongs beside.
    ERROR_FIELDS = {
        "no_site": "sites",
        "unknown_site": "sites",
        "foreign_site": "sites",
        "period": "date_from",
        "period_order": "date_to",
        "status": "statuses",
        "reveal_reason": "reason",
        "dataset": "dataset",
        "format": "format",
    }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["sites"].choices = [
            (site.code, f"{site.name} ({site.code})") for site in user.sites.order_by("name")
        ]
        self.filters = None
        self.helper = fields_only_helper()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.filters = make_filters(
                user=self.user,
                dataset=data["dataset"],
                format=data["format"],
                site_codes=data["sites"],
                date_from=data.get("date_from"),
                date_to=data.get("date_to"),
                statuses=data.get("statuses") or (),
                reveal=data.get("reveal", False),
                reveal_reason=data.get("reason", ""),
            )
        except CallError as error:
            field = self.ERROR_FIELDS.get(error.code)
            add_service_error(self, CallError({field: error}) if field else error)
        return data


class VerifyForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File handed over"),
        help_text=gettext_lazy(
            "Its SHA-256 is computed here and looked up among the recorded exports."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = fields_only_helper()
