"""Forms of the logbook: filtering it, amending an entry, transcribing the paper book.

Date-times are entered and shown in the time zone the view activates: the site's.
"""

import datetime

from crispy_forms.layout import Column, Row
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext_lazy as _

from calls.models import AMENDABLE_FIELDS, Line, Outcome
from camp.forms import fields_only_helper
from camp.models import User
from camp.roles import Role
from prisoners.models import Prisoner
from prisoners.selectors import visible_prisoners
from prisoners.services import normalize_phone_number

# Dates outside this range are typing mistakes; refusing them also keeps the
# arithmetic on them (next day, time zone offsets) inside what Python can represent.
EARLIEST_DATE = datetime.date(2000, 1, 1)
LATEST_DATE = datetime.date(2999, 12, 31)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Seconds are shown so that an unchanged start or end is submitted exactly as recorded.
DATETIME_WIDGET = forms.DateTimeInput(
    attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
)
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _check_date(value: datetime.date | None) -> None:
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(
            _("Enter a date between %(earliest)s and %(latest)s."),
            params={"earliest": date_format(EARLIEST_DATE), "latest": date_format(LATEST_DATE)},
        )


def _normalize_text(value) -> str:
    """Text as compared for changes: browsers send CRLF line ends and stray spaces."""
    return (value or "").replace("\r\n", "\n").strip()


