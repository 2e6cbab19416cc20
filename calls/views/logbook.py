"""The logbook: the entries of the staff member's sites, their amendments, and
the transcription of past calls from the paper book."""

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from calls import selectors, services
from calls.forms.logbook import AmendCallForm, LogbookFilterForm, TranscribeCallForm
from calls.models import AMENDABLE_FIELDS, ONE_DAY, Call, Outcome
from calls.pdf import render_table_pdf
from camp import audit, chain
from camp.forms import add_service_error
from camp.pagination import bounded_count, keyset_page
from camp.roles import STAFF, is_supervisor, role_required
from camp.templatetags.durations import format_duration

PAGE_SIZE = 50
# "Show all for printing" lists a whole day (or range) on one page up to this many
# entries; the count of entries stops there too ("more than 1,000").
PRINT_LIMIT = 1000


def _entry(call: Call, *, reveal: bool) -> dict:
    return {
        "call": call,
        "prisoner_name": call.prisoner.name_shown(reveal=reveal),
    }


def _query(params, **replace) -> str:
    """``params`` as a query string with some keys replaced (None drops a key)."""
    query = params.copy()
    for key, value in replace.items():
        query.pop(key, None)
        if value is not None:
            query[key] = str(value)
    return query.urlencode()


@require_GET
@role_required(*STAFF)
def logbook(request):
    """The entries of the user's sites, newest first, with their current values."""
    sites = request.sites
    form = LogbookFilterForm(request.GET, sites=sites)
    reveal = is_supervisor(request.user)
    show_all = False
    if form.is_valid():
        filters = form.cleaned_data
        entries = selectors.logbook_entries(
            user=request.user,
            sites=sites,
            date_from=filters["from"],
            date_to=filters["to"],
            prisoner_text=filters["prisoner"],
            line=filters["line"],
            outcome=filters["outcome"],
            flagged_only=filters["flagged"],
            reveal_withheld=reveal,
        )
    else:
        filters = {}
        entries = Call.objects.none()
    count = bounded_count(entries, PRINT_LIMIT)
    if request.GET.get("all") == "1":
        if count <= PRINT_LIMIT:
            show_all = True
        else:
            messages.warning(
                request,
                _("More than %(limit)d entries: narrow the dates to print them on one page.")
                % {"limit": PRINT_LIMIT},
            )
    if show_all:
        page = keyset_page(entries, field="started_at", cursor="", size=PRINT_LIMIT)
    else:
        page = keyset_page(
            entries, field="started_at", cursor=request.GET.get("page", ""), size=PAGE_SIZE
        )
    date_from, date_to = filters.get("from"), filters.get("to")
    today = request.site.today() if request.site else timezone.localdate()
    day_links = None
    if date_from and date_from == date_to:
        day_links = {
            key: _query(request.GET, page=None, all=None, **{"from": day, "to": day})
            for key, day in (("previous", date_from - ONE_DAY), ("next", date_from + ONE_DAY))
        }
    without_page = _query(request.GET, page=None)
    return render(
        request,
        "calls/logbook.html",
        {
            "form": form,
            "sites": sites,
            "page": page,
            "count": count,
            "count_is_bounded": count > PRINT_LIMIT,
            "entries": [_entry(call, reveal=reveal) for call in page.object_list],
            "show_site": len(sites) > 1,
            "date_from": date_from,
            "date_to": date_to,
            "filter_summary": _filter_summary(filters),
            # Jumping to today drops the filters in error, or the page would stay empty.
            "today_query": _query(
                request.GET,
                page=None,
                all=None,
                **{**dict.fromkeys(form.errors), "from": today, "to": today},
            ),
            "day_links": day_links,
            "show_all": show_all,
            "all_query": _query(request.GET, page=None, all="1"),
            "print_limit": PRINT_LIMIT,
            "query_without_page": f"{without_page}&" if without_page else "",
            "printed_at": timezone.now(),
        },
    )


