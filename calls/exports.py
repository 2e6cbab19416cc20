"""Records for Red Cross visits: the registry, the communications log and the visit
pack, as CSV, XLSX or PDF.

Each dataset (``DATASETS``) is its columns (a translated header and a type each) and
ONE SQL SELECT that gives every row with the entries' current values. The database
does the work a renderer must not redo:

- dates and times are those of the row's site, computed in SQL
  (``started_at AT TIME ZONE site.time_zone``) and cut to the minute (elapsed times
  to the second);
- withheld identities (``identity = 'withheld'``) come out as first name or alias
  plus ISN unless ``reveal`` is set (GCIII Art. 126: an identity may be hidden on
  screens, never from the Central Tracing Agency); every other identifying field
  (surname, patronymic, their Latin spelling, rank, service number, birth,
  parents, the person to inform, the place of capture, the number dialled and the
  free-text notes) is blank for them;
- every text column is neutralised (``neutralised``): a value a spreadsheet would run
  as a formula gets an apostrophe before it, so even the raw ``COPY`` output is safe
  and every format carries the same text.

The renderers are thin: CSV streams ``COPY (<select>) TO STDOUT`` through psycopg
(PostgreSQL sends one message per row, so rows are counted without parsing);
XLSX and PDF read the same SELECT from a server-side cursor, with real types.
Memory stays flat in all three.

The communications log puts calls and items of mail in one table (a ``UNION ALL``
with a "Record" column: "Call", or the kind of mail), so one file, in any format,
is the whole pack; columns that do not apply to a row are empty.

Every finished export is recorded (``camp.models.ExportRecord``: who, when, what,
rows and SHA-256 of the file) and audited; revealing withheld identities is audited
with its reason before the first row is read.
"""

import csv
import datetime
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calls.models import Outcome, Suspension
from calls.services import CallError
from camp import audit, chain
from camp.models import ExportRecord, Site
from camp.routers import connection_for_reads, streamed_from_replica
from camp.templatetags.durations import format_duration
from letters.models import Channel, Direction, Kind
from letters.models import Status as MailStatus
from prisoners.models import Contact, Identity, Prisoner

TEXT = "text"
INT = "int"
DATE = "date"
TIME = "time"
DATETIME = "datetime"
DURATION = "duration"

DatasetName = ExportRecord.Dataset
Format = ExportRecord.Format

ONE_DAY = datetime.timedelta(days=1)
# Time zones lie within a day of UTC: a margin that lets the index narrow the calls
# by their UTC instant before each row's local date is compared exactly.
ZONE_MARGIN = datetime.timedelta(days=1)
# Bytes gathered from COPY before a chunk goes to the client or the file.
CHUNK_BYTES = 64 * 1024
# Rows fetched at a time from the server-side cursor (XLSX, PDF).
FETCH_ROWS = 2000
BOM = "\ufeff"

# A leading =, +, -, @, tab or carriage return makes a spreadsheet read a cell as a
# formula (``calls.views.reports.FORMULA_STARTS``). The backslash escapes are the
# regular expression's, read by PostgreSQL, not Python's.
FORMULA_PATTERN = r"^[-=+@\t\r]"


def neutralised(expression: str) -> str:
    """SQL for ``expression`` (text) with an apostrophe before a formula character."""
    return (
        f"CASE WHEN {expression} ~ '{FORMULA_PATTERN}' "
        f"THEN '''' || {expression} ELSE {expression} END"
    )


@dataclass(frozen=True)
class Column:
    key: str  # the SELECT's output name
    label: str  # lazily translated header
    type: str = TEXT
    # Shown in the PDF; wide free-text and detail columns stay in CSV and XLSX only.
    in_pdf: bool = True
    # The widest value of a short text column (a code, an ISN), for its PDF width.
    pdf_sample: str = ""


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    columns: tuple[Column, ...]
    # One SELECT with named parameters (``_params``); its output names are the
    # columns' keys, and may hold more (sort keys) that are not exported.
    sql: str
    order_by: str
    needs_period: bool = True


# --- SQL pieces -----------------------------------------------------------------------


def _label(kind: str, expression: str) -> str:
    """The translated label of a choice value, from the ``labels`` CTE (``_labels``)."""
    return f"(labels.j -> '{kind}' ->> {expression})"


def _yes_no(condition: str) -> str:
    return f"CASE WHEN {condition} THEN labels.j ->> 'yes' ELSE labels.j ->> 'no' END"


LABELS_CTE = "labels AS (SELECT %(labels)s::jsonb AS j)"

# The prisoner ``p`` is withheld and the export does not reveal him.
MASKED = "(p.identity = 'withheld' AND NOT %(reveal)s)"


def _unless_masked(expression: str, masked: str = "''") -> str:
    return f"CASE WHEN {MASKED} THEN {masked} ELSE {expression} END"


# As ``Prisoner.display_name`` when masked (alias, else first name), the full name
# otherwise (``Prisoner.name_shown``).
PRISONER_NAME = _unless_masked(
    "COALESCE(NULLIF(concat_ws(' ', NULLIF(p.surname, ''), NULLIF(p.first_names, ''), "
    "NULLIF(p.patronymic, '')), ''), p.alias)",
    masked="COALESCE(NULLIF(p.alias, ''), p.first_names)",
)
PRISONER_NAME_LATIN = _unless_masked(
    "COALESCE(NULLIF(concat_ws(' ', NULLIF(p.surname_latin, ''), NULLIF(p.first_names_latin, ''), "
    "NULLIF(p.patronymic_latin, '')), ''), p.alias)",
    masked="COALESCE(NULLIF(p.alias, ''), p.first_names_latin)",
)

