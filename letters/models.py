import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Greatest
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


class Kind(models.TextChoices):
    LETTER = "letter", _("Letter")
    CARD = "card", _("Card")
    # GCIII Art. 70: to the family and the Central Tracing Agency within a week of arrival.
    CAPTURE_CARD = "capture_card", _("Capture card")
    # The ICRC's short open family message, carried by its delegates.
    RED_CROSS_MESSAGE = "red_cross_message", _("Red Cross message")
    TELEGRAM = "telegram", _("Telegram")


class Direction(models.TextChoices):
    SENT = "sent", _("Sent by the prisoner")
    RECEIVED = "received", _("Received for the prisoner")


class Channel(models.TextChoices):
    POST = "post", _("Post")
    ICRC = "icrc", _("ICRC")


class Status(models.TextChoices):
    """Derived by the database from the dates (``Letter.status``), never set."""

    HANDED_IN = "handed_in", _("Handed in")
    ARRIVED = "arrived", _("Arrived at the camp")
    CENSORED = "censored", _("Examined by the censor")
    DISPATCHED = "dispatched", _("Dispatched")
    DELIVERED = "delivered", _("Delivered")
    RETURNED = "returned", _("Returned")
    VOID = "void", _("Recorded in error")


# Still in the camp's hands: sent items not yet dispatched, received ones not yet
# given to the prisoner. The mail desk lists these.
IN_CAMP = [Status.HANDED_IN, Status.ARRIVED, Status.CENSORED]

# The dates that move an item along, in order, each filled in once by a status step
# (an amendment with ``is_correction=False``); the first, ``handed_in_on``, is set
# when the item is recorded.
STEP_DATES = ["censored_on", "dispatched_on", "delivered_on", "returned_on"]

# Fields an amendment may correct, with their SQL types. ``in_error`` withdraws an
# item recorded by mistake: nothing is deleted.
AMENDABLE_FIELD_TYPES = {
    "prisoner_id": "bigint",
    "kind": "text",
    "direction": "text",
    "channel": "text",
    "contact_id": "bigint",
    "correspondent_name": "text",
    "correspondent_locality": "text",
    "reference": "text",
    "written_on": "date",
    "handed_in_on": "date",
    "censored_on": "date",
    "dispatched_on": "date",
    "delivered_on": "date",
    "returned_on": "date",
    "notes": "text",
    "in_error": "boolean",
}
AMENDABLE_FIELDS = list(AMENDABLE_FIELD_TYPES)

# A status step (``is_correction`` false) only fills in an empty step date; anything
# else is a correction, with a reason a person wrote.
STEP_ONLY_FILLS_AN_EMPTY_DATE = f"""
    IF NOT NEW.is_correction AND EXISTS (
        SELECT 1 FROM jsonb_each(NEW.changes) AS change(field, value)
        WHERE change.field <> ALL (ARRAY[{", ".join(f"'{f}'" for f in STEP_DATES)}])
           OR change.value -> 'from' <> 'null'::jsonb
           OR change.value -> 'to' = 'null'::jsonb
    ) THEN
        RAISE EXCEPTION 'status step of item %: it only fills in an empty date', NEW.letter_id;
    END IF;"""

APPLY_AMENDMENT = apply_amendment_sql(
    entry_table="letters_letter",
    entry_column="letter_id",
    field_types=AMENDABLE_FIELD_TYPES,
    check_changes=STEP_ONLY_FILLS_AN_EMPTY_DATE,
    # Status steps are history too, but only corrections mark an item as amended.
    count="amendment_count = amendment_count + NEW.is_correction::int",
)

ITEM_IS_FINAL = changes_only_by_amendment_sql(
    "item % of the register of letters changes only through an amendment"
)


