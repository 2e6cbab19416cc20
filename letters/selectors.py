"""Reads of the register of letters, limited to the staff member's sites."""

import datetime

from django.db import models
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.http import Http404
from django.utils import timezone

from letters.models import Direction, Kind, Letter, LetterAmendment, SentMail
from prisoners.models import Prisoner

# Art. 70: a capture card within one week of arrival; late from the 8th day on.
CAPTURE_CARD_DAYS = 7


def get_letter_for_user(*, user, pk) -> Letter:
    """The item with ``pk`` if ``user`` serves its site; 404 otherwise. With its
    amendments and their authors (one more query)."""
    try:
        return (
            Letter.objects.for_list()
            .filter(site__in=user.sites.all())
            .prefetch_related(
                Prefetch("amendments", queryset=LetterAmendment.objects.select_related("author"))
            )
            .get(pk=pk)
        )
    except (Letter.DoesNotExist, ValueError):
        raise Http404 from None


def letters_of(*, prisoner: Prisoner) -> QuerySet[Letter]:
    """The prisoner's register, newest first, with contacts and recorders. One query."""
    return prisoner.letters.select_related("contact", "recorded_by").order_by(
        "-handed_in_on", "-id"
    )


def month_summary(*, prisoner: Prisoner, day: datetime.date) -> dict:
    """The prisoner's mail in the calendar month of ``day``: the letters and cards
    Art. 71 counts (``SentMail``), the other items he sent (capture cards, Red Cross
    messages, telegrams) and the items received, leaving out items recorded in
    error. Two queries."""
    start = day.replace(day=1)
    end = (start + datetime.timedelta(days=32)).replace(day=1)
    counted = SentMail.objects.filter(prisoner=prisoner, month=start).first()
    return {
        "letters_sent": counted.letters if counted else 0,
        "cards_sent": counted.cards if counted else 0,
        **prisoner.letters.counted()
        .filter(handed_in_on__gte=start, handed_in_on__lt=end)
        .aggregate(
            other_sent=Count(
                "pk",
                filter=Q(direction=Direction.SENT) & ~Q(kind__in=[Kind.LETTER, Kind.CARD]),
            ),
            received=Count("pk", filter=Q(direction=Direction.RECEIVED)),
        ),
    }


def in_camp(*, user, limit: int) -> tuple[list[Letter], bool]:
    """Items of the user's sites still in the camp's hands (sent ones not yet
    dispatched, received ones not yet given to the prisoner), oldest first: at most
    ``limit``, and whether there are more. One query."""
    rows = list(
        Letter.objects.for_list()
        .in_camp()
        .filter(site__in=user.sites.all())
        .order_by("handed_in_on", "id")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


class SiteToday(models.Func):
    """The calendar date at ``now`` on the clock of the site whose time zone is given."""

    template = "(timezone(%(expressions)s))::date"
    output_field = models.DateField()


class DaysBetween(models.Func):
    """``later - earlier`` in whole days (date minus date is an integer in PostgreSQL)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = models.IntegerField()


def overdue_capture_cards(*, user, now: datetime.datetime | None = None) -> QuerySet[Prisoner]:
    """Interned prisoners of the user's sites with no capture card handed in since
    arrival, once the week of Art. 70 is over at their site: arrived on day D, the
    card is due by D + 7 and overdue from D + 8 on the site's calendar.

    Longest overdue first; ``days_overdue`` and ``due_on`` annotated. One query,
    computed in SQL: each site's "today" comes from its time zone.
    """
    now = now or timezone.now()
    today = SiteToday("site__time_zone", Value(now, output_field=models.DateTimeField()))
    return (
        Prisoner.objects.filter(site__in=user.sites.all(), status=Prisoner.Status.INTERNED)
        .annotate(
            days_since_arrival=DaysBetween(today, "arrived_on"),
            has_card=Exists(
                Letter.objects.filter(
                    prisoner=OuterRef("pk"),
                    kind=Kind.CAPTURE_CARD,
                    handed_in_on__gte=OuterRef("arrived_on"),
                    in_error=False,
                )
            ),
        )
        .filter(days_since_arrival__gt=CAPTURE_CARD_DAYS, has_card=False)
        .select_related("site")
        .order_by("-days_since_arrival", "isn")
    )