PRISONER_FILTER = """
    p.site_id = ANY(%(sites)s)
    AND (cardinality(%(statuses)s::text[]) = 0 OR p.status = ANY(%(statuses)s::text[]))"""


def _local(instant: str, zone: str = "s.time_zone") -> str:
    """The wall-clock timestamp of ``instant`` at the site, to the minute."""
    return f"date_trunc('minute', {instant} AT TIME ZONE {zone})"


def _in_period(instant: str, zone: str = "s.time_zone") -> str:
    """``instant`` falls on a day of the period on the site's calendar; the UTC bounds
    let the index narrow the rows first."""
    return f"""{instant} >= %(from_utc)s AND {instant} < %(until_utc)s
    AND ({instant} AT TIME ZONE {zone}) >= %(date_from)s::timestamp
    AND ({instant} AT TIME ZONE {zone}) < %(date_end)s::timestamp"""


# --- Registry -------------------------------------------------------------------------

# A masked identity shows the alias, or the first name when there is none.
FIRST_NAME_UNLESS_ALIAS = "CASE WHEN p.alias = '' THEN p.first_names ELSE '' END"
FIRST_NAME_LATIN_UNLESS_ALIAS = "CASE WHEN p.alias = '' THEN p.first_names_latin ELSE '' END"

REGISTRY = Dataset(
    name=DatasetName.REGISTRY,
    label=gettext_lazy("Registry"),
    needs_period=False,
    columns=(
        Column("isn", gettext_lazy("ISN"), pdf_sample="NC01-00000"),
        Column("site", gettext_lazy("Site"), pdf_sample="NC01"),
        Column("identity", gettext_lazy("Identity"), in_pdf=False),
        Column("surname", gettext_lazy("Surname")),
        Column("first_names", gettext_lazy("First names")),
        Column("patronymic", gettext_lazy("Patronymic")),
        Column("alias", gettext_lazy("Alias"), in_pdf=False),
        Column("surname_latin", gettext_lazy("Surname (Latin)")),
        Column("first_names_latin", gettext_lazy("First names (Latin)")),
        Column("patronymic_latin", gettext_lazy("Patronymic (Latin)"), in_pdf=False),
        Column("rank", gettext_lazy("Rank")),
        Column("service_number", gettext_lazy("Service number")),
        Column("date_of_birth", gettext_lazy("Date of birth"), DATE),
        Column("place_of_birth", gettext_lazy("Place of birth"), in_pdf=False),
        Column("power", gettext_lazy("Power on which he depends"), in_pdf=False),
        Column("father", gettext_lazy("Father's first name"), in_pdf=False),
        Column("mother", gettext_lazy("Mother's maiden name"), in_pdf=False),
        Column("person_to_inform", gettext_lazy("Person to be informed"), in_pdf=False),
        Column("address", gettext_lazy("Address of the person to be informed"), in_pdf=False),
        Column("captured_on", gettext_lazy("Date of capture"), DATE),
        Column("place_of_capture", gettext_lazy("Place of capture"), in_pdf=False),
        Column("arrived_on", gettext_lazy("Arrival date"), DATE),
        Column("housing_unit", gettext_lazy("Housing unit"), in_pdf=False),
        Column("status", gettext_lazy("Status")),
        Column("status_since", gettext_lazy("Status since"), DATE),
        Column("status_history", gettext_lazy("Status history"), in_pdf=False),
    ),
    sql=f"""
WITH {LABELS_CTE}
SELECT p.isn,
       s.code AS site,
       {_label("identity", "p.identity")} AS identity,
       {_unless_masked("p.surname")} AS surname,
       {_unless_masked("p.first_names", FIRST_NAME_UNLESS_ALIAS)} AS first_names,
       {_unless_masked("p.patronymic")} AS patronymic,
       p.alias,
       {_unless_masked("p.surname_latin")} AS surname_latin,
       {_unless_masked("p.first_names_latin", FIRST_NAME_LATIN_UNLESS_ALIAS)} AS first_names_latin,
       {_unless_masked("p.patronymic_latin")} AS patronymic_latin,
       {_unless_masked("p.rank")} AS rank,
       {_unless_masked("p.service_number")} AS service_number,
       {_unless_masked("p.date_of_birth", "NULL::date")} AS date_of_birth,
       {_unless_masked("p.place_of_birth")} AS place_of_birth,
       p.power_depends_on AS power,
       {_unless_masked("p.father_first_name")} AS father,
       {_unless_masked("p.mother_maiden_name")} AS mother,
       {_unless_masked("p.person_to_inform")} AS person_to_inform,
       {_unless_masked("p.person_to_inform_address")} AS address,
       p.captured_on,
       {_unless_masked("p.place_of_capture")} AS place_of_capture,
       p.arrived_on,
       p.housing_unit,
       {_label("status", "p.status")} AS status,
       COALESCE(history.since, p.arrived_on) AS status_since,
       COALESCE(history.dates, '') AS status_history
FROM prisoners_prisoner AS p
JOIN camp_site AS s ON s.id = p.site_id
CROSS JOIN labels
LEFT JOIN LATERAL (
    SELECT (array_agg(change.effective_on
                      ORDER BY change.effective_on DESC, change.recorded_at DESC, change.id DESC)
           )[1] AS since,
           string_agg(to_char(change.effective_on, 'YYYY-MM-DD') || ' '
                      || {_label("status", "change.status")}, '; '
                      ORDER BY change.effective_on, change.recorded_at, change.id) AS dates
    FROM prisoners_statuschange AS change
    WHERE change.prisoner_id = p.id
) AS history ON true
WHERE {PRISONER_FILTER}
""",
    order_by="export_rows.site, export_rows.isn",
)


