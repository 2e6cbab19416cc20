"""Supervisor review: flagged calls, contacts awaiting approval, monitor workload and
weekly trends, for supervisors and administrators, over the sites they serve.

Figures come from ``calls.reports`` (one aggregate query each); changes go through
``calls.services.amend_call`` and ``prisoners.services``. Objects are fetched
through the ``get_*_for_user`` selectors, so another site's answer 404.
"""

import datetime
import math

import phonenumbers
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from calls import reports, selectors, services
from calls.forms.reports import ResolveFlagForm
from calls.services import CallError
from camp.pagination import keyset_page
from camp.roles import SUPERVISORS, is_supervisor, role_required
from prisoners import services as registry
from prisoners.forms import RevokeContactForm
from prisoners.models import Prisoner
from prisoners.selectors import get_contact_for_user

FLAGGED_PAGE_SIZE = 25
CONTACTS_PAGE_SIZE = 50
WORKLOAD_WEEKS = 12
TREND_WEEKS = 26


# --- Identity, as the registry shows it -------------------------------------------------


def _reveals(user, prisoner: Prisoner) -> bool:
    """Whether ``user`` may see the whole identity: as ``prisoners.views._reveals``."""
    return not prisoner.is_withheld or is_supervisor(user)


def _prisoner_name(user, prisoner: Prisoner) -> str:
    if _reveals(user, prisoner):
        return prisoner.full_name or prisoner.display_name
    return prisoner.display_name


def _phone(number: str) -> str:
    """An E.164 number grouped for reading aloud, as the registry shows it."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _sites(request) -> list:
    return list(request.user.sites.all())


def _today(request) -> datetime.date:
    """Today at the staff member's (first) site: the weeks of the reports end with its week."""
    return request.site.today() if request.site else timezone.localdate()


# --- Landing page ---------------------------------------------------------------------


@require_GET
@role_required(*SUPERVISORS)
def index(request):
    return render(request, "reports/index.html")


# --- Flagged calls --------------------------------------------------------------------


@require_GET
@role_required(*SUPERVISORS)
def flagged_list(request):
    """Flagged entries of the user's sites, newest first, a keyset page at a time.

    Two queries of its own (the sites, the page), whatever the number of entries.
    """
    sites = _sites(request)
    cursor = request.GET.get("page", "")
    page = keyset_page(
        reports.flagged_calls(sites=sites),
        field="started_at",
        cursor=cursor,
        size=FLAGGED_PAGE_SIZE,
    )
    return render(
        request,
        "reports/flagged.html",
        {
            "page": page,
            "cursor": cursor,
            "query_without_page": "",
            "show_site": len(sites) > 1,
            "rows": [
                {
                    "call": call,
                    "prisoner_name": _prisoner_name(request.user, call.prisoner),
                    "form": ResolveFlagForm(prefix=f"call-{call.pk}"),
                }
                for call in page.object_list
            ],
        },
    )


def _flagged_url(cursor: str) -> str:
    url = reverse("reports:flagged")
    return f"{url}?{urlencode({'page': cursor})}" if cursor else url


@require_POST
@role_required(*SUPERVISORS)
def flagged_resolve(request, pk):
    """Clear the review flag with the supervisor's note, as an amendment of the entry;
    the reason for review stays on the entry."""
    call = selectors.get_call_for_user(user=request.user, pk=pk)
    back = _flagged_url(request.POST.get("page", ""))
    form = ResolveFlagForm(request.POST, prefix=f"call-{call.pk}")
    described = {
        "prisoner": _prisoner_name(request.user, call.prisoner),
        "isn": call.prisoner.isn,
        "date": formats.date_format(
            timezone.localtime(call.started_at, call.site.zone), "Y-m-d H:i"
        ),
    }
    if not form.is_valid():
        messages.error(
            request,
            _("The flag on the call of %(prisoner)s (%(isn)s) on %(date)s stays: %(error)s")
            % {**described, "error": " ".join(form.errors["note"])},
        )
        return redirect(back)
    try:
        services.amend_call(
            call=call,
            changes={"flagged": False},
            reason=form.cleaned_data["note"],
            actor=request.user,
        )
    except CallError as error:
        messages.error(
            request,
            _("The flag on the call of %(prisoner)s (%(isn)s) on %(date)s stays: %(error)s")
            % {**described, "error": " ".join(error.messages)},
        )
    else:
        messages.success(
            request,
            _(
                "The call of %(prisoner)s (%(isn)s) on %(date)s is reviewed; "
                "your note is kept as an amendment."
            )
            % described,
        )
    return redirect(back)


