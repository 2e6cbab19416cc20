import datetime

import pgtrigger
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from camp import history
from camp.amendments import (
    AmendmentRecord,
    apply_amendment_sql,
    changes_only_by_amendment_sql,
)
from camp.models import Site
from camp.triggers import Unconditional, append_only
from prisoners.models import Contact, Prisoner

ONE_DAY = datetime.timedelta(days=1)


class IdRange(models.Func):
    """``int8range(id, id, '[]')``: lets a GiST exclusion constraint compare ids
    with ``&&`` (equality) without the btree_gist extension, which the embedded
    PostgreSQL does not ship."""

    function = "INT8RANGE"
    template = "%(function)s(%(expressions)s, '[]')"
    output_field = models.Field()

    def __init__(self, field_name):
        super().__init__(F(field_name), F(field_name))


class TimeRange(models.Func):
    """``tstzrange(start, end, '[)')``: two ranges that only touch do not overlap."""

    function = "TSTZRANGE"
    template = "%(function)s(%(expressions)s, '[)')"
    output_field = models.Field()

    def __init__(self, start, end):
        super().__init__(F(start), F(end))


class DateRange(models.Func):
    """``daterange(start, end, '[]')``: both days count, so two ranges that share a
    day overlap and consecutive ones (one ends on the 5th, the next starts on the
    6th) do not."""

    function = "DATERANGE"
    template = "%(function)s(%(expressions)s, '[]')"
    output_field = models.Field()

    def __init__(self, start, end):
        super().__init__(F(start), F(end))


@history.track(site="{row}.site_id")
class Line(models.Model):
    """A telephone station in a site's call room; one call at a time."""

    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="lines"
    )
    name = models.CharField(_("name"), max_length=60)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        ordering = ["site", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "name"], name="calls_line_unique_name_per_site"
            ),
        ]

    def __str__(self):
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


@history.track(site="(SELECT site_id FROM calls_line WHERE id = {row}.line_id)")
class ScheduleWindow(models.Model):
    """A weekly window on a line, cut into slots by ``calls.services.generate_slots``."""

    Weekday = Weekday

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="windows"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=15)

    class Meta:
        verbose_name = _("schedule window")
        verbose_name_plural = _("schedule windows")
        ordering = ["line", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="calls_schedulewindow_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=60),
                name="calls_schedulewindow_slot_length",
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="calls_schedulewindow_weekday"
            ),
        ]

    def __str__(self):
        return (
            f"{self.line} {self.get_weekday_display()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"
        )


class CallSlotQuerySet(models.QuerySet):
    def for_day(self, site: Site, day: datetime.date):
        """Slots of ``site`` starting on ``day`` in the site's time zone."""
        start = datetime.datetime.combine(day, datetime.time.min, tzinfo=site.zone)
        return self.filter(
            line__site=site, starts_at__gte=start, starts_at__lt=start + datetime.timedelta(days=1)
        )