# --- Communications log ---------------------------------------------------------------

NO_TIME = "NULL::timestamp"

LOG = Dataset(
    name=DatasetName.LOG,
    label=gettext_lazy("Communications log"),
    columns=(
        Column("record", gettext_lazy("Record")),
        Column("site", gettext_lazy("Site"), pdf_sample="NC01"),
        Column("date", gettext_lazy("Date"), DATE),
        Column("time", gettext_lazy("Time"), TIME),
        Column("ended", gettext_lazy("Ended"), TIME, in_pdf=False),
        Column("elapsed", gettext_lazy("Elapsed"), DURATION),
        Column("isn", gettext_lazy("ISN"), pdf_sample="NC01-00000"),
        Column("prisoner", gettext_lazy("Prisoner")),
        Column("prisoner_latin", gettext_lazy("Prisoner (Latin)")),
        Column("outcome", gettext_lazy("Outcome or status")),
        Column("direction", gettext_lazy("Direction"), in_pdf=False),
        Column("relationship", gettext_lazy("Relationship")),
        Column("locality", gettext_lazy("Locality")),
        Column("number_dialled", gettext_lazy("Number dialled"), in_pdf=False),
        Column("line", gettext_lazy("Line or channel")),
        Column("monitor", gettext_lazy("Monitor")),
        Column("language", gettext_lazy("Language"), in_pdf=False),
        Column("makeup", gettext_lazy("Make-up call"), in_pdf=False),
        Column("flagged", gettext_lazy("Flagged for review"), in_pdf=False),
        Column("flag_reason", gettext_lazy("Reason for review"), in_pdf=False),
        Column("reference", gettext_lazy("Reference"), in_pdf=False),
        Column("written_on", gettext_lazy("Written"), DATE, in_pdf=False),
        Column("censored_on", gettext_lazy("Examined by the censor"), DATE, in_pdf=False),
        Column("dispatched_on", gettext_lazy("Dispatched"), DATE, in_pdf=False),
        Column("delivered_on", gettext_lazy("Delivered"), DATE, in_pdf=False),
        Column("returned_on", gettext_lazy("Returned"), DATE, in_pdf=False),
        Column("amended", gettext_lazy("Amended"), in_pdf=False),
        Column("amendments", gettext_lazy("Amendments"), INT),
        Column("notes", gettext_lazy("Notes"), in_pdf=False),
    ),
    # Calls of the period (started on one of its days at their site), then items of
    # mail handed in or arrived on one of its days; columns line up by position.
    sql=f"""
WITH {LABELS_CTE}
SELECT labels.j ->> 'call' AS record,
       s.code AS site,
       ({_local("c.started_at")})::date AS date,
       ({_local("c.started_at")})::time AS time,
       ({_local("c.ended_at")})::time AS ended,
       date_trunc('second', c.elapsed) AS elapsed,
       p.isn,
       {PRISONER_NAME} AS prisoner,
       {PRISONER_NAME_LATIN} AS prisoner_latin,
       {_label("outcome", "c.outcome")} AS outcome,
       '' AS direction,
       COALESCE({_label("relationship", "contact.relationship")}, '') AS relationship,
       c.locality,
       {_unless_masked("c.number_dialled")} AS number_dialled,
       COALESCE(line.name, '') AS line,
       COALESCE(NULLIF(btrim(monitor.first_name || ' ' || monitor.last_name), ''),
                monitor.username) AS monitor,
       c.language,
       {_yes_no("c.is_makeup")} AS makeup,
       {_yes_no("c.flagged")} AS flagged,
       {_unless_masked("c.flag_reason")} AS flag_reason,
       '' AS reference,
       NULL::date AS written_on,
       NULL::date AS censored_on,
       NULL::date AS dispatched_on,
       NULL::date AS delivered_on,
       NULL::date AS returned_on,
       {_yes_no("c.amendment_count > 0")} AS amended,
       c.amendment_count AS amendments,
       {_unless_masked("c.notes")} AS notes,
       0 AS sort_kind,
       c.started_at AS sort_at,
       c.id AS sort_id
FROM calls_call AS c
JOIN camp_site AS s ON s.id = c.site_id
JOIN prisoners_prisoner AS p ON p.id = c.prisoner_id
JOIN camp_user AS monitor ON monitor.id = c.monitor_id
LEFT JOIN prisoners_contact AS contact ON contact.id = c.contact_id
LEFT JOIN calls_line AS line ON line.id = c.line_id
CROSS JOIN labels
WHERE c.site_id = ANY(%(sites)s)
  AND {_in_period("c.started_at")}
  AND {PRISONER_FILTER}
UNION ALL
SELECT {_label("kind", "item.kind")},
       s.code,
       item.handed_in_on,
       NULL::time,
       NULL::time,
       NULL::interval,
       p.isn,
       {PRISONER_NAME},
       {PRISONER_NAME_LATIN},
       {_label("mail_status", "item.status")},
       {_label("direction", "item.direction")},
       COALESCE({_label("relationship", "contact.relationship")}, ''),
       CASE WHEN contact.id IS NULL THEN item.correspondent_locality
            ELSE concat_ws(', ', NULLIF(contact.city, ''), NULLIF(contact.region, ''),
                           NULLIF(contact.country, '')) END,
       '',
       {_label("channel", "item.channel")},
       '',
       '',
       '',
       '',
       '',
       item.reference,
       item.written_on,
       item.censored_on,
       item.dispatched_on,
       item.delivered_on,
       item.returned_on,
       {_yes_no("item.amendment_count > 0")},
       item.amendment_count,
       {_unless_masked("item.notes")},
       1,
       NULL::timestamptz,
       item.id
FROM letters_letter AS item
JOIN camp_site AS s ON s.id = item.site_id
JOIN prisoners_prisoner AS p ON p.id = item.prisoner_id
LEFT JOIN prisoners_contact AS contact ON contact.id = item.contact_id
CROSS JOIN labels
WHERE item.site_id = ANY(%(sites)s)
  AND item.handed_in_on >= %(date_from)s::date AND item.handed_in_on < %(date_end)s::date
  AND {PRISONER_FILTER}
""",
    order_by=(
        "export_rows.site, export_rows.date, export_rows.sort_kind, export_rows.sort_at, "
        "export_rows.sort_id"
    ),
)


