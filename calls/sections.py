"""The calls' sections of the prisoner page (see ``prisoners.panels``)."""

from django.template.loader import render_to_string
from django.utils import timezone

from calls.reports import prisoner_frequency
from calls.selectors import recent_calls, suspensions_for


def recent_calls_section(request, prisoner):
    """The frequency figures of the supervisors' report for this prisoner, the
    latest calls, the last connected one and any make-up owed. Two queries."""
    return render_to_string(
        "calls/_recent_calls.html",
        {
            "prisoner": prisoner,
            "figures": prisoner_frequency(prisoner=prisoner, now=timezone.now()),
            "recent_calls": list(recent_calls(prisoner=prisoner)),
        },
        request=request,
    )


def suspensions_section(request, prisoner):
    """The prisoner's call suspensions. One query."""
    return render_to_string(
        "calls/_suspensions.html",
        {"prisoner": prisoner, "suspensions": list(suspensions_for(prisoner))},
        request=request,
    )
