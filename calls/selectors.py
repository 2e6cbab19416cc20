"""Reads for the desk, the logbook and the schedule, limited to the staff member's sites."""

import datetime

from django.db.models import F, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.http import Http404

from calls.models import AirRaidAlert, Booking, Call, CallSlot, Line, Outcome
from camp.models import Site
from prisoners.models import Prisoner

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _get_for_user(queryset: QuerySet, *, site_path: str, user, pk):
    try:
        return queryset.filter(**{f"{site_path}__in": user.sites.all()}).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError):
        raise Http404 from None


def get_line_for_user(*, user, pk) -> Line:
    return _get_for_user(Line.objects.select_related("site"), site_path="site", user=user, pk=pk)


def get_slot_for_user(*, user, pk) -> CallSlot:
    return _get_for_user(
        CallSlot.objects.select_related("line__site"), site_path="line__site", user=user, pk=pk
    )


def get_booking_for_user(*, user, pk) -> Booking:
    return _get_for_user(
        Booking.objects.select_related("slot__line__site", "prisoner__site"),
        site_path="slot__line__site",
        user=user,
        pk=pk,
    )


def get_call_for_user(*, user, pk) -> Call:
    return _get_for_user(
        Call.objects.with_history().select_related("site", "booking", "transcribed_by"),
        site_path="site",
        user=user,
        pk=pk,
    )


def get_alert_for_user(*, user, pk) -> AirRaidAlert:
    return _get_for_user(
        AirRaidAlert.objects.select_related("site"), site_path="site", user=user, pk=pk
    )


def active_alert(site: Site) -> AirRaidAlert | None:
    return AirRaidAlert.objects.filter(site=site, ended_at__isnull=True).first()


def makeup_owed(*, site: Site) -> QuerySet[Prisoner]:
    """Interned prisoners of ``site`` owed a make-up call, longest-owed first.

    A prisoner is owed one when a call of theirs was interrupted by an air-raid
    alert, or their booking was suspended by one, and no connected call has
    followed. Each prisoner carries ``owed_since``. One query.
    """
    interrupted = (
        Call.objects.filter(prisoner=OuterRef("pk"), outcome=Outcome.INTERRUPTED_BY_ALERT)
        .order_by()
        .values("prisoner")
        .annotate(latest=Max("started_at"))
        .values("latest")
    )
    suspended = (
        Booking.objects.filter(prisoner=OuterRef("pk"), status=Booking.Status.SUSPENDED)
        .order_by()
        .values("prisoner")
        .annotate(latest=Max("starts_at"))
        .values("latest")
    )
    connected = (
        Call.objects.filter(prisoner=OuterRef("pk"), outcome=Outcome.CONNECTED)
        .order_by()
        .values("prisoner")
        .annotate(latest=Max("started_at"))
        .values("latest")
    )
    return (
        Prisoner.objects.filter(site=site, status=Prisoner.Status.INTERNED)
        .annotate(
            owed_since=Greatest(
                Coalesce(Subquery(interrupted), EPOCH), Coalesce(Subquery(suspended), EPOCH)
            ),
            last_connected=Coalesce(Subquery(connected), EPOCH),
        )
        .filter(owed_since__gt=F("last_connected"))
        .order_by("owed_since")
    )


def is_owed_makeup(prisoner: Prisoner) -> bool:
    return makeup_owed(site=prisoner.site).filter(pk=prisoner.pk).exists()


def slots_in_progress(site: Site, at: datetime.datetime) -> QuerySet[CallSlot]:
    return CallSlot.objects.filter(line__site=site, starts_at__lte=at, ends_at__gt=at)


def line_has_booked_slot(line: Line, at: datetime.datetime) -> bool:
    """Whether a booked prisoner holds ``line`` at ``at``: an unscheduled call must wait."""
    return Booking.objects.filter(
        slot__line=line, slot__starts_at__lte=at, slot__ends_at__gt=at, status=Booking.Status.BOOKED
    ).exists()