# --- Visit pack -----------------------------------------------------------------------

PACK = Dataset(
    name=DatasetName.PACK,
    label=gettext_lazy("Visit pack"),
    columns=(
        Column("isn", gettext_lazy("ISN"), pdf_sample="NC01-00000"),
        Column("site", gettext_lazy("Site"), pdf_sample="NC01"),
        Column("prisoner", gettext_lazy("Prisoner")),
        Column("prisoner_latin", gettext_lazy("Prisoner (Latin)")),
        # In the registry's PDF; the pack's needs the room.
        Column("status", gettext_lazy("Status"), in_pdf=False),
        Column("attempted", gettext_lazy("Calls attempted"), INT),
        Column("connected", gettext_lazy("Calls connected"), INT),
        Column("minutes", gettext_lazy("Minutes connected"), INT),
        Column("last_connected", gettext_lazy("Last connected call"), DATETIME),
        Column("days_without_news", gettext_lazy("Days without news"), INT),
        Column("makeup_owed_since", gettext_lazy("Make-up call owed since"), DATETIME),
        Column("letters_sent", gettext_lazy("Letters sent"), INT),
        Column("letters_received", gettext_lazy("Letters received"), INT),
        Column("cards_sent", gettext_lazy("Cards sent"), INT),
        Column("cards_received", gettext_lazy("Cards received"), INT),
        Column("capture_card", gettext_lazy("Capture card sent"), pdf_sample="Yes"),
        Column("capture_card_on", gettext_lazy("Capture card handed in"), DATE, in_pdf=False),
        Column("suspension", gettext_lazy("Current suspension")),
    ),
    # Per prisoner: his calls started in the period (on the calendar of the call's
    # site) by one index range each (calls_call_prisoner_idx), his mail of the period
    # not recorded in error, the stored last contact, make-up debt and mail delivery
    # (rule 16: never re-folded here), and the suspension in force today at his site.
    sql=f"""
WITH {LABELS_CTE}
SELECT p.isn,
       s.code AS site,
       {PRISONER_NAME} AS prisoner,
       {PRISONER_NAME_LATIN} AS prisoner_latin,
       {_label("status", "p.status")} AS status,
       calls.attempted,
       calls.connected,
       round(extract(epoch FROM calls.connected_time) / 60)::int AS minutes,
       {_local("p.last_connected_at")} AS last_connected,
       (%(now)s::timestamptz AT TIME ZONE s.time_zone)::date - COALESCE(
           GREATEST((p.last_connected_at AT TIME ZONE s.time_zone)::date,
                    p.last_mail_delivered_on),
           p.arrived_on) AS days_without_news,
       {_local("p.makeup_owed_since")} AS makeup_owed_since,
       mail.letters_sent,
       mail.letters_received,
       mail.cards_sent,
       mail.cards_received,
       {_yes_no("capture.handed_in_on IS NOT NULL")} AS capture_card,
       capture.handed_in_on AS capture_card_on,
       COALESCE(
           {_label("suspension", "suspension.reason")} || ', ' || suspension.authority
           || ' (' || to_char(suspension.starts_on, 'YYYY-MM-DD') || ' – '
           || to_char(suspension.ends_on, 'YYYY-MM-DD') || ')',
           '') AS suspension
FROM prisoners_prisoner AS p
JOIN camp_site AS s ON s.id = p.site_id
CROSS JOIN labels
CROSS JOIN LATERAL (
    SELECT count(*) AS attempted,
           count(*) FILTER (WHERE c.outcome = 'connected') AS connected,
           COALESCE(sum(c.elapsed) FILTER (WHERE c.outcome = 'connected'), interval '0')
               AS connected_time
    FROM calls_call AS c
    JOIN camp_site AS cs ON cs.id = c.site_id
    WHERE c.prisoner_id = p.id AND {_in_period("c.started_at", "cs.time_zone")}
) AS calls
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE item.kind = 'letter' AND item.direction = 'sent')
               AS letters_sent,
           count(*) FILTER (WHERE item.kind = 'letter' AND item.direction = 'received')
               AS letters_received,
           count(*) FILTER (WHERE item.kind IN ('card', 'capture_card')
                            AND item.direction = 'sent') AS cards_sent,
           count(*) FILTER (WHERE item.kind IN ('card', 'capture_card')
                            AND item.direction = 'received') AS cards_received
    FROM letters_letter AS item
    WHERE item.prisoner_id = p.id AND NOT item.in_error
      AND item.handed_in_on >= %(date_from)s::date AND item.handed_in_on < %(date_end)s::date
) AS mail
LEFT JOIN LATERAL (
    -- GCIII Art. 70, as letters.selectors.overdue_capture_cards: since arrival.
    SELECT max(item.handed_in_on) AS handed_in_on
    FROM letters_letter AS item
    WHERE item.prisoner_id = p.id AND item.kind = 'capture_card'
      AND item.handed_in_on >= p.arrived_on AND NOT item.in_error
) AS capture ON true
LEFT JOIN LATERAL (
    -- At most one suspension covers a day (calls_suspension_no_overlap_per_prisoner).
    SELECT su.reason, su.authority, su.starts_on, su.ends_on
    FROM calls_suspension AS su
    WHERE su.prisoner_id = p.id
      AND (%(now)s::timestamptz AT TIME ZONE s.time_zone)::date BETWEEN su.starts_on AND su.ends_on
    LIMIT 1
) AS suspension ON true
WHERE {PRISONER_FILTER}
""",
    order_by="export_rows.site, export_rows.isn",
)

DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in (REGISTRY, LOG, PACK)}


def _labels() -> str:
    """Every choice label the SQL shows, translated in the active language, as JSON."""

    def choices(pairs):
        return {value: str(label) for value, label in pairs}

    return json.dumps(
        {
            "yes": _("Yes"),
            "no": _("No"),
            "call": _("Call"),
            "identity": choices(Identity.choices),
            "status": choices(Prisoner.Status.choices),
            "outcome": {"": _("In progress"), **choices(Outcome.choices)},
            "relationship": choices(Contact.Relationship.choices),
            "kind": choices(Kind.choices),
            "direction": choices(Direction.choices),
            "channel": choices(Channel.choices),
            "mail_status": choices(MailStatus.choices),
            "suspension": choices(Suspension.Reason.choices),
        },
        ensure_ascii=False,
    )


# --- What is asked for ----------------------------------------------------------------


@dataclass(frozen=True)
class ExportFilters:
    """A validated request: build it with ``make_filters``."""

    dataset: str
    format: str
    sites: tuple[Site, ...]
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    statuses: tuple[str, ...] = ()
    reveal: bool = False
    reveal_reason: str = ""

    @property
    def definition(self) -> Dataset:
        return DATASETS[self.dataset]

    def as_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "format": self.format,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "sites": [site.code for site in self.sites],
            "statuses": list(self.statuses),
            "reveal": self.reveal,
        }


def resolve_sites(*, user, codes: Iterable[str]) -> list[Site]:
    """The sites of ``codes`` (case-insensitive), each one the user serves at.

    Raises ``CallError`` for no code, an unknown code, or a site of someone else.
    """
    wanted = list(dict.fromkeys(code.strip().upper() for code in codes if code.strip()))
    if not wanted:
        raise CallError(_("Choose at least one site."), code="no_site")
    known = {site.code: site for site in Site.objects.filter(code__in=wanted)}
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise CallError(
            _("There is no site with code “%(code)s”.") % {"code": unknown[0]},
            code="unknown_site",
        )
    own = set(user.sites.filter(code__in=wanted).values_list("code", flat=True))
    foreign = [code for code in wanted if code not in own]
    if foreign:
        raise CallError(
            _("You do not serve at site “%(code)s”; you may export only your own sites.")
            % {"code": foreign[0]},
            code="foreign_site",
        )
    return [known[code] for code in wanted]


def make_filters(
    *,
    user,
    dataset: str,
    format: str,
    site_codes: Iterable[str],
    date_from: datetime.date | None,
    date_to: datetime.date | None,
    statuses: Iterable[str] = (),
    reveal: bool = False,
    reveal_reason: str = "",
) -> ExportFilters:
    """Check a request the page and ``manage.py export`` both make; raises
    ``CallError`` with a message for the user. Two queries (the sites)."""
    if dataset not in DATASETS:
        raise CallError(_("There is no dataset “%(name)s”.") % {"name": dataset}, code="dataset")
    if format not in Format.values:
        raise CallError(_("There is no format “%(name)s”.") % {"name": format}, code="format")
    definition = DATASETS[dataset]
    if definition.needs_period:
        if date_from is None or date_to is None:
            raise CallError(
                _("The %(dataset)s covers a period: give its first and last day.")
                % {"dataset": definition.label},
                code="period",
            )
        if date_to < date_from:
            raise CallError(
                _("The period ends (%(to)s) before it starts (%(from)s).")
                % {"to": date_format(date_to), "from": date_format(date_from)},
                code="period_order",
            )
    else:
        date_from = date_to = None
    statuses = tuple(dict.fromkeys(statuses))
    wrong = [status for status in statuses if status not in Prisoner.Status.values]
    if wrong:
        raise CallError(_("There is no status “%(name)s”.") % {"name": wrong[0]}, code="status")
    reveal_reason = (reveal_reason or "").strip()
    if reveal and not reveal_reason:
        raise CallError(
            _("Give the reason for including withheld identities: it is kept in the audit log."),
            code="reveal_reason",
        )
    return ExportFilters(
        dataset=dataset,
        format=format,
        sites=tuple(resolve_sites(user=user, codes=site_codes)),
        date_from=date_from,
        date_to=date_to,
        statuses=statuses,
        reveal=reveal,
        reveal_reason=reveal_reason if reveal else "",
    )


def _params(filters: ExportFilters, now: datetime.datetime) -> dict:
    params = {
        "labels": _labels(),
        "sites": [site.pk for site in filters.sites],
        "statuses": list(filters.statuses),
        "reveal": filters.reveal,
        "now": now,
        # Unused by the registry; harmless there.
        "date_from": filters.date_from,
        "date_end": None,
        "from_utc": None,
        "until_utc": None,
    }
    if filters.date_from is not None:
        end = filters.date_to + ONE_DAY
        midnight, utc = datetime.time.min, datetime.UTC
        params.update(
            date_end=end,
            from_utc=datetime.datetime.combine(filters.date_from, midnight, tzinfo=utc)
            - ZONE_MARGIN,
            until_utc=datetime.datetime.combine(end, midnight, tzinfo=utc) + ZONE_MARGIN,
        )
    return params