# The prisoners' ``last_mail_delivered_on`` for the prisoners of the rows a statement
# wrote (``written``; for an UPDATE also ``replaced``, the rows before it, since a
# correction may move an item to another prisoner): the latest delivery of an item
# not recorded in error. Both directions are news: a sent item delivered reached the
# family, a received one delivered reached the prisoner. One index lookup of the
# prisoner's items (``letters_letter_prisoner_idx``) per prisoner.
#
# The prisoners are locked first, in id order, and summarised by the next statement,
# whose snapshot then holds every write committed before the lock was this one's: a
# statement summarising from an older snapshot would overwrite a later delivery that
# another request committed meanwhile. NO KEY UPDATE, as the UPDATE itself takes:
# recording items for the prisoner (their foreign key's KEY SHARE) goes on.
def _refresh_prisoner_mail_sql(prisoner_ids: str) -> str:
    return f"""
    PERFORM 1 FROM prisoners_prisoner WHERE id IN ({prisoner_ids})
    ORDER BY id FOR NO KEY UPDATE;
    UPDATE prisoners_prisoner AS prisoner
    SET last_mail_delivered_on = summary.delivered_on
    FROM (
        SELECT ids.prisoner_id,
               (SELECT max(delivered_on) FROM letters_letter
                WHERE prisoner_id = ids.prisoner_id
                  AND delivered_on IS NOT NULL AND NOT in_error) AS delivered_on
        FROM ({prisoner_ids}) AS ids
    ) AS summary
    WHERE prisoner.id = summary.prisoner_id
      AND prisoner.last_mail_delivered_on IS DISTINCT FROM summary.delivered_on;
    RETURN NULL;
"""


REFRESH_PRISONER_MAIL_AFTER_INSERT = _refresh_prisoner_mail_sql(
    "SELECT DISTINCT prisoner_id FROM written"
)
REFRESH_PRISONER_MAIL_AFTER_UPDATE = _refresh_prisoner_mail_sql(
    "SELECT prisoner_id FROM written UNION SELECT prisoner_id FROM replaced"
)


def after_each_write(name: str, *, after_insert: str, after_update: str) -> list:
    """Statement triggers ``{name}_after_insert`` and ``{name}_after_update`` on the
    register, running over the rows a statement wrote (``written``) and, for an
    UPDATE, those it replaced (``replaced``): after any write, amendments (an UPDATE by
    their trigger), raw SQL and COPY included. Items are never deleted."""
    return [
        Unconditional(
            name=f"{name}_after_insert",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Insert,
            referencing=pgtrigger.Referencing(new="written"),
            func=after_insert,
        ),
        Unconditional(
            name=f"{name}_after_update",
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            operation=pgtrigger.Update,
            referencing=pgtrigger.Referencing(old="replaced", new="written"),
            func=after_update,
        ),
    ]


# Each prisoner's letters and cards sent per calendar month (``SentMail``), kept by
# adding the rows a statement wrote and taking away those it replaced. Additions
# commute: simultaneous statements for the same prisoner and month each add theirs
# under the row's lock, where a recount from each one's snapshot would lose one.
# The month's row is made first (with zeros: a count may only go down in a row that
# exists, the table's checks see every proposed row) and the rows are locked in key
# order, so two statements never wait on each other crosswise. Changes that cancel
# out, as a status step's do, write nothing.
def _count_sent_mail_sql(changes: str) -> str:
    letters = f"sum(CASE WHEN item.kind = '{Kind.LETTER}' THEN item.sign ELSE 0 END)"
    cards = f"sum(CASE WHEN item.kind = '{Kind.CARD}' THEN item.sign ELSE 0 END)"
    change = f"""(
        SELECT item.prisoner_id, date_trunc('month', item.handed_in_on)::date AS month,
               {letters} AS letters, {cards} AS cards
        FROM ({changes}) AS item
        WHERE item.direction = '{Direction.SENT}'
          AND item.kind IN ('{Kind.LETTER}', '{Kind.CARD}')
          AND NOT item.in_error
        GROUP BY 1, 2
        HAVING {letters} <> 0 OR {cards} <> 0
    ) AS change"""
    return f"""
    INSERT INTO letters_sentmail (prisoner_id, month, letters, cards)
    SELECT change.prisoner_id, change.month, 0, 0 FROM {change}
    ORDER BY 1, 2
    ON CONFLICT (prisoner_id, month) DO NOTHING;
    PERFORM 1 FROM letters_sentmail AS sent
    JOIN {change} ON change.prisoner_id = sent.prisoner_id AND change.month = sent.month
    ORDER BY sent.prisoner_id, sent.month
    FOR UPDATE OF sent;
    UPDATE letters_sentmail AS sent
    SET letters = sent.letters + change.letters, cards = sent.cards + change.cards
    FROM {change}
    WHERE change.prisoner_id = sent.prisoner_id AND change.month = sent.month;
    RETURN NULL;
"""