# --- Contacts awaiting approval -------------------------------------------------------


@require_GET
@role_required(*SUPERVISORS)
def contact_list(request):
    """Pending contacts of the user's sites, longest waiting first, fifty to a page.

    Three queries of its own (the sites, the count, the page).
    """
    contacts = reports.pending_contacts(sites=_sites(request))
    page = Paginator(contacts, CONTACTS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for contact in page.object_list:
        reveal = _reveals(request.user, contact.prisoner)
        rows.append(
            {
                "contact": contact,
                "prisoner_name": _prisoner_name(request.user, contact.prisoner),
                # A contact's name often carries the family name the identity withholds.
                "name": contact.name if reveal else "",
                "phone": _phone(contact.phone_number),
                "revoke_form": RevokeContactForm(prefix=f"contact-{contact.pk}"),
            }
        )
    return render(
        request,
        "reports/contacts.html",
        {"page_obj": page, "rows": rows, "query_without_page": ""},
    )


def _contacts_url(page: str) -> str:
    url = reverse("reports:contacts")
    return f"{url}?{urlencode({'page': page})}" if page.isdigit() else url


@require_POST
@role_required(*SUPERVISORS)
def contact_approve(request, pk):
    contact = get_contact_for_user(user=request.user, pk=pk)
    try:
        registry.approve_contact(contact=contact, actor=request.user)
    except registry.RegistryError as error:
        messages.error(
            request,
            _("The contact %(number)s of %(isn)s is not approved: %(error)s")
            % {
                "number": _phone(contact.phone_number),
                "isn": contact.prisoner.isn,
                "error": " ".join(error.messages),
            },
        )
    else:
        messages.success(
            request,
            _("The contact %(number)s of %(isn)s is approved.")
            % {"number": _phone(contact.phone_number), "isn": contact.prisoner.isn},
        )
    return redirect(_contacts_url(request.POST.get("page", "")))


@require_POST
@role_required(*SUPERVISORS)
def contact_revoke(request, pk):
    contact = get_contact_for_user(user=request.user, pk=pk)
    form = RevokeContactForm(request.POST, prefix=f"contact-{contact.pk}")
    described = {"number": _phone(contact.phone_number), "isn": contact.prisoner.isn}
    if not form.is_valid():
        messages.error(
            request,
            _("The contact %(number)s of %(isn)s is not revoked: %(error)s")
            % {**described, "error": " ".join(form.errors["reason"])},
        )
        return redirect(_contacts_url(request.POST.get("page", "")))
    try:
        registry.revoke_contact(
            contact=contact, reason=form.cleaned_data["reason"], actor=request.user
        )
    except registry.RegistryError as error:
        messages.error(
            request,
            _("The contact %(number)s of %(isn)s is not revoked: %(error)s")
            % {**described, "error": " ".join(error.messages)},
        )
    else:
        messages.success(request, _("The contact %(number)s of %(isn)s is revoked.") % described)
    return redirect(_contacts_url(request.POST.get("page", "")))


# --- Monitor workload -----------------------------------------------------------------


@require_GET
@role_required(*SUPERVISORS)
def workload(request):
    """Entries monitored per staff member per week: two queries (the sites, the grid)."""
    sites = _sites(request)
    return render(
        request,
        "reports/workload.html",
        {
            "sites": sites,
            "workload": reports.monitor_workload(
                sites=sites, today=_today(request), weeks=WORKLOAD_WEEKS
            ),
        },
    )


# --- Trends ---------------------------------------------------------------------------

# Line styles that stay apart when printed in black and white.
SERIES_STYLES = [
    ("#0d6efd", ""),
    ("#198754", "6 3"),
    ("#6f42c1", "2 3"),
    ("#dc3545", "8 3 2 3"),
    ("#fd7e14", "1 5"),
]
CHART_WIDTH, CHART_HEIGHT = 720, 220
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 12, 12, 28


def _grid_step(largest: float) -> int:
    """The step between the chart's four grid lines: the smallest whole number of
    1, 2, 2.5, 3, 5 × 10ⁿ that reaches ``largest``, so the lines read as whole numbers."""
    wanted = max(largest / 4, 1)
    magnitude = 10 ** math.floor(math.log10(wanted))
    return next(
        int(step * magnitude)
        for step in (1, 2, 2.5, 3, 5, 10)
        if step * magnitude >= wanted and float(step * magnitude).is_integer()
    )


def _number(value: float) -> str:
    return formats.number_format(value, decimal_pos=0 if float(value).is_integer() else 1)


def line_chart(
    *, key: str, title: str, description: str, weeks: list[datetime.date], series: list
) -> dict:
    """Geometry of an SVG line chart, drawn by ``reports/_chart.html``.

    ``series`` is ``[(label, values)]``, one value per week; None (no figure, as
    the average of a week without a connected call) breaks the line. Lays out the
    few aggregated values the report returns; reads nothing.
    """
    width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    grid_step = _grid_step(max((v for _label, values in series for v in values if v), default=0))
    top = 4 * grid_step
    step = width / max(len(weeks), 1)

    def x(index):
        return round(PLOT_LEFT + step * index + step / 2, 1)

    def y(value):
        return round(PLOT_TOP + height - (value or 0) / top * height, 1)

    drawn = []
    for (label, values), (colour, dash) in zip(series, SERIES_STYLES, strict=False):
        runs = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i)},{y(value)}")
        drawn.append(
            {
                "label": label,
                "colour": colour,
                "dash": dash,
                "lines": [" ".join(run) for run in runs if run],
                "dots": [
                    {"x": x(i), "y": y(v), "text": f"{weeks[i]:%Y-%m-%d}: {_number(v)}"}
                    for i, v in enumerate(values)
                    if v is not None
                ],
            }
        )
    return {
        "id": key,
        "title": title,
        "description": description,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "plot": {"left": PLOT_LEFT, "right": CHART_WIDTH - PLOT_RIGHT, "top": PLOT_TOP},
        "baseline": PLOT_TOP + height,
        "grid": [{"y": y(grid_step * n), "label": _number(grid_step * n)} for n in range(5)],
        # Every fourth week is labelled, counted back from the latest.
        "labels": [
            {"x": x(i), "text": f"{week:%m-%d}"}
            for i, week in enumerate(weeks)
            if (len(weeks) - 1 - i) % 4 == 0
        ],
        "label_y": CHART_HEIGHT - 8,
        "series": drawn,
    }