def _typed_sql(dataset: Dataset) -> str:
    """The dataset's SELECT with its exported columns only, text neutralised, ordered."""
    select = ", ".join(
        neutralised(f"export_rows.{column.key}")
        if column.type == TEXT
        else f"export_rows.{column.key}"
        for column in dataset.columns
    )
    return f"SELECT {select} FROM ({dataset.sql}) AS export_rows ORDER BY {dataset.order_by}"


# How the CSV writes each type: the same text the XLSX and PDF show.
CSV_FORMATS = {
    TEXT: "{}",
    INT: "{}",
    DATE: "to_char({}, 'YYYY-MM-DD')",
    TIME: "to_char({}, 'HH24:MI')",
    DATETIME: "to_char({}, 'YYYY-MM-DD HH24:MI')",
    # HH24 of an interval counts every hour: 26:03:04, not 1 day 02:03:04.
    DURATION: "to_char({}, 'HH24:MI:SS')",
}


def _csv_sql(dataset: Dataset) -> str:
    select = ", ".join(
        CSV_FORMATS[column.type].format(f"typed.c{index}")
        for index, column in enumerate(dataset.columns)
    )
    names = ", ".join(f"c{index}" for index in range(len(dataset.columns)))
    return f"SELECT {select} FROM ({_typed_sql(dataset)}) AS typed({names})"


def count_rows(filters: ExportFilters, *, now: datetime.datetime) -> int:
    """How many rows the export will hold (for a progress bar). One query."""
    with connection_for_reads().cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM ({filters.definition.sql}) AS export_rows",
            _params(filters, now),
        )
        return cursor.fetchone()[0]


def typed_rows(filters: ExportFilters, *, now: datetime.datetime) -> Iterator[tuple]:
    """The export's rows with Python types (naive site-local datetimes, timedeltas),
    fetched ``FETCH_ROWS`` at a time from a server-side cursor, in a transaction of
    their own: memory holds one batch. One query."""
    reads = connection_for_reads()
    with transaction.atomic(using=reads.alias), reads.chunked_cursor() as cursor:
        cursor.execute(_typed_sql(filters.definition), _params(filters, now))
        while batch := cursor.fetchmany(FETCH_ROWS):
            yield from batch


# --- Renderers ------------------------------------------------------------------------


@dataclass
class Tally:
    """Rows and SHA-256 of a file as it is produced."""

    rows: int = 0
    digest: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    progress: Callable[[int], None] | None = None

    def counted(self, rows: int) -> None:
        self.rows += rows
        if self.progress is not None:
            self.progress(rows)


def _csv_header(dataset: Dataset) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([str(c.label) for c in dataset.columns])
    return (BOM + out.getvalue()).encode("utf-8")


def csv_chunks(filters: ExportFilters, *, now: datetime.datetime, tally: Tally) -> Iterator[bytes]:
    """The CSV file in chunks of about ``CHUNK_BYTES``: a BOM (spreadsheets then read
    UTF-8), the header line, then ``COPY ... TO STDOUT`` as PostgreSQL sends it, one
    message per row. Rows and hash are kept in ``tally``. One query."""
    header = _csv_header(filters.definition)
    tally.digest.update(header)
    yield header
    statement = f"COPY ({_csv_sql(filters.definition)}) TO STDOUT WITH (FORMAT csv)"
    buffer = bytearray()
    rows = 0
    with (
        connection_for_reads().cursor() as cursor,
        cursor.cursor.copy(statement, _params(filters, now)) as copy,
    ):
        for row in copy:
            buffer += row
            rows += 1
            if len(buffer) >= CHUNK_BYTES:
                chunk = bytes(buffer)
                buffer.clear()
                tally.digest.update(chunk)
                tally.counted(rows)
                rows = 0
                yield chunk
    if buffer or rows:
        chunk = bytes(buffer)
        tally.digest.update(chunk)
        tally.counted(rows)
        yield chunk


XLSX_FORMATS = {
    DATE: {"num_format": "yyyy-mm-dd"},
    TIME: {"num_format": "hh:mm"},
    DATETIME: {"num_format": "yyyy-mm-dd hh:mm"},
    DURATION: {"num_format": "[h]:mm:ss"},
}
# Rows of a sheet under its header: Excel opens at most 1,048,576 rows.
XLSX_SHEET_ROWS = 1_048_575
XLSX_WIDTHS = {TEXT: 18, INT: 10, DATE: 11, TIME: 7, DATETIME: 16, DURATION: 9}