@require_GET
@role_required(*STAFF)
def logbook_day_pdf(request):
    """One site's calls of one day as a PDF in the paper book's columns, oldest first,
    ending with a signature line for the desk binder: ``?site=<pk>&day=YYYY-MM-DD``,
    by default the user's (first) site and its today.

    Names as the logbook page shows them to the user's role; times on the site's clock.
    The footer carries the tamper-evidence chain's head (``camp.chain.head``) for the
    binder. Another site's number answers 404. Three queries of its own (the site,
    the entries, the chain head).
    """
    site_id = request.GET.get("site", "")
    if site_id:
        # An id: ASCII digits, no more than a bigint holds (str.isdigit alone takes "²").
        if not (site_id.isascii() and site_id.isdigit() and len(site_id) <= 18):
            raise Http404
        site = request.user.sites.filter(pk=int(site_id)).first()
    else:
        site = request.site
    if site is None:
        raise Http404
    day_text = request.GET.get("day", "")
    if day_text:
        try:
            day = datetime.date.fromisoformat(day_text)
        except ValueError:
            messages.error(
                request,
                _("“%(day)s” is not a date: give the day as YYYY-MM-DD, e.g. %(today)s.")
                % {"day": day_text, "today": site.today().isoformat()},
            )
            return redirect("calls:logbook")
    else:
        day = site.today()
    reveal = is_supervisor(request.user)
    entries = selectors.logbook_entries(
        user=request.user, sites=[site], date_from=day, date_to=day, reveal_withheld=reveal
    ).order_by("started_at", "pk")
    zone = site.zone

    def rows():
        for call in entries.iterator(chunk_size=500):
            name = call.prisoner.name_shown(reveal=reveal) or "—"
            yield (
                f"{name} ({call.prisoner.isn})",
                formats.date_format(timezone.localtime(call.started_at, zone), "DATETIME_FORMAT"),
                call.locality or "—",
                _("in progress") if call.is_open else format_duration(call.elapsed),
                call.get_outcome_display() or "—",
                str(call.monitor),
            )

    response = HttpResponse(content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="logbook-{site.code}-{day:%Y-%m-%d}.pdf"'
    render_table_pdf(
        output=response,
        title=_("Communications logbook"),
        subtitle_lines=[
            _("Site: %(site)s (%(code)s)") % {"site": site.name, "code": site.code},
            _("Day: %(day)s")
            % {"day": f"{formats.date_format(day, 'l')}, {formats.date_format(day)}"},
        ],
        columns=[
            _("Prisoner"),
            _("Date"),
            _("Location called"),
            _("Time elapsed"),
            _("Outcome"),
            _("Monitor"),
        ],
        rows=rows(),
        column_widths=[3.2, 1.5, 3, 1.3, 1.8, 2],
        generated_by=request.user,
        generated_at=timezone.localtime(timezone.now(), zone),
        footer_lines=[
            _("Logbook chain head: %(head)s") % {"head": chain.head_text()},
            _("Monitor on duty: ____________  Signature: ____________  Date: ________"),
        ],
    )
    return response


def _filter_summary(filters: dict) -> list[str]:
    """The filters other than dates, in words, for the printed heading."""
    summary = []
    if filters.get("prisoner"):
        summary.append(_("prisoner “%(text)s”") % {"text": filters["prisoner"]})
    if filters.get("line"):
        summary.append(_("line %(line)s") % {"line": filters["line"]})
    if filters.get("outcome"):
        summary.append(Outcome(filters["outcome"]).label)
    if filters.get("flagged"):
        summary.append(_("flagged only"))
    return summary


def _display(name: str, value, zone) -> str:
    """A field's value as the detail page and the amendment history show it."""
    if value is None or value == "":
        return "—"
    if name in {"started_at", "ended_at"}:
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        # The server's clock to the second: 30.11.2026 14:05:09.
        local = value.astimezone(zone)
        return f"{formats.date_format(local)} {formats.time_format(local, 'H:i:s')}"
    if name == "outcome":
        return Outcome(value).label if value in Outcome.values else str(value)
    if name == "flagged":
        return _("Yes") if value else _("No")
    return str(value)


def _field_order(name: str) -> int:
    return AMENDABLE_FIELDS.index(name) if name in AMENDABLE_FIELDS else len(AMENDABLE_FIELDS)


def _label(name: str) -> str:
    return str(Call._meta.get_field(name).verbose_name).capitalize()


@require_GET
@role_required(*STAFF)
def call_detail(request, pk):
    """One entry: recorded and current values, amendments, transcription and audit history."""
    call = selectors.get_call_for_user(user=request.user, pk=pk)
    zone = call.site.zone
    # The value first recorded is the "from" of the earliest amendment that changed it.
    recorded = call.amendable_values()
    for amendment in list(call.amendments.all())[::-1]:
        recorded.update({name: change["from"] for name, change in amendment.changes.items()})
    if isinstance(recorded["started_at"], str):
        recorded["started_at"] = datetime.datetime.fromisoformat(recorded["started_at"])
    if isinstance(recorded["ended_at"], str):
        recorded["ended_at"] = datetime.datetime.fromisoformat(recorded["ended_at"])
    values = []
    for name in AMENDABLE_FIELDS:
        first = _display(name, recorded[name], zone)
        shown = _display(name, getattr(call, name), zone)
        values.append(
            {"label": _label(name), "recorded": first, "current": shown, "amended": first != shown}
        )
    recorded_elapsed = (
        format_duration(recorded["ended_at"] - recorded["started_at"]) if call.ended_at else ""
    )
    values.append(
        {
            "label": _("Time elapsed"),
            "recorded": recorded_elapsed or "—",
            "current": format_duration(call.elapsed) or "—",
            "amended": recorded_elapsed != format_duration(call.elapsed),
        }
    )
    amendments = [
        {
            "amendment": amendment,
            "changes": [
                {
                    "label": _label(name),
                    "from": _display(name, change["from"], zone),
                    "to": _display(name, change["to"], zone),
                }
                # In the order of the form: the JSON column keeps keys in its own order.
                for name, change in sorted(
                    amendment.changes.items(), key=lambda item: _field_order(item[0])
                )
            ],
        }
        for amendment in call.amendments.all()
    ]
    with timezone.override(zone):
        return render(
            request,
            "calls/call_detail.html",
            {
                "call": call,
                "prisoner_name": call.prisoner.name_shown(reveal=is_supervisor(request.user)),
                "values": values,
                "amendments": amendments,
                "audit_entries": list(audit.history_for(call)),
                "may_amend": services.may_amend(call, request.user),
            },
        )


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def call_amend(request, pk):
    """Correct a closed entry: supervisors any, the monitoring guard their own on its day."""
    call = selectors.get_call_for_user(user=request.user, pk=pk)
    if call.is_open:
        messages.error(
            request, _("This call is in progress: its entry can be amended once it has ended.")
        )
        return redirect("calls:call-detail", pk=call.pk)
    if not services.may_amend(call, request.user):
        raise PermissionDenied
    # Date-times are entered and shown on the clock of the entry's site.
    with timezone.override(call.site.zone):
        form = AmendCallForm(
            request.POST if request.method == "POST" else None, current=call.amendable_values()
        )
        if form.is_valid():
            try:
                services.amend_call(
                    call=call,
                    changes=form.changes(),
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except services.CallError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The entry was amended."))
                return redirect("calls:call-detail", pk=call.pk)
        return render(
            request,
            "calls/call_amend.html",
            {
                "call": call,
                "form": form,
                "prisoner_name": call.prisoner.name_shown(reveal=is_supervisor(request.user)),
            },
        )


@require_http_methods(["GET", "POST"])
@role_required(*STAFF)
def call_transcribe(request):
    """Enter a past call from the paper logbook; the entry records who transcribed it."""
    sites = request.sites
    form = TranscribeCallForm(
        request.POST if request.method == "POST" else None, user=request.user, sites=sites
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            call = services.transcribe_call(
                site=data["prisoner"].site,
                prisoner=data["prisoner"],
                contact=data["contact"],
                number_dialled=data["number_dialled"],
                locality=data["locality"],
                line=data["line"],
                monitor=data["monitor"],
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                outcome=data["outcome"],
                language=data["language"],
                notes=data["notes"],
                actor=request.user,
            )
        except services.CallError as error:
            add_service_error(
                form, error, fields={"ended_at": "end_time", "contact": "number_dialled"}
            )
        else:
            messages.success(request, _("The call was entered in the logbook."))
            return redirect("calls:call-detail", pk=call.pk)
    return render(request, "calls/call_transcribe.html", {"form": form})
