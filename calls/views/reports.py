"""Supervisor review: flagged calls, contacts awaiting approval, monitor workload and
weekly trends, for supervisors and administrators, over the sites they serve.

Figures come from ``calls.reports`` (one aggregate query each); changes go through
``calls.services.amend_call`` and ``prisoners.services``. Objects are fetched
through the ``get_*_for_user`` selectors, so another site's answer 404.
"""

import csv
import datetime
import math

import phonenumbers
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST

from calls import reports, rules, selectors, services
from calls.forms.reports import FrequencyFilterForm, MonthForm, ResolveFlagForm
from calls.services import CallError
from camp import audit
from camp.pagination import keyset_page
from camp.roles import SUPERVISORS, role_required
from camp.routers import reads_from_replica, streamed_from_replica
from prisoners import services as registry
from prisoners.forms import RevokeContactForm
from prisoners.models import Prisoner
from prisoners.selectors import get_contact_for_user, get_prisoner_for_user

FLAGGED_PAGE_SIZE = 25
CONTACTS_PAGE_SIZE = 50
WITHOUT_NEWS_PAGE_SIZE = 25
FREQUENCY_PAGE_SIZE = 25
GENEVA_PAGE_SIZE = 50
WORKLOAD_WEEKS = 12
TREND_WEEKS = 26


# --- Identity, as the registry shows it -------------------------------------------------


def _prisoner_name(user, prisoner: Prisoner) -> str:
    return prisoner.name_shown(reveal=prisoner.is_revealed_to(user))


def _phone(number: str) -> str:
    """An E.164 number grouped for reading aloud, as the registry shows it."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _today(request) -> datetime.date:
    """Today at the staff member's (first) site: the weeks of the reports end with its week."""
    return request.site.today() if request.site else timezone.localdate()


# --- Dashboard ------------------------------------------------------------------------


@require_GET
@role_required(*SUPERVISORS)
def index(request):
    """The supervisor's start page: the counts of each queue, each linking to its list,
    and the other reports. Eight queries of its own, the dashboard's."""
    sites = request.sites
    return render(
        request,
        "reports/index.html",
        {
            "counts": reports.dashboard(
                user=request.user, sites=sites, now=timezone.now(), today=_today(request)
            ),
        },
    )


# --- Flagged calls --------------------------------------------------------------------