def write_xlsx(
    filters: ExportFilters, output: BinaryIO, *, now: datetime.datetime, tally: Tally
) -> None:
    """A sheet with a bold frozen header and an autofilter, then the rows with real
    types (dates, times and datetimes of the site, durations as [h]:mm:ss). Past
    ``XLSX_SHEET_ROWS`` rows (Excel's limit) the rows go on in another sheet "… (2)"
    with the same header. Written in xlsxwriter's constant-memory mode: each row
    goes to disk as it comes."""
    import xlsxwriter

    dataset = filters.definition
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            # Text is text: never a formula, a link or a number.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    header = workbook.add_format({"bold": True})
    formats = {kind: workbook.add_format(spec) for kind, spec in XLSX_FORMATS.items()}
    types = [column.type for column in dataset.columns]
    name = str(dataset.label)[:24]

    def new_sheet(number: int):
        sheet = workbook.add_worksheet(name if number == 1 else f"{name} ({number})")
        for index, kind in enumerate(types):
            sheet.set_column(index, index, XLSX_WIDTHS[kind])
        for index, column in enumerate(dataset.columns):
            sheet.write_string(0, index, str(column.label), header)
        sheet.freeze_panes(1, 0)
        return sheet

    def close_sheet(sheet, last_row: int):
        sheet.autofilter(0, 0, max(last_row, 1), len(types) - 1)

    sheets = 1
    sheet = new_sheet(sheets)
    row_number = 0
    for row in typed_rows(filters, now=now):
        if row_number == XLSX_SHEET_ROWS:
            close_sheet(sheet, row_number)
            sheets += 1
            sheet = new_sheet(sheets)
            row_number = 0
        row_number += 1
        tally.counted(1)
        for index, (kind, value) in enumerate(zip(types, row, strict=True)):
            if value is None or value == "":
                continue
            if kind == TEXT:
                sheet.write_string(row_number, index, value)
            elif kind == INT:
                sheet.write_number(row_number, index, value)
            else:
                sheet.write_datetime(row_number, index, value, formats[kind])
    close_sheet(sheet, row_number)
    workbook.close()


# The widest value of each fixed-format type, for the PDF's column widths.
PDF_SAMPLES = {
    INT: "00000",
    DATE: "2026-12-31",
    TIME: "23:59",
    # Date and time on two lines (``_pdf_text``).
    DATETIME: "2026-12-31",
    DURATION: "00 h 00 min 00 s",
}


def _pdf_widths(columns: Sequence[Column]) -> list[float]:
    """Widths in points: fixed-format and sampled columns as wide as their widest
    value and the longest word of their heading, the rest shared by free text."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from calls import pdf

    pdf.register_fonts()
    available = pdf.PAGE_SIZE[0] - 2 * pdf.MARGIN
    padding = 2 * pdf.CELL_PADDING + 2

    def heading(column: Column) -> float:
        words = str(column.label).split()
        return padding + max(stringWidth(w, pdf.FONT_BOLD, pdf.CELL_FONT_SIZE) for w in words)

    def fixed(column: Column) -> float | None:
        sample = column.pdf_sample or PDF_SAMPLES.get(column.type)
        if sample is None:
            return None
        return max(heading(column), padding + stringWidth(sample, pdf.FONT, pdf.CELL_FONT_SIZE))

    widths = [fixed(column) for column in columns]
    free = [index for index, width in enumerate(widths) if width is None]
    share = (available - sum(w for w in widths if w is not None)) / max(len(free), 1)
    widths = [
        width if width is not None else max(share, heading(column))
        for width, column in zip(widths, columns, strict=True)
    ]
    # Never wider than the page: headings then break inside words.
    scale = min(1.0, available / sum(widths))
    return [width * scale for width in widths]


def _cell_text(kind: str, value) -> str:
    if value is None:
        return ""
    if kind == DATE:
        return date_format(value)
    if kind == TIME:
        return time_format(value)
    if kind == DATETIME:
        return date_format(value, "DATETIME_FORMAT")
    if kind == DURATION:
        return format_duration(value)
    return str(value)


def _pdf_text(kind: str, value) -> str:
    if kind == DATETIME and value is not None:
        return f"{date_format(value)}\n{time_format(value)}"
    return _cell_text(kind, value)


def _describe(filters: ExportFilters) -> list[str]:
    """The filters in words, for the PDF's subtitle."""
    lines = [
        _("Sites: %(sites)s")
        % {"sites": ", ".join(f"{site.code} ({site.name})" for site in filters.sites)}
    ]
    if filters.date_from is not None:
        lines.append(
            _("Period: %(from)s to %(to)s, on each site's calendar")
            % {"from": date_format(filters.date_from), "to": date_format(filters.date_to)}
        )
    statuses = dict(Prisoner.Status.choices)
    lines.append(
        _("Statuses: %(statuses)s")
        % {
            "statuses": ", ".join(str(statuses[s]) for s in filters.statuses)
            if filters.statuses
            else _("all")
        }
    )
    if filters.reveal:
        lines.append(
            _("Withheld identities included for the ICRC / information bureau: %(reason)s")
            % {"reason": filters.reveal_reason}
        )
    return lines


def write_pdf(
    filters: ExportFilters,
    output: BinaryIO,
    *,
    now: datetime.datetime,
    tally: Tally,
    actor,
    chain_head: str = "",
) -> None:
    """The columns marked ``in_pdf`` as a table by ``calls.pdf.render_table_pdf``,
    rows formatted as in the CSV and fed one at a time; ``chain_head``
    (``camp.chain.head_text()``) is printed under the filters."""
    from calls.pdf import render_table_pdf

    dataset = filters.definition
    # One site is named in the subtitle: no need for a column of it.
    shown = [
        (index, column)
        for index, column in enumerate(dataset.columns)
        if column.in_pdf and (column.key != "site" or len(filters.sites) > 1)
    ]

    def rows():
        for row in typed_rows(filters, now=now):
            tally.counted(1)
            yield [_pdf_text(column.type, row[index]) for index, column in shown]

    render_table_pdf(
        output=output,
        title=str(dataset.label),
        subtitle_lines=[
            *_describe(filters),
            *([_("Logbook chain head: %(head)s") % {"head": chain_head}] if chain_head else []),
        ],
        columns=[str(column.label) for _index, column in shown],
        column_widths=_pdf_widths([column for _index, column in shown]),
        rows=rows(),
        generated_by=str(actor),
        generated_at=timezone.localtime(now, filters.sites[0].zone),
        footer_lines=(
            _(
                "Dates and times are those of each site. Identities withheld for safety "
                "show the first name or alias and the ISN only, unless included above."
            ),
        ),
    )


