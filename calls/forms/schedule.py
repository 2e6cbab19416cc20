"""Forms of the schedule, the bookings, the call policy and suspensions.

They validate and convert input; the rules that involve other objects (overlapping
windows, a policy already set for a date, who may book) are the services' and
reach the form through ``camp.forms.add_service_error``.
"""

import datetime

from crispy_forms.layout import Column, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from calls.models import Line, Suspension, Weekday
from camp.forms import fields_only_helper
from camp.models import Site
from prisoners.models import Prisoner
from prisoners.selectors import visible_prisoners

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
MAX_GENERATE_DAYS = 366
# Dates far outside this range are typing mistakes, and the last days of year 9999
# would overflow the date arithmetic of the rules.
EARLIEST_DAY = datetime.date(2000, 1, 1)
LATEST_DAY = datetime.date(2099, 12, 31)


class DayField(forms.DateField):
    """A calendar date between 2000 and 2099, entered with the browser's date picker."""

    widget = DATE_INPUT

    def validate(self, value):
        super().validate(value)
        if value and not EARLIEST_DAY <= value <= LATEST_DAY:
            raise ValidationError(_("Enter a date between 2000 and 2099."), code="out_of_range")


class LineForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)

    helper = fields_only_helper()

    def clean_name(self):
        return self.cleaned_data["name"].strip()


class LineServiceForm(forms.Form):
    """Put a line in or out of service.

    The wanted state is sent, not flipped, so a repeated submission changes nothing
    more. ``bookings`` is the supervisor's answer when the line to take out still
    holds live bookings: cancel them, or keep the line in service.
    """

    CANCEL_BOOKINGS = "cancel"
    KEEP_IN_SERVICE = "keep"

    active = forms.TypedChoiceField(
        label=_("In service"),
        choices=[("1", _("In service")), ("0", _("Out of service"))],
        coerce=lambda value: value == "1",
    )
    bookings = forms.ChoiceField(
        label=_("Live bookings"),
        required=False,
        choices=[
            (CANCEL_BOOKINGS, _("Cancel them and take the line out of service")),
            (KEEP_IN_SERVICE, _("Keep the line in service")),
        ],
    )


class WindowForm(forms.Form):
    line = forms.ModelChoiceField(label=_("Line"), queryset=Line.objects.none())
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=Weekday.choices, coerce=int)
    starts_at = forms.TimeField(label=_("From"), widget=TIME_INPUT)
    ends_at = forms.TimeField(label=_("Until"), widget=TIME_INPUT)
    slot_minutes = forms.IntegerField(
        label=_("Slot length (minutes)"), min_value=5, max_value=60, initial=15
    )

    helper = fields_only_helper(
        Row(
            Column("line", css_class="col-sm-6 col-lg"),
            Column("weekday", css_class="col-sm-6 col-lg"),
            Column("starts_at", css_class="col-sm-4 col-lg"),
            Column("ends_at", css_class="col-sm-4 col-lg"),
            Column("slot_minutes", css_class="col-sm-4 col-lg"),
        )
    )

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = Line.objects.filter(site=site).order_by("name")

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The window must end after it starts."))
        return cleaned


class GenerateSlotsForm(forms.Form):
    date_from = DayField(label=_("From"))
    date_to = DayField(label=_("To"))

    helper = fields_only_helper(
        Row(Column("date_from", css_class="col-sm-6"), Column("date_to", css_class="col-sm-6"))
    )

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to:
            if date_to < date_from:
                self.add_error("date_to", _("The end date is before the start date."))
            elif (date_to - date_from).days > MAX_GENERATE_DAYS:
                self.add_error("date_to", _("Generate at most a year of slots at once."))
        return cleaned