@require_GET
@role_required(*SUPERVISORS)
def flagged_list(request):
    """Flagged entries of the user's sites, newest first, a keyset page at a time.

    One query of its own (the page), whatever the number of entries.
    """
    sites = request.sites
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
            timezone.localtime(call.started_at, call.site.zone), "DATETIME_FORMAT"
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

    Two queries of its own (the count, the page).
    """
    contacts = reports.pending_contacts(sites=request.sites)
    page = Paginator(contacts, CONTACTS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for contact in page.object_list:
        reveal = contact.prisoner.is_revealed_to(request.user)
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
@reads_from_replica
def workload(request):
    """Entries monitored per staff member per week: one query (the grid)."""
    sites = request.sites
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

# Line styles that stay apart when printed in black and white, each dark enough to
# read against white.
SERIES_STYLES = [
    ("#0d6efd", ""),
    ("#198754", "6 3"),
    ("#6f42c1", "2 3"),
    ("#dc3545", "8 3 2 3"),
    ("#b35c00", "12 4"),
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
    the average of a week without a connected call) breaks the line. The last week
    is the current one, still running: the segment to it (``running``) and its dot
    are drawn faint, so that a week begun is not read as a fall. Lays out the few
    aggregated values the report returns; reads nothing.
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

    last = len(weeks) - 1

    def dot(i, value):
        week = formats.date_format(weeks[i])
        if i == last:
            text = _("%(week)s, so far: %(value)s") % {"week": week, "value": _number(value)}
        else:
            text = f"{week}: {_number(value)}"
        return {"x": x(i), "y": y(value), "text": text, "running": i == last}

    drawn = []
    for (label, values), (colour, dash) in zip(series, SERIES_STYLES, strict=False):
        runs = [[]]
        for i, value in enumerate(values[:last]):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i)},{y(value)}")
        ends = values[last - 1 :] if last else []
        drawn.append(
            {
                "label": label,
                "colour": colour,
                "dash": dash,
                "lines": [" ".join(run) for run in runs if run],
                "running": (
                    f"{x(last - 1)},{y(ends[0])} {x(last)},{y(ends[1])}"
                    if len(ends) == 2 and None not in ends
                    else ""
                ),
                "dots": [dot(i, v) for i, v in enumerate(values) if v is not None],
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
            {"x": x(i), "text": formats.date_format(week, "MONTH_DAY_FORMAT")}
            for i, week in enumerate(weeks)
            if (len(weeks) - 1 - i) % 4 == 0
        ],
        "label_y": CHART_HEIGHT - 8,
        "series": drawn,
    }


@require_GET
@role_required(*SUPERVISORS)
@reads_from_replica
def trends(request):
    """Calls, slots, letters and cards per week over half a year, as charts and a
    table of the same figures. One query (the figures)."""
    sites = request.sites
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
        line_chart(
            key="chart-mail",
            title=_("Letters and cards per week, sent and received"),
            description=table_note,
            weeks=dates,
            series=[
                (_("Letters sent"), [week.letters_sent for week in weeks]),
                (_("Letters received"), [week.letters_received for week in weeks]),
                (_("Cards sent"), [week.cards_sent for week in weeks]),
                (_("Cards received"), [week.cards_received for week in weeks]),
            ],
        ),
    ]
    return render(
        request,
        "reports/trends.html",
        {"sites": sites, "weeks": weeks, "charts": charts},
    )


# --- Longest without news -------------------------------------------------------------


def _without_news_url(page: str) -> str:
    url = reverse("reports:without-news")
    return f"{url}?{urlencode({'page': page})}" if page.isdigit() else url


@require_GET
@role_required(*SUPERVISORS)
def without_news(request):
    """Interned prisoners of the user's sites, make-ups owed first, then the longest
    without news; whether each may call today, and if not which rule and until when.

    Two queries of its own (the count, the page), then for each site on the page its
    policy in force and ``calls.rules.refusals_of`` its prisoners (two queries at most),
    whatever the camp's size.
    """
    now = timezone.now()
    queue = reports.without_news_queue(sites=request.sites, now=now)
    page = Paginator(queue, WITHOUT_NEWS_PAGE_SIZE).get_page(request.GET.get("page"))
    prisoners = list(page.object_list)
    refusals = {}
    for site in {prisoner.site for prisoner in prisoners}:
        today = site.today()
        refusals |= rules.refusals_of(
            [prisoner for prisoner in prisoners if prisoner.site_id == site.pk],
            day=today,
            site=site,
            terms=rules.policy_terms(site, today),
        )
    rows = [
        {
            "prisoner": prisoner,
            "prisoner_name": _prisoner_name(request.user, prisoner),
            "refusals": refusals[prisoner.pk],
        }
        for prisoner in prisoners
    ]
    return render(
        request,
        "reports/without_news.html",
        {"page_obj": page, "rows": rows, "query_without_page": ""},
    )


@require_POST
@role_required(*SUPERVISORS)
def without_news_book(request, pk):
    """Book the prisoner into the next free slot the rules allow, in one click
    (``services.book_next_free_slot``); refusals come back as messages."""
    prisoner = get_prisoner_for_user(user=request.user, pk=pk)
    described = {"prisoner": _prisoner_name(request.user, prisoner), "isn": prisoner.isn}
    try:
        booking = services.book_next_free_slot(prisoner=prisoner, actor=request.user)
    except CallError as error:
        messages.error(
            request,
            _("%(prisoner)s (%(isn)s) is not booked: %(error)s")
            % {**described, "error": " ".join(error.messages)},
        )
    else:
        messages.success(
            request,
            _("%(prisoner)s (%(isn)s) is booked on %(line)s at %(time)s.")
            % {
                **described,
                "line": booking.slot.line.name,
                "time": formats.date_format(
                    timezone.localtime(booking.starts_at, prisoner.site.zone), "DATETIME_FORMAT"
                ),
            },
        )
    return redirect(_without_news_url(request.POST.get("page", "")))


# --- Call frequency -------------------------------------------------------------------


def _frequency_line(user, row: reports.FrequencyRow, zones: dict, words: dict) -> dict:
    """A row of the report as the page shows it: a flat dict of display values, the
    nine figures already in their cells, so that the template renders each row with a
    few lookups (a page has 450 cells). ``words``: the status labels and the decimal
    separator of the language, looked up once per page."""
    prisoner = row.prisoner
    last = row.last_connected_at
    separator = words["decimal_separator"]
    return {
        "url": reverse("prisoners:prisoner-detail", args=[prisoner.pk]),
        "name": _prisoner_name(user, prisoner),
        "isn": prisoner.isn,
        "site": row.site_name,
        "housing_unit": prisoner.housing_unit,
        "status": words["statuses"][prisoner.status],
        "power": prisoner.power_depends_on,
        # Numbers from the report's SQL: nothing to escape. Counts are whole and
        # minutes have one decimal, so only the decimal separator is the language's.
        "figure_cells": mark_safe(
            "".join(
                f'<td class="text-end">{str(figure).replace(".", separator)}</td>'
                for figure in row.call_figures
            )
        ),
        # Formatted here, in the time zone of the prisoner's site: the date filter
        # would show it in the zone of the user's own site.
        "last_connected": (
            formats.date_format(timezone.localtime(last, zones[row.site_name]), "DATETIME_FORMAT")
            if last
            else "—"
        ),
        "days_since": row.days_since_connected,
        "letters_30": row.letters_30,
        "cards_30": row.cards_30,
    }


def _frequency_form(request, sites) -> FrequencyFilterForm:
    """The filter form, its choices from the user's prisoners. One query."""
    pairs = (
        Prisoner.objects.filter(site__in=sites)
        .order_by()
        .values_list("housing_unit", "power_depends_on")
        .distinct()
    )
    units, powers = set(), set()
    for unit, power in pairs:
        units.add(unit)
        powers.add(power)
    return FrequencyFilterForm(
        request.GET,
        sites=sites,
        units=sorted(unit for unit in units if unit),
        powers=sorted(power for power in powers if power),
    )