class LogbookFilterForm(forms.Form):
    """The logbook's GET filters; dates are calendar days at each entry's site.

    The date fields are named ``from`` and ``to`` in the query string.
    """

    prisoner = forms.CharField(
        label=_("Prisoner"),
        required=False,
        max_length=100,
        help_text=_("ISN or any part of a name."),
        widget=forms.TextInput(attrs={"class": "form-control", "type": "search"}),
    )
    line = forms.ModelChoiceField(
        label=_("Line"),
        queryset=Line.objects.none(),
        required=False,
        empty_label=_("Any"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", _("Any")), *Outcome.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    flagged = forms.BooleanField(
        label=_("Flagged only"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        date_widget = forms.DateInput(attrs={"type": "date", "class": "form-control"})
        # "from" is a Python keyword, so these two cannot be declared as class attributes.
        self.fields = {
            "from": forms.DateField(label=_("From"), required=False, widget=date_widget),
            "to": forms.DateField(label=_("To"), required=False, widget=date_widget),
            **self.fields,
        }
        lines = Line.objects.filter(site__in=sites).select_related("site")
        self.fields["line"].queryset = lines.order_by("site__name", "name")
        if len(sites) > 1:
            self.fields["line"].label_from_instance = lambda line: f"{line.site.code} · {line}"

    def clean_from(self):
        _check_date(self.cleaned_data["from"])
        return self.cleaned_data["from"]

    def clean_to(self):
        _check_date(self.cleaned_data["to"])
        return self.cleaned_data["to"]

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("from"), cleaned.get("to")
        if date_from and date_to and date_to < date_from:
            self.add_error("to", _("The end date is before the start date."))
        return cleaned

    def full_clean(self):
        super().full_clean()
        # Bootstrap shows a field as invalid by its class; screen readers by aria-invalid.
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"


class AmendCallForm(forms.Form):
    """The amendable fields prefilled with an entry's current values, and a reason.

    ``changes()`` gives only the fields whose value differs from the current one.
    """

    number_dialled = forms.CharField(label=_("Number dialled"), max_length=40, required=False)
    locality = forms.CharField(label=_("Location called"), max_length=200, required=False)
    started_at = forms.DateTimeField(label=_("Started"), widget=DATETIME_WIDGET)
    ended_at = forms.DateTimeField(label=_("Ended"), widget=DATETIME_WIDGET)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    language = forms.CharField(label=_("Language spoken"), max_length=40, required=False)
    notes = forms.CharField(
        label=_("Monitor's notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    flagged = forms.BooleanField(label=_("Flagged for review"), required=False)
    flag_reason = forms.CharField(
        label=_("Reason for review"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(
        label=_("Reason for the amendment"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the entry for good, with your name and the time."),
    )

    def __init__(self, *args, current: dict, **kwargs):
        self.current = current
        initial = {name: current[name] for name in AMENDABLE_FIELDS}
        super().__init__(*args, initial=initial, **kwargs)
        self.helper = fields_only_helper(
            Row(Column("number_dialled"), Column("locality")),
            Row(Column("started_at"), Column("ended_at")),
            Row(Column("outcome"), Column("language")),
            "notes",
            "flagged",
            "flag_reason",
            "reason",
        )

    def clean_number_dialled(self):
        number = self.cleaned_data["number_dialled"]
        if not number or number == self.current["number_dialled"]:
            return number
        return normalize_phone_number(number)

    def clean_started_at(self):
        value = self.cleaned_data["started_at"]
        _check_date(value.date())
        return value

    def clean_ended_at(self):
        value = self.cleaned_data["ended_at"]
        _check_date(value.date())
        if value > timezone.now():
            raise ValidationError(_("The call cannot end in the future."))
        return value

    def clean(self):
        cleaned = super().clean()
        started_at, ended_at = cleaned.get("started_at"), cleaned.get("ended_at")
        if started_at and ended_at and ended_at < started_at:
            self.add_error("ended_at", _("The call cannot end before it started."))
        return cleaned

    def changes(self) -> dict:
        """The amendable fields whose submitted value differs from the current one."""
        changed = {}
        for name in AMENDABLE_FIELDS:
            new, old = self.cleaned_data[name], self.current[name]
            if isinstance(old, datetime.datetime):
                # The form shows whole seconds; an untouched value must not count as a change.
                unchanged = new == old.replace(microsecond=0) or new == old
            elif isinstance(old, str):
                unchanged = _normalize_text(new) == _normalize_text(old)
                new = _normalize_text(new)
            else:
                unchanged = new == old
            if not unchanged:
                changed[name] = new
        return changed


class TranscribeCallForm(forms.Form):
    """A past call copied from the paper logbook, in the time zone of the prisoner's site.

    Cleaned data holds domain values: ``prisoner``, ``contact`` (the prisoner's
    contact with the number dialled, if any), ``started_at`` and ``ended_at``.
    """

    prisoner = forms.CharField(label=_("Prisoner (ISN)"), max_length=20)
    number_dialled = forms.CharField(
        label=_("Number dialled"),
        max_length=40,
        required=False,
        help_text=_("When it is one of the prisoner's contacts, the entry is linked to it."),
    )
    locality = forms.CharField(
        label=_("Location called"),
        max_length=200,
        required=False,
        help_text=_("As written in the paper book; the contact's place when left empty."),
    )
    line = forms.ModelChoiceField(label=_("Line"), queryset=Line.objects.none(), required=False)
    monitor = forms.ModelChoiceField(
        label=_("Monitor"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("The guard named in the paper book; leave empty if it was you."),
    )
    date = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    start_time = forms.TimeField(label=_("Start time"), widget=TIME_WIDGET)
    end_time = forms.TimeField(label=_("End time"), widget=TIME_WIDGET)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "---------"), *Outcome.choices])
    language = forms.CharField(label=_("Language spoken"), max_length=40, required=False)
    notes = forms.CharField(
        label=_("Monitor's notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, user, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.helper = fields_only_helper(
            "prisoner",
            Row(Column("number_dialled"), Column("locality")),
            Row(Column("line"), Column("monitor")),
            Row(Column("date"), Column("start_time"), Column("end_time")),
            Row(Column("outcome"), Column("language")),
            "notes",
        )
        lines = Line.objects.filter(site__in=sites).select_related("site")
        self.fields["line"].queryset = lines.order_by("site__name", "name")
        self.fields["monitor"].queryset = (
            User.objects.filter(sites__in=sites, groups__name__in=Role.values)
            .distinct()
            .order_by("last_name", "first_name", "username")
        )
        if len(sites) > 1:
            self.fields["line"].label_from_instance = lambda line: f"{line.site.code} · {line}"

    def clean_prisoner(self) -> Prisoner:
        isn = self.cleaned_data["prisoner"].strip()
        prisoner = (
            visible_prisoners(user=self.user).select_related("site").filter(isn__iexact=isn).first()
        )
        if prisoner is None:
            raise ValidationError(
                _("No prisoner with the ISN “%(isn)s” at your sites."), params={"isn": isn}
            )
        return prisoner

    def clean_number_dialled(self) -> str:
        number = self.cleaned_data["number_dialled"].strip()
        return normalize_phone_number(number) if number else ""

    def clean_date(self):
        value = self.cleaned_data["date"]
        _check_date(value)
        return value

    def clean(self):
        cleaned = super().clean()
        prisoner = cleaned.get("prisoner")
        if prisoner is None:
            return cleaned
        site = prisoner.site
        monitor = cleaned.get("monitor")
        if monitor is not None and not monitor.sites.filter(pk=site.pk).exists():
            self.add_error("monitor", _("This staff member does not serve the prisoner's site."))
        number = cleaned.get("number_dialled")
        cleaned["contact"] = (
            prisoner.contacts.filter(phone_number=number).order_by("status").first()
            if number
            else None
        )
        if cleaned["contact"] is not None and not cleaned.get("locality"):
            cleaned["locality"] = cleaned["contact"].locality
        day, start, end = cleaned.get("date"), cleaned.get("start_time"), cleaned.get("end_time")
        if day is None or start is None or end is None:
            return cleaned
        try:
            started_at = _site_datetime(day, start, site.zone)
        except ValidationError as error:
            self.add_error("start_time", error)
            return cleaned
        try:
            ended_at = _site_datetime(day, end, site.zone)
        except ValidationError as error:
            self.add_error("end_time", error)
            return cleaned
        if ended_at <= started_at:
            self.add_error("end_time", _("The call must end after it started."))
        elif ended_at > timezone.now():
            self.add_error("end_time", _("A transcribed call must lie in the past."))
        cleaned["started_at"], cleaned["ended_at"] = started_at, ended_at
        return cleaned


def _site_datetime(day: datetime.date, time: datetime.time, zone) -> datetime.datetime:
    """``day`` at ``time`` on the site's clock; refuses a time skipped by a clock change."""
    value = datetime.datetime.combine(day, time, tzinfo=zone)
    round_trip = value.astimezone(datetime.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != value.replace(tzinfo=None):
        raise ValidationError(
            _("%(time)s did not exist on %(date)s: the clocks were changed."),
            params={"time": time_format(time), "date": date_format(day)},
        )
    return value