# --- Services: produce, record, audit -----------------------------------------------


def filename_for(filters: ExportFilters, *, now: datetime.datetime) -> str:
    codes = "-".join(site.code for site in filters.sites)
    if filters.date_from is not None:
        when = f"{filters.date_from:%Y-%m-%d}_{filters.date_to:%Y-%m-%d}"
    else:
        when = f"{timezone.localtime(now, filters.sites[0].zone):%Y-%m-%d}"
    return f"{filters.dataset}_{codes}_{when}.{filters.format}"


@transaction.atomic
def audit_reveal(*, filters: ExportFilters, actor) -> None:
    """Audit, at each site, that withheld identities are about to leave, with the
    reason; committed before the first row is read, so an interrupted export still
    leaves its trace."""
    for site in filters.sites:
        audit.record(
            actor=actor,
            action="calls.export.identities_revealed",
            target=site,
            site=site,
            data={"reason": filters.reveal_reason, "filters": filters.as_json()},
        )


@transaction.atomic
def record_export(
    *,
    filters: ExportFilters,
    actor,
    row_count: int,
    sha256: str,
    filename: str,
    now,
    chain_head: str = "",
) -> ExportRecord:
    """The ``ExportRecord`` of a finished file and its audit entry at each site;
    ``chain_head`` is the tamper-evidence chain's head when the export began."""
    record = ExportRecord.objects.create(
        user=actor,
        created_at=now,
        dataset=filters.dataset,
        format=filters.format,
        filters=filters.as_json(),
        site_codes=[site.code for site in filters.sites],
        reveal_reason=filters.reveal_reason,
        row_count=row_count,
        sha256=sha256,
        filename=filename,
        chain_head=chain_head,
    )
    for site in filters.sites:
        audit.record(
            actor=actor,
            action="calls.export.created",
            target=record,
            site=site,
            data={
                "filters": filters.as_json(),
                "rows": row_count,
                "sha256": sha256,
                "filename": filename,
                "chain_head": chain_head,
            },
        )
    return record


def stream_csv_export(
    *, filters: ExportFilters, actor, now: datetime.datetime | None = None
) -> Iterator[bytes]:
    """The CSV file for a streaming response. A reveal is audited now, before any
    row; the ``ExportRecord`` (with rows and SHA-256, known only at the end) is
    written in its own transaction once the last chunk has been handed over. A
    download abandoned halfway leaves no record: no whole file went out."""
    now = now or timezone.now()
    if filters.reveal:
        audit_reveal(filters=filters, actor=actor)
    chain_head = chain.head_text()

    def chunks():
        tally = Tally()
        yield from streamed_from_replica(csv_chunks(filters, now=now, tally=tally))
        record_export(
            filters=filters,
            actor=actor,
            row_count=tally.rows,
            sha256=tally.digest.hexdigest(),
            filename=filename_for(filters, now=now),
            now=now,
            chain_head=chain_head,
        )

    return chunks()


def write_export(
    *,
    filters: ExportFilters,
    actor,
    output: BinaryIO,
    now: datetime.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportRecord:
    """Write the whole file to ``output`` (a binary file open for reading and
    writing, at its start), then record and audit it; returns the record.

    XLSX and PDF are zip and object files whose writers seek back, so their hash
    is read back from ``output`` after they close; CSV is hashed as it is written.
    ``progress(rows)`` is called as rows go out."""
    now = now or timezone.now()
    if filters.reveal:
        audit_reveal(filters=filters, actor=actor)
    chain_head = chain.head_text()
    tally = Tally(progress=progress)
    if filters.format == Format.CSV:
        for chunk in csv_chunks(filters, now=now, tally=tally):
            output.write(chunk)
        digest = tally.digest.hexdigest()
    else:
        start = output.tell()
        if filters.format == Format.XLSX:
            write_xlsx(filters, output, now=now, tally=tally)
        else:
            write_pdf(filters, output, now=now, tally=tally, actor=actor, chain_head=chain_head)
        output.flush()
        output.seek(start)
        digest = file_sha256(output)
    output.flush()
    return record_export(
        filters=filters,
        actor=actor,
        row_count=tally.rows,
        sha256=digest,
        filename=filename_for(filters, now=now),
        now=now,
        chain_head=chain_head,
    )


def file_sha256(file: BinaryIO | Iterable[bytes]) -> str:
    """SHA-256 of a binary file read in chunks (or of an iterable of chunks)."""
    digest = hashlib.sha256()
    chunks = iter(lambda: file.read(CHUNK_BYTES), b"") if hasattr(file, "read") else file
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def matching_exports(*, sha256: str, sites: Sequence[Site]):
    """Recorded exports of ``sites`` (every site they cover is one of them) whose file
    had this SHA-256, newest first, with who made them. One query."""
    return (
        ExportRecord.objects.filter(
            sha256=sha256.lower(), site_codes__contained_by=[site.code for site in sites]
        )
        .select_related("user")
        .order_by("-created_at", "-pk")
    )


def exports_of_sites(*, sites: Sequence[Site]):
    """Recorded exports every site of which is one of ``sites``, newest first, with
    who made them. One query per page."""
    return (
        ExportRecord.objects.filter(site_codes__contained_by=[site.code for site in sites])
        .select_related("user")
        .order_by("-created_at", "-pk")
    )