@history.track(site="(SELECT site_id FROM calls_line WHERE id = {row}.line_id)")
class CallSlot(models.Model):
    """A scheduled window on a line that one prisoner can be booked into."""

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="slots"
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    suspended_by = models.ForeignKey(
        "AirRaidAlert",
        verbose_name=_("suspended by alert"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="suspended_slots",
    )

    objects = CallSlotQuerySet.as_manager()

    class Meta:
        verbose_name = _("call slot")
        verbose_name_plural = _("call slots")
        ordering = ["starts_at", "line"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="calls_callslot_ends_after_start"
            ),
            ExclusionConstraint(
                name="calls_callslot_no_overlap_on_line",
                expressions=[
                    (IdRange("line_id"), RangeOperators.OVERLAPS),
                    (TimeRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                violation_error_message=_("This line already has a slot at that time."),
            ),
        ]
        indexes = [
            # The desk and the booking page: a site's slots of one day.
            models.Index(fields=["starts_at"], name="calls_callslot_starts_idx"),
        ]

    def __str__(self):
        return f"{self.line} {date_format(timezone.localtime(self.starts_at), 'DATETIME_FORMAT')}"


# The prisoners' ``last_connected_at`` and ``makeup_owed_since`` for the prisoners of
# the rows a statement wrote (``written``, a transition table): a make-up call is
# owed after a call interrupted by an air-raid alert, or a booking suspended, until
# a connected call follows. A few index lookups per prisoner. The prisoners are
# locked first, in id order, so that the summary's snapshot holds every write
# committed before (as ``letters.models`` does for the last delivery of mail).
REFRESH_PRISONER_CONTACT = """
    PERFORM 1 FROM prisoners_prisoner WHERE id IN (SELECT prisoner_id FROM written)
    ORDER BY id FOR NO KEY UPDATE;
    UPDATE prisoners_prisoner AS prisoner
    SET last_connected_at = summary.last_connected_at,
        makeup_owed_since = summary.makeup_owed_since
    FROM (
        SELECT ids.prisoner_id,
               connected.at AS last_connected_at,
               CASE WHEN owed.at > COALESCE(connected.at, '-infinity') THEN owed.at END
                   AS makeup_owed_since
        FROM (SELECT DISTINCT prisoner_id FROM written) AS ids
        CROSS JOIN LATERAL (
            SELECT max(started_at) AS at FROM calls_call
            WHERE prisoner_id = ids.prisoner_id AND outcome = 'connected'
        ) AS connected
        CROSS JOIN LATERAL (
            SELECT GREATEST(
                (SELECT max(started_at) FROM calls_call
                 WHERE prisoner_id = ids.prisoner_id AND outcome = 'interrupted'),
                (SELECT max(starts_at) FROM calls_booking
                 WHERE prisoner_id = ids.prisoner_id AND status = 'suspended')
            ) AS at
        ) AS owed
    ) AS summary
    WHERE prisoner.id = summary.prisoner_id
      AND (prisoner.last_connected_at, prisoner.makeup_owed_since)
          IS DISTINCT FROM (summary.last_connected_at, summary.makeup_owed_since);
    RETURN NULL;
"""


def refresh_prisoner_contact_triggers() -> list[pgtrigger.Trigger]:
    """Statement triggers keeping ``REFRESH_PRISONER_CONTACT`` true after any write,
    raw SQL and COPY included; one per operation, as transition tables require."""
    return [
        Unconditional(
            name=f"refresh_prisoner_after_{operation_name}",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=operation,
            referencing=pgtrigger.Referencing(new="written"),
            func=REFRESH_PRISONER_CONTACT,
        )
        for operation_name, operation in (
            ("insert", pgtrigger.Insert),
            ("update", pgtrigger.Update),
        )
    ]


@history.track(
    site="(SELECT l.site_id FROM calls_callslot s JOIN calls_line l ON l.id = s.line_id"
    " WHERE s.id = {row}.slot_id)"
)
@pgtrigger.register(*refresh_prisoner_contact_triggers())
class Booking(models.Model):
    """A prisoner booked into a slot. Cancelled bookings stay, with their reason."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("No-show")
        # By an air-raid alert, or because its line was taken out of service.
        SUSPENDED = "suspended", _("Suspended: make-up call owed")

    slot = models.ForeignKey(
        CallSlot, verbose_name=_("slot"), on_delete=models.PROTECT, related_name="bookings"
    )
    prisoner = models.ForeignKey(
        Prisoner, verbose_name=_("prisoner"), on_delete=models.PROTECT, related_name="bookings"
    )
    # Copied from the slot so the database can refuse overlapping bookings of one prisoner.
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.BOOKED
    )
    is_makeup = models.BooleanField(_("make-up call"), default=False)
    override_reason = models.TextField(_("reason for overriding the call policy"), blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(default=timezone.now)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"],
                condition=~Q(status="cancelled"),
                name="calls_booking_one_per_slot",
                violation_error_message=_("This slot is already booked."),
            ),
            ExclusionConstraint(
                name="calls_booking_no_overlap_per_prisoner",
                expressions=[
                    (IdRange("prisoner_id"), RangeOperators.OVERLAPS),
                    (TimeRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=~Q(status="cancelled"),
                violation_error_message=_("This prisoner is already booked at that time."),
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""),
                name="calls_booking_cancel_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="calls_booking_ends_after_start"
            ),
        ]
        indexes = [
            # Policy checks: a prisoner's live bookings in a month.
            models.Index(fields=["prisoner", "starts_at"], name="calls_booking_prisoner_idx"),
            # REFRESH_PRISONER_CONTACT: a prisoner's latest suspended booking.
            models.Index(
                fields=["prisoner", "starts_at"],
                condition=Q(status="suspended"),
                name="calls_booking_suspended_idx",
            ),
        ]

    def __str__(self):
        return f"{self.prisoner.isn} @ {self.slot}"


class CallPolicyQuerySet(models.QuerySet):
    def in_force(self, site: Site, day: datetime.date):
        """The policy of ``site`` in force on ``day``, or None (camp defaults apply)."""
        return self.filter(site=site, effective_from__lte=day).order_by("-effective_from").first()


@history.track(site="{row}.site_id")
class CallPolicy(models.Model):
    """The camp's call rules from a date on; earlier versions stay for reports."""

    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="call_policies"
    )
    effective_from = models.DateField(_("in force from"))
    calls_open = models.BooleanField(
        _("calls open"), default=True, help_text=_("Untick to suspend the whole call programme.")
    )
    max_minutes = models.PositiveSmallIntegerField(_("maximum minutes per call"), default=15)
    min_days_between = models.PositiveSmallIntegerField(
        _("minimum days between connected calls"), default=7
    )
    max_calls_per_month = models.PositiveSmallIntegerField(_("maximum calls per month"), default=4)
    guards_may_book = models.BooleanField(_("guards may book slots"), default=False)
    # GCIII Art. 71: the least a prisoner may send in a calendar month; the Geneva
    # minimum report lists those below it, and those without news for ``no_news_days``.
    min_letters_per_month = models.PositiveSmallIntegerField(
        _("minimum letters sent per month"), default=2
    )
    min_cards_per_month = models.PositiveSmallIntegerField(
        _("minimum cards sent per month"), default=4
    )
    no_news_days = models.PositiveSmallIntegerField(
        _("days without news before a prisoner is listed"), default=30
    )
    note = models.TextField(_("decision and note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CallPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("call policy")
        verbose_name_plural = _("call policies")
        ordering = ["site", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "effective_from"], name="calls_callpolicy_one_per_day"
            ),
            models.CheckConstraint(
                condition=Q(max_minutes__gte=1, max_minutes__lte=60),
                name="calls_callpolicy_max_minutes_range",
            ),
        ]

    def __str__(self):
        return f"{self.site} {self.effective_from}"


@history.track(site="(SELECT site_id FROM prisoners_prisoner WHERE id = {row}.prisoner_id)")
class Suspension(models.Model):
    """A prisoner's calls stopped for a stated reason until a fixed end date.

    There is no disciplinary reason: calls and letters are never withheld as punishment.
    """

    class Reason(models.TextChoices):
        SECURITY_INVESTIGATION = "security_investigation", _("Security investigation")
        AUTHORITY_DECISION = "authority_decision", _("Decision of an authority")
        PRISONER_REQUEST = "prisoner_request", _("Prisoner's own request")
        MEDICAL = "medical", _("Medical")

    prisoner = models.ForeignKey(
        Prisoner,
        verbose_name=_("prisoner"),
        on_delete=models.PROTECT,
        related_name="call_suspensions",
    )
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices)
    authority = models.CharField(_("authority"), max_length=150)
    document_reference = models.CharField(_("document reference"), max_length=100, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("call suspension")
        verbose_name_plural = _("call suspensions")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="calls_suspension_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(
                    reason__in=[
                        "security_investigation",
                        "authority_decision",
                        "prisoner_request",
                        "medical",
                    ]
                ),
                name="calls_suspension_reason_valid",
            ),
            # The desk and the booking rules read "the" suspension of a prisoner on a day.
            ExclusionConstraint(
                name="calls_suspension_no_overlap_per_prisoner",
                expressions=[
                    (IdRange("prisoner_id"), RangeOperators.OVERLAPS),
                    (DateRange("starts_on", "ends_on"), RangeOperators.OVERLAPS),
                ],
                violation_error_message=_(
                    "This prisoner's calls are already suspended on some of these days."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.prisoner.isn} {self.starts_on}–{self.ends_on}"


@history.track(site="{row}.site_id")
class AirRaidAlert(models.Model):
    """From siren to all clear at one site."""

    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="alerts"
    )
    started_at = models.DateTimeField(_("siren"))
    ended_at = models.DateTimeField(_("all clear"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("air-raid alert")
        verbose_name_plural = _("air-raid alerts")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["site"],
                condition=Q(ended_at__isnull=True),
                name="calls_airraidalert_one_active_per_site",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="calls_airraidalert_ends_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.site} {date_format(timezone.localtime(self.started_at), 'DATETIME_FORMAT')}"


class Outcome(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    LINE_FAULT = "line_fault", _("Line fault")
    ENDED_BY_MONITOR = "ended_by_monitor", _("Ended by monitor")
    INTERRUPTED_BY_ALERT = "interrupted", _("Interrupted by air-raid alert")


# Fields of a closed entry that an amendment may correct, with their SQL types.
AMENDABLE_FIELD_TYPES = {
    "number_dialled": "text",
    "locality": "text",
    "started_at": "timestamptz",
    "ended_at": "timestamptz",
    "outcome": "text",
    "language": "text",
    "notes": "text",
    "flagged": "boolean",
    "flag_reason": "text",
}
AMENDABLE_FIELDS = list(AMENDABLE_FIELD_TYPES)


# An amendment, however inserted, is checked against the entry and applied to it in
# the same statement (camp.amendments): the entry's columns then hold the current
# values that every page, rule and report reads.
APPLY_AMENDMENT = apply_amendment_sql(
    entry_table="calls_call",
    entry_column="call_id",
    field_types=AMENDABLE_FIELD_TYPES,
    check_entry="""
    IF entry.ended_at IS NULL THEN
        RAISE EXCEPTION 'logbook entry % is in progress and cannot be amended', NEW.call_id;
    END IF;""",
)
CLOSED_ENTRY_IS_FINAL = changes_only_by_amendment_sql(
    "logbook entry % is closed: it changes only through an amendment"
)


class CallQuerySet(models.QuerySet):
    def in_progress(self):
        return self.filter(ended_at__isnull=True)

    def for_list(self):
        """Entries with what the logbook shows beside them, in the same query."""
        return self.select_related("site", "prisoner", "line", "monitor")


@history.track(site="{row}.site_id", exclude=("amendment_count",))
@pgtrigger.register(
    Unconditional(
        name="closed_entry_changes_only_by_amendment",
        when=pgtrigger.Before,
        operation=pgtrigger.Update,
        condition=pgtrigger.Q(old__ended_at__isnull=False),
        func=CLOSED_ENTRY_IS_FINAL,
    ),
    *append_only(operation=pgtrigger.Delete),
    *refresh_prisoner_contact_triggers(),
)
class Call(models.Model):
    """One call attempt: a logbook entry.

    Start and end are the server's clock. Once ended, the row changes only through
    an ``Amendment``: a database trigger applies each amendment to the amendable
    columns in the same transaction, so the columns always hold the current values
    (what every page, rule and report reads), and refuses any other UPDATE or
    DELETE. The values first recorded are the history's earliest "from" values.
    """

    Outcome = Outcome

    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="calls"
    )
    prisoner = models.ForeignKey(
        Prisoner, verbose_name=_("prisoner"), on_delete=models.PROTECT, related_name="calls"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
    )
    number_dialled = models.CharField(_("number dialled"), max_length=20)
    locality = models.CharField(_("location called"), max_length=200, blank=True)
    line = models.ForeignKey(
        Line,
        verbose_name=_("line"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
    )
    booking = models.ForeignKey(
        Booking,
        verbose_name=_("booking"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
    )
    policy = models.ForeignKey(
        CallPolicy,
        verbose_name=_("policy applied"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"))
    deadline = models.DateTimeField(_("time limit"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    elapsed = models.GeneratedField(
        expression=F("ended_at") - F("started_at"),
        output_field=models.DurationField(),
        db_persist=True,
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    language = models.CharField(_("language spoken"), max_length=40, blank=True)
    monitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("monitor"),
        on_delete=models.PROTECT,
        related_name="monitored_calls",
    )
    notes = models.TextField(_("monitor's notes"), blank=True)
    flagged = models.BooleanField(_("flagged for review"), default=False)
    flag_reason = models.TextField(_("reason for review"), blank=True)
    over_limit = models.BooleanField(_("ran past the limit"), default=False)
    is_makeup = models.BooleanField(_("make-up call"), default=False)
    amendment_count = models.PositiveIntegerField(_("amendments"), default=0, editable=False)
    transcribed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("transcribed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(ended_at__isnull=True),
                name="calls_call_one_in_progress_per_line",
                violation_error_message=_("A call is already in progress on this line."),
            ),
            models.UniqueConstraint(
                fields=["prisoner"],
                condition=Q(ended_at__isnull=True),
                name="calls_call_one_in_progress_per_prisoner",
                violation_error_message=_("This prisoner is already on a call."),
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="calls_call_ends_after_start",
            ),
            models.CheckConstraint(
                condition=(Q(ended_at__isnull=True) & Q(outcome=""))
                | (Q(ended_at__isnull=False) & Q(outcome__in=Outcome.values)),
                name="calls_call_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(flagged=True) | ~Q(flag_reason=""), name="calls_call_flag_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(line__isnull=False) | Q(transcribed_by__isnull=False),
                name="calls_call_live_call_has_line",
            ),
            models.CheckConstraint(
                condition=Q(transcribed_by__isnull=True) | Q(ended_at__isnull=False),
                name="calls_call_transcribed_is_closed",
            ),
        ]
        indexes = [
            # Logbook page: a site's entries newest first, filtered by date range.
            models.Index(fields=["site", "-started_at", "-id"], name="calls_call_site_idx"),
            # Logbook filtered by outcome, newest first.
            models.Index(
                fields=["site", "outcome", "-started_at", "-id"], name="calls_call_outcome_idx"
            ),
            # Policy checks, the prisoner page and REFRESH_PRISONER_CONTACT: a prisoner's
            # calls over time.
            models.Index(fields=["prisoner", "-started_at", "-id"], name="calls_call_prisoner_idx"),
            # REFRESH_PRISONER_CONTACT: a prisoner's latest call cut off by an alert.
            models.Index(
                fields=["prisoner", "-started_at"],
                condition=Q(outcome="interrupted"),
                name="calls_call_interrupted_idx",
            ),
            # Logbook "flagged only" and the flagged-calls review, newest first.
            models.Index(
                fields=["site", "-started_at", "-id"],
                condition=Q(flagged=True),
                name="calls_call_flagged_idx",
            ),
        ]

    def __str__(self):
        started = date_format(timezone.localtime(self.started_at), "DATETIME_FORMAT")
        return f"{self.prisoner.isn} {started}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def is_transcribed(self) -> bool:
        return self.transcribed_by_id is not None

    @property
    def is_unscheduled(self) -> bool:
        return self.booking_id is None and not self.is_transcribed

    @property
    def is_amended(self) -> bool:
        return self.amendment_count > 0

    def amendable_values(self) -> dict:
        return {name: getattr(self, name) for name in AMENDABLE_FIELDS}


@history.track(site="(SELECT site_id FROM calls_call WHERE id = {row}.call_id)")
@pgtrigger.register(
    *append_only(),
    Unconditional(
        name="applies_to_entry",
        when=pgtrigger.After,
        operation=pgtrigger.Insert,
        declare=[("entry", "calls_call%ROWTYPE")],
        func=APPLY_AMENDMENT,
    ),
)
class Amendment(AmendmentRecord):
    """A correction of a closed logbook entry: what changed, why, by whom, when."""

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="amendments"
    )

    class Meta(AmendmentRecord.Meta):
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")

    def __str__(self):
        return f"{self.call} ({date_format(timezone.localtime(self.created_at))})"