def _sort_links(request, filters: reports.FrequencyFilter) -> dict:
    """For each sortable column, the query string that sorts by it: ascending, or
    descending when it is already the ascending sort."""
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    links = {}
    for name in reports.FREQUENCY_SORTS:
        query["sort"] = f"-{name}" if filters.sort == name and not filters.descending else name
        links[name] = query.urlencode()
    return links


def _frequency_columns(links: dict, filters: reports.FrequencyFilter, *, show_site: bool):
    """The table's headings: key, label, whether it holds numbers, its sort link and
    its current sort ("ascending", "descending" or "")."""
    columns = [
        ("isn", _("Prisoner"), False),
        ("site", _("Site"), False),
        ("housing_unit", _("Housing unit"), False),
        ("status", _("Status"), False),
        ("power", _("Nationality"), False),
        ("connected_7", _("Connected, 7 days"), True),
        ("attempts_7", _("Attempts, 7 days"), True),
        ("minutes_7", _("Minutes, 7 days"), True),
        ("connected_30", _("Connected, 30 days"), True),
        ("attempts_30", _("Attempts, 30 days"), True),
        ("minutes_30", _("Minutes, 30 days"), True),
        ("connected_90", _("Connected, 90 days"), True),
        ("attempts_90", _("Attempts, 90 days"), True),
        ("minutes_90", _("Minutes, 90 days"), True),
        ("last_connected", _("Last connected call"), False),
        ("days_since", _("Days since"), True),
        ("letters_30", _("Letters, 30 days"), True),
        ("cards_30", _("Cards, 30 days"), True),
    ]
    current = "descending" if filters.descending else "ascending"
    return [
        {
            "key": key,
            "label": label,
            "numeric": numeric,
            "link": links[key],
            "sorted": current if filters.sort == key else "",
        }
        for key, label, numeric in columns
        if show_site or key != "site"
    ]


# Characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """A cell as text a spreadsheet shows as written: a leading formula character
    gets an apostrophe before it. Numbers are left as numbers."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose ``write`` returns the line, for ``csv.writer``."""

    def write(self, value):
        return value


