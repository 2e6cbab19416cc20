"""Durations as people read them, the same on every page and document: "13 min 18 s".

``format_duration`` is the one function; templates use it as ``{{ call.elapsed|duration }}``
after ``{% load durations %}``. The desk's clocks (static/js/desk.js) take its words from
``duration_labels``.
"""

import datetime

from django import template
from django.utils.translation import gettext as _

register = template.Library()


def duration_labels() -> dict[str, str]:
    """The translated patterns of a duration, under and from an hour."""
    return {
        "minutes": _("%(minutes)d min %(seconds)02d s"),
        "hours": _("%(hours)d h %(minutes)02d min %(seconds)02d s"),
    }


@register.filter(name="duration")
def format_duration(delta: datetime.timedelta | None) -> str:
    """``delta`` in minutes and seconds ("13 min 18 s"), with hours from an hour on
    ("1 h 05 min 00 s"); whole seconds, never negative. Anything but a timedelta
    (an open call's missing elapsed time) gives ""."""
    if not isinstance(delta, datetime.timedelta):
        return ""
    hours, rest = divmod(max(int(delta.total_seconds()), 0), 3600)
    minutes, seconds = divmod(rest, 60)
    labels = duration_labels()
    if hours:
        return labels["hours"] % {"hours": hours, "minutes": minutes, "seconds": seconds}
    return labels["minutes"] % {"minutes": minutes, "seconds": seconds}