class PolicyForm(forms.Form):
    effective_from = DayField(label=_("In force from"))
    calls_open = forms.BooleanField(
        label=_("Calls open"),
        required=False,
        help_text=_("Untick to suspend the whole call programme."),
    )
    max_minutes = forms.IntegerField(label=_("Maximum minutes per call"), min_value=1, max_value=60)
    min_days_between = forms.IntegerField(
        label=_("Minimum days between connected calls"),
        min_value=0,
        max_value=365,
        help_text=_("Make-up calls after an air-raid alert do not count."),
    )
    max_calls_per_month = forms.IntegerField(
        label=_("Maximum calls per month"), min_value=1, max_value=31
    )
    guards_may_book = forms.BooleanField(label=_("Guards may book slots"), required=False)
    # Art. 71 sets a floor; empty keeps the model's default (the Convention's figure).
    min_letters_per_month = forms.IntegerField(
        label=_("Minimum letters sent per month"),
        required=False,
        min_value=2,
        max_value=31,
        initial=2,
        help_text=_("GCIII Art. 71: at least 2 letters a month. Empty: 2."),
    )
    min_cards_per_month = forms.IntegerField(
        label=_("Minimum cards sent per month"),
        required=False,
        min_value=4,
        max_value=31,
        initial=4,
        help_text=_("GCIII Art. 71: at least 4 cards a month. Empty: 4."),
    )
    no_news_days = forms.IntegerField(
        label=_("Days without news before a prisoner is listed"),
        required=False,
        min_value=1,
        max_value=365,
        initial=30,
        help_text=_("Empty: 30."),
    )
    note = forms.CharField(
        label=_("Decision and note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Which authority decided, and the document reference."),
    )

    helper = fields_only_helper()

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site

    def clean_effective_from(self):
        effective_from = self.cleaned_data["effective_from"]
        if effective_from < self.site.today():
            raise ValidationError(_("A policy cannot take effect in the past."))
        return effective_from

    def terms(self) -> dict:
        """The cleaned values as ``services.set_call_policy`` takes them; an empty
        Geneva threshold is left out, so the model's default applies."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "effective_from" and value is not None
        }


class DayForm(forms.Form):
    day = DayField(label=_("Day"))


class BookingForm(forms.Form):
    isn = forms.CharField(
        label=_("Internment serial number"),
        max_length=20,
        help_text=_("The ISN of a prisoner held at this site."),
    )
    override_reason = forms.CharField(
        label=_("Reason for overriding the call policy"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Only when the call policy refuses (calls closed, days between calls, monthly "
            "maximum). It is kept on the booking and in the history."
        ),
    )

    def __init__(self, *args, user, site: Site, may_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.site = site
        if not may_override:
            del self.fields["override_reason"]

    def clean_isn(self) -> Prisoner:
        # ISNs are issued in capitals ("NC-00042"); matching them exactly uses the unique index.
        isn = self.cleaned_data["isn"].strip().upper()
        prisoner = (
            visible_prisoners(user=self.user)
            .filter(site=self.site, isn=isn)
            .select_related("site")
            .first()
        )
        if prisoner is None:
            raise ValidationError(
                _("No prisoner with ISN “%(isn)s” is held at this site."), params={"isn": isn}
            )
        return prisoner


class PrisonerSearchForm(forms.Form):
    """Find the prisoner to book by ISN or any part of a name, in either script."""

    q = forms.CharField(
        label=_("Find by name or ISN"),
        max_length=100,
        required=False,
        help_text=_("Part of a name in Cyrillic or Latin letters, or an ISN."),
    )

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())


class CancelBookingForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=500)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError(_("Give the reason for cancelling."))
        return reason


class SuspensionForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=Suspension.Reason.choices,
        help_text=_("Calls are never suspended as a punishment."),
    )
    authority = forms.CharField(
        label=_("Authority"),
        max_length=150,
        help_text=_("Who decided, e.g. the investigator or the coordination office."),
    )
    document_reference = forms.CharField(
        label=_("Document reference"), max_length=100, required=False
    )
    starts_on = DayField(label=_("From"))
    ends_on = DayField(label=_("Until"))

    helper = fields_only_helper(
        "reason",
        "authority",
        "document_reference",
        Row(Column("starts_on", css_class="col-sm-6"), Column("ends_on", css_class="col-sm-6")),
    )

    def clean(self):
        cleaned = super().clean()
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("The suspension must end on or after its first day."))
        return cleaned


def parse_day(value: str | None, *, default: datetime.date) -> tuple[datetime.date, bool]:
    """``value`` as a date, or ``default``; the flag says whether ``value`` was unusable."""
    if not value:
        return default, False
    form = DayForm({"day": value})
    if form.is_valid():
        return form.cleaned_data["day"], False
    return default, True
