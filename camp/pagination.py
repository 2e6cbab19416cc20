"""Keyset pagination for long lists ordered newest first.

A page is found by seeking from the last row shown (an index range scan), never by
counting and skipping rows, so the thousandth page costs what the first does.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet

OLDEST = "oldest"


@dataclass(frozen=True)
class KeysetPage:
    object_list: list
    # Cursors for the neighbouring pages, or None at either end.
    newer: str | None
    older: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.newer or self.older)


def _cursor(direction: str, row, field: str) -> str:
    return f"{direction}{getattr(row, field).isoformat()}~{row.pk}"


def _parse(cursor: str) -> tuple[str, datetime.datetime, int] | None:
    try:
        direction, rest = cursor[0], cursor[1:]
        moment, pk = rest.split("~")
        value = datetime.datetime.fromisoformat(moment)
        if direction not in "<>" or value.tzinfo is None:
            return None
        return direction, value, int(pk)
    except (IndexError, ValueError):
        return None


def keyset_page(queryset: QuerySet, *, field: str, cursor: str, size: int) -> KeysetPage:
    """The page of ``queryset`` (ordered by ``-field, -pk``) that ``cursor`` names.

    ``cursor`` is ``""`` for the newest page, :data:`OLDEST` for the last one, or a
    cursor from a previous page; one it cannot read gives the newest page. One query.
    """
    parsed = _parse(cursor) if cursor not in ("", OLDEST) else None
    if cursor == OLDEST or (parsed and parsed[0] == ">"):
        # Seek towards newer rows in ascending order, then show them newest first.
        rows = queryset.order_by(field, "pk")
        if parsed:
            _direction, value, pk = parsed
            rows = rows.filter(
                Q(**{f"{field}__gte": value}) & (Q(**{f"{field}__gt": value}) | Q(pk__gt=pk))
            )
        rows = list(rows[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        more_older = bool(parsed)
    else:
        rows = queryset.order_by(f"-{field}", "-pk")
        if parsed:
            _direction, value, pk = parsed
            rows = rows.filter(
                Q(**{f"{field}__lte": value}) & (Q(**{f"{field}__lt": value}) | Q(pk__lt=pk))
            )
        rows = list(rows[: size + 1])
        more_older = len(rows) > size
        rows = rows[:size]
        more_newer = bool(parsed)
    return KeysetPage(
        object_list=rows,
        newer=_cursor(">", rows[0], field) if rows and more_newer else None,
        older=_cursor("<", rows[-1], field) if rows and more_older else None,
    )


def bounded_count(queryset: QuerySet, limit: int) -> int:
    """How many rows ``queryset`` has, counting no further than ``limit + 1``."""
    return queryset.order_by().select_related(None).values("pk")[: limit + 1].count()