def _frequency_csv(request, sites, filters: reports.FrequencyFilter) -> StreamingHttpResponse:
    """Every row of the report as CSV, UTF-8 with a byte-order mark (spreadsheets then
    read it as UTF-8), streamed from a server-side cursor. The download is audited at
    each of the sites it covers, with its filters."""
    now = timezone.now()
    for site in sites:
        audit.record(
            actor=request.user,
            action="calls.report.frequency_exported",
            target=site,
            site=site,
            data={"filters": request.GET.dict()},
        )
    statuses = dict(Prisoner.Status.choices)
    header = [
        _("ISN"),
        pgettext("of a person", "Name"),
        _("Site"),
        _("Housing unit"),
        _("Status"),
        _("Nationality"),
        _("Connected, 7 days"),
        _("Attempts, 7 days"),
        _("Minutes, 7 days"),
        _("Connected, 30 days"),
        _("Attempts, 30 days"),
        _("Minutes, 30 days"),
        _("Connected, 90 days"),
        _("Attempts, 90 days"),
        _("Minutes, 90 days"),
        _("Last connected call"),
        _("Days since"),
        _("Letters, 30 days"),
        _("Cards, 30 days"),
    ]
    user = request.user
    zones = {site.name: site.zone for site in sites}

    def lines():
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(header)
        for row in reports.call_frequency_rows(sites=sites, filters=filters, now=now):
            last = row.last_connected_at
            yield writer.writerow(
                [
                    neutralise(value)
                    for value in (
                        row.prisoner.isn,
                        _prisoner_name(user, row.prisoner),
                        row.site_name,
                        row.prisoner.housing_unit,
                        statuses.get(row.prisoner.status, row.prisoner.status),
                        row.prisoner.power_depends_on,
                        *row.call_figures,
                        (
                            f"{timezone.localtime(last, zones[row.site_name]):%Y-%m-%d %H:%M}"
                            if last
                            else ""
                        ),
                        row.days_since_connected,
                        row.letters_30,
                        row.cards_30,
                    )
                ]
            )

    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in streamed_from_replica(lines())),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="call-frequency.csv"'
    return response


@require_GET
@role_required(*SUPERVISORS)
@reads_from_replica
def frequency(request):
    """Calls, minutes and mail per prisoner over 7, 30 and 90 days, filtered, sorted
    and paginated; ``?format=csv`` downloads every row.

    Three queries of its own for a page (the filter choices, the count, the page); the
    CSV streams one.
    """
    sites = request.sites
    form = _frequency_form(request, sites)
    filters = form.filters()
    if request.GET.get("format") == "csv":
        return _frequency_csv(request, sites, filters)
    rows = reports.call_frequency(sites=sites, filters=filters, now=timezone.now())
    page = Paginator(rows, FREQUENCY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    csv_query = query.copy()
    csv_query["format"] = "csv"
    zones = {site.name: site.zone for site in sites}
    words = {
        "statuses": dict(Prisoner.Status.choices),
        "decimal_separator": formats.get_format("DECIMAL_SEPARATOR"),
    }
    sort_links = _sort_links(request, filters)
    return render(
        request,
        "reports/frequency.html",
        {
            "form": form,
            "page_obj": page,
            "rows": [_frequency_line(request.user, row, zones, words) for row in page.object_list],
            "filters": filters,
            "sort_links": sort_links,
            "columns": _frequency_columns(sort_links, filters, show_site=len(sites) > 1),
            "query_without_page": f"{query.urlencode()}&" if query else "",
            "csv_query": csv_query.urlencode(),
            "show_site": len(sites) > 1,
        },
    )


# --- Geneva minimum -------------------------------------------------------------------


def _geneva_page(request, queryset: QuerySet, name: str):
    return Paginator(queryset, GENEVA_PAGE_SIZE).get_page(request.GET.get(name))


@require_GET
@role_required(*SUPERVISORS)
@reads_from_replica
def geneva(request):
    """Art. 71: interned prisoners who sent fewer letters or cards in a calendar month
    (``?month=YYYY-MM``, last month by default) than their site's policy asks, and
    those without news for the policy's days. Each list paginated on its own.

    Four queries of its own (a count and a page for each list).
    """
    sites = request.sites
    form = MonthForm(request.GET)
    month = form.cleaned_data["month"] if form.is_valid() else None
    month = month or reports.previous_month(_today(request))
    below = _geneva_page(request, reports.below_geneva_minimum(sites=sites, month=month), "page")
    silent = _geneva_page(
        request, reports.no_news_for_too_long(sites=sites, now=timezone.now()), "news_page"
    )
    return render(
        request,
        "reports/geneva.html",
        {
            "form": form,
            "month": month,
            "below": below,
            "below_rows": [
                {"prisoner": prisoner, "prisoner_name": _prisoner_name(request.user, prisoner)}
                for prisoner in below.object_list
            ],
            "silent": silent,
            "silent_rows": [
                {"prisoner": prisoner, "prisoner_name": _prisoner_name(request.user, prisoner)}
                for prisoner in silent.object_list
            ],
            "month_query": urlencode({"month": f"{month:%Y-%m}"}),
            "show_site": len(sites) > 1,
        },
    )