@require_GET
@role_required(*SUPERVISORS)
def trends(request):
    """Calls and slots per week over half a year, as charts and a table of the same
    figures. Two queries (the sites, the figures)."""
    sites = _sites(request)
    weeks = reports.weekly_trends(sites=sites, today=_today(request), weeks=TREND_WEEKS)
    dates = [week.week for week in weeks]
    table_note = _("The figures are in the table “Figures by week” below.")
    charts = [
        line_chart(
            key="chart-calls",
            title=_("Call attempts and connected calls per week"),
            description=table_note,
            weeks=dates,
            series=[
                (_("Attempts"), [week.attempts for week in weeks]),
                (_("Connected"), [week.connected for week in weeks]),
            ],
        ),
        line_chart(
            key="chart-slots",
            title=_("Slots per week"),
            description=table_note,
            weeks=dates,
            series=[
                (_("Offered"), [week.slots_offered for week in weeks]),
                (_("Booked"), [week.slots_booked for week in weeks]),
                (_("Used"), [week.slots_used for week in weeks]),
                (_("No-show"), [week.slots_no_show for week in weeks]),
                (_("Lost to air-raid alerts"), [week.slots_lost_to_alerts for week in weeks]),
            ],
        ),
        line_chart(
            key="chart-minutes",
            title=_("Average minutes per connected call"),
            description=table_note,
            weeks=dates,
            series=[(_("Average minutes"), [week.average_minutes for week in weeks])],
        ),
    ]
    return render(
        request,
        "reports/trends.html",
        {"sites": sites, "weeks": weeks, "charts": charts},
    )