ITEM_COLUMNS = "prisoner_id, handed_in_on, kind, direction, in_error"
COUNT_SENT_MAIL_AFTER_INSERT = _count_sent_mail_sql(
    f"SELECT {ITEM_COLUMNS}, 1 AS sign FROM written"
)
COUNT_SENT_MAIL_AFTER_UPDATE = _count_sent_mail_sql(
    f"SELECT {ITEM_COLUMNS}, 1 AS sign FROM written"
    f" UNION ALL SELECT {ITEM_COLUMNS}, -1 AS sign FROM replaced"
)


class LetterQuerySet(models.QuerySet):
    def for_sites(self, sites):
        return self.filter(site__in=sites)

    def in_camp(self):
        return self.filter(status__in=IN_CAMP)

    def counted(self):
        """Items that happened: not withdrawn as recorded in error."""
        return self.exclude(status=Status.VOID)

    def for_list(self):
        """Items with what the lists show beside them, in the same query."""
        return self.select_related("site", "prisoner", "contact", "recorded_by")


@history.track(site="{row}.site_id", exclude=("amendment_count",))
@pgtrigger.register(
    Unconditional(
        name="item_changes_only_by_amendment",
        when=pgtrigger.Before,
        operation=pgtrigger.Update,
        func=ITEM_IS_FINAL,
    ),
    *append_only(operation=pgtrigger.Delete),
    # Prisoner.last_mail_delivered_on
    *after_each_write(
        "refresh_prisoner_mail",
        after_insert=REFRESH_PRISONER_MAIL_AFTER_INSERT,
        after_update=REFRESH_PRISONER_MAIL_AFTER_UPDATE,
    ),
    # SentMail
    *after_each_write(
        "count_sent_mail",
        after_insert=COUNT_SENT_MAIL_AFTER_INSERT,
        after_update=COUNT_SENT_MAIL_AFTER_UPDATE,
    ),
)
class Letter(models.Model):
    """One item of correspondence in the register: a letter, card, capture card,
    Red Cross message or telegram, sent by a prisoner or received for one.

    Recorded when the camp takes it in (``handed_in_on``: handed in by the prisoner,
    or arrived for him). From then on the row changes only through a
    ``LetterAmendment`` that a database trigger applies in the same transaction:
    status steps (censored, dispatched, delivered, returned) fill in an empty date,
    corrections change anything amendable with a reason. Any other UPDATE, and any
    DELETE, is refused by the database. ``status`` is derived from the dates by the
    database itself.
    """

    Kind = Kind
    Direction = Direction
    Channel = Channel
    Status = Status

    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="letters"
    )
    # No index of its own: ``letters_letter_prisoner_idx`` starts with the prisoner. With
    # both, the planner may pick this one for an Art. 71 month and filter every item the
    # prisoner ever had instead of reading the month's range.
    prisoner = models.ForeignKey(
        Prisoner,
        verbose_name=_("prisoner"),
        on_delete=models.PROTECT,
        related_name="letters",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.POST
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="letters",
    )
    # Typed when the correspondent is not one of the prisoner's approved contacts.
    correspondent_name = models.CharField(_("correspondent"), max_length=200, blank=True)
    correspondent_locality = models.CharField(_("locality"), max_length=200, blank=True)
    reference = models.CharField(
        _("reference"),
        max_length=60,
        blank=True,
        help_text=_("Registered-mail or ICRC message number, if any."),
    )
    written_on = models.DateField(_("written"), null=True, blank=True)
    handed_in_on = models.DateField(_("handed in or arrived"))
    censored_on = models.DateField(_("examined by the censor"), null=True, blank=True)
    dispatched_on = models.DateField(_("dispatched"), null=True, blank=True)
    delivered_on = models.DateField(_("delivered"), null=True, blank=True)
    returned_on = models.DateField(_("returned"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    in_error = models.BooleanField(_("recorded in error"), default=False)
    status = models.GeneratedField(
        expression=Case(
            When(in_error=True, then=Value(Status.VOID.value)),
            When(returned_on__isnull=False, then=Value(Status.RETURNED.value)),
            When(delivered_on__isnull=False, then=Value(Status.DELIVERED.value)),
            When(dispatched_on__isnull=False, then=Value(Status.DISPATCHED.value)),
            When(censored_on__isnull=False, then=Value(Status.CENSORED.value)),
            When(direction=Direction.RECEIVED.value, then=Value(Status.ARRIVED.value)),
            default=Value(Status.HANDED_IN.value),
        ),
        output_field=models.CharField(_("status"), max_length=10, choices=Status.choices),
        db_persist=True,
    )
    amendment_count = models.PositiveIntegerField(_("amendments"), default=0, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    objects = LetterQuerySet.as_manager()

    class Meta:
        verbose_name = _("item of mail")
        verbose_name_plural = _("items of mail")
        ordering = ["-handed_in_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="letters_letter_kind"),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="letters_letter_direction"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="letters_letter_channel"
            ),
            models.CheckConstraint(
                condition=~Q(kind=Kind.CAPTURE_CARD) | Q(direction=Direction.SENT),
                name="letters_letter_capture_card_is_sent",
            ),
            models.CheckConstraint(
                condition=~Q(kind=Kind.RED_CROSS_MESSAGE) | Q(channel=Channel.ICRC),
                name="letters_letter_red_cross_message_by_icrc",
            ),
            # One source for the correspondent: the contact, or what was typed.
            models.CheckConstraint(
                condition=Q(contact__isnull=True) | Q(correspondent_name=""),
                name="letters_letter_contact_or_typed_name",
            ),
            models.CheckConstraint(
                condition=Q(written_on__isnull=True) | Q(written_on__lte=F("handed_in_on")),
                name="letters_letter_written_before_handed_in",
            ),
            models.CheckConstraint(
                condition=Q(censored_on__isnull=True) | Q(censored_on__gte=F("handed_in_on")),
                name="letters_letter_censored_after_handed_in",
            ),
            # Received mail arrives; it is not dispatched from the camp.
            models.CheckConstraint(
                condition=Q(direction=Direction.SENT) | Q(dispatched_on__isnull=True),
                name="letters_letter_received_never_dispatched",
            ),
            # GREATEST ignores NULLs: each date is on or after every earlier one given.
            models.CheckConstraint(
                condition=Q(dispatched_on__isnull=True)
                | Q(dispatched_on__gte=Greatest("handed_in_on", "censored_on")),
                name="letters_letter_dispatched_in_order",
            ),
            models.CheckConstraint(
                condition=Q(delivered_on__isnull=True)
                | Q(delivered_on__gte=Greatest("handed_in_on", "censored_on", "dispatched_on")),
                name="letters_letter_delivered_in_order",
            ),
            models.CheckConstraint(
                condition=Q(returned_on__isnull=True)
                | Q(returned_on__gte=Greatest("handed_in_on", "censored_on", "dispatched_on")),
                name="letters_letter_returned_in_order",
            ),
            # A sent item reaches its addressee only after it left the camp.
            models.CheckConstraint(
                condition=~Q(direction=Direction.SENT)
                | Q(delivered_on__isnull=True)
                | Q(dispatched_on__isnull=False),
                name="letters_letter_sent_delivered_after_dispatch",
            ),
            models.CheckConstraint(
                condition=Q(delivered_on__isnull=True) | Q(returned_on__isnull=True),
                name="letters_letter_delivered_or_returned",
            ),
        ]
        indexes = [
            # The per-prisoner register, newest first, and Art. 71 counts per month.
            models.Index(
                fields=["prisoner", "-handed_in_on", "-id"], name="letters_letter_prisoner_idx"
            ),
            # The mail desk: a site's items still in the camp's hands, oldest first.
            models.Index(
                fields=["site", "handed_in_on", "id"],
                condition=Q(status__in=IN_CAMP),
                name="letters_letter_in_camp_idx",
            ),
            # Overdue capture cards: has the prisoner handed one in since arrival?
            models.Index(
                fields=["prisoner", "handed_in_on"],
                condition=Q(kind=Kind.CAPTURE_CARD),
                name="letters_letter_capture_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.prisoner.isn} {self.handed_in_on}"

    def get_status_display(self) -> str:
        # A GeneratedField gets no get_FOO_display, though its output field has choices.
        return Status(self.status).label

    @property
    def is_amended(self) -> bool:
        return self.amendment_count > 0

    @property
    def is_void(self) -> bool:
        return self.in_error

    @property
    def correspondent(self) -> str:
        if self.contact_id is not None:
            return self.contact.name
        return self.correspondent_name

    @property
    def locality(self) -> str:
        if self.contact_id is not None:
            return self.contact.locality
        return self.correspondent_locality

    def amendable_values(self) -> dict:
        return {name: getattr(self, name) for name in AMENDABLE_FIELDS}


@history.track(site="(SELECT site_id FROM letters_letter WHERE id = {row}.letter_id)")
@pgtrigger.register(
    *append_only(),
    Unconditional(
        name="applies_to_item",
        when=pgtrigger.After,
        operation=pgtrigger.Insert,
        declare=[("entry", "letters_letter%ROWTYPE")],
        func=APPLY_AMENDMENT,
    ),
)
class LetterAmendment(AmendmentRecord):
    """A change to an item of the register: a status step or a correction.

    A status step fills in one empty date (censored, dispatched, delivered,
    returned) with a reason the service writes ("Dispatched"); a correction changes
    any amendable field with the reason its author gave. Both stay for good.
    """

    letter = models.ForeignKey(
        Letter, verbose_name=_("item"), on_delete=models.PROTECT, related_name="amendments"
    )
    is_correction = models.BooleanField(_("correction"), default=True)

    class Meta(AmendmentRecord.Meta):
        verbose_name = _("amendment of an item of mail")
        verbose_name_plural = _("amendments of items of mail")

    def __str__(self):
        return f"{self.letter} ({date_format(timezone.localtime(self.created_at))})"


class SentMail(models.Model):
    """The letters and cards a prisoner sent in a calendar month, as GCIII Art. 71
    counts them: items of the kinds letter and card (capture cards are Art. 70's, over
    and above), sent, not recorded in error, by the day handed in on the site's
    calendar. Kept by the register's ``count_sent_mail`` triggers from its current
    values, so a correction moves an item between months or prisoners; never written
    by the application. A month without such items has no row: it counts as zero.
    Derived from the register, which has the history, so it has none of its own.
    """

    # No index of its own: the unique constraint serves every read, and a prisoner is
    # deleted only while he has no mail (the register protects him), so rarely.
    prisoner = models.ForeignKey(
        Prisoner,
        verbose_name=_("prisoner"),
        on_delete=models.PROTECT,
        related_name="sent_mail",
        db_index=False,
    )
    month = models.DateField(_("month"), help_text=_("Its first day."))
    letters = models.PositiveIntegerField(_("letters"))
    cards = models.PositiveIntegerField(_("cards"))

    class Meta:
        verbose_name = _("mail sent in a month")
        verbose_name_plural = _("mail sent per month")
        constraints = [
            # Month first: also the index of the Art. 71 reports, a month of every prisoner.
            models.UniqueConstraint(fields=["month", "prisoner"], name="letters_sentmail_once"),
            models.CheckConstraint(
                condition=Q(month__day=1), name="letters_sentmail_month_first_day"
            ),
        ]

    def __str__(self):
        return f"{self.prisoner_id} {self.month:%Y-%m}: {self.letters} + {self.cards}"
