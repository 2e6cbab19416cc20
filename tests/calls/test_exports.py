"""The three datasets of ``calls.exports`` in each format, parsed back (csv, openpyxl,
pypdf) and compared with the database, with a second site's data beside them.

The scene, at a Kyiv site in March 2026 (UTC+2 until the 29th): a full identity in
Cyrillic, a withheld one with an alias, a prisoner whose rank reads as a formula;
calls at 23:30 and 00:30 local time (the latter on the previous day in UTC), an
amended call; letters and cards of the period; the same again at another site.
"""

import csv
import datetime
import hashlib
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from calls import exports, services
from calls.models import Outcome, Suspension
from calls.services import CallError
from camp.models import AuditEntry, ExportRecord
from camp.roles import Role
from letters.models import Letter
from prisoners.models import Prisoner
from prisoners.transliteration import to_latin
from tests.factories import (
    CallFactory,
    LetterFactory,
    LineFactory,
    PrisonerFactory,
    UserFactory,
)

MINUTE = datetime.timedelta(minutes=1)
MARCH_1 = datetime.date(2026, 3, 1)
MARCH_31 = datetime.date(2026, 3, 31)


def at(site, day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=site.zone)


def call_at(site, prisoner, started_at, *, minutes=10, **extra):
    return CallFactory(
        line=LineFactory(site=site),
        prisoner=prisoner,
        started_at=started_at,
        deadline=started_at + 15 * MINUTE,
        ended_at=started_at + minutes * MINUTE,
        **extra,
    )


class Scene:
    """What the tests read back."""


@pytest.fixture
def scene(site, other_site, administrator):
    s = Scene()
    s.full = PrisonerFactory(
        site=site,
        isn="NC-00001",
        surname="Шевченко",
        first_names="Олександр",
        patronymic="Іванович",
        rank="Sergeant",
        date_of_birth=datetime.date(1991, 4, 2),
        father_first_name="Іван",
    )
    s.withheld = PrisonerFactory(
        site=site,
        isn="NC-00002",
        identity=Prisoner.Identity.WITHHELD,
        surname="Таємний",
        first_names="Андрій",
        patronymic="Петрович",
        alias="Сокіл",
        rank="Colonel",
        service_number="SN-7788",
        status=Prisoner.Status.IN_HOSPITAL,
    )
    s.formula = PrisonerFactory(site=site, isn="NC-00003", surname="Коваль", rank="=1+2")
    # 23:30 in Kyiv is 21:30 UTC; 00:30 on 1 March in Kyiv is 22:30 UTC on 28 February.
    s.late = call_at(site, s.full, at(site, datetime.date(2026, 3, 10), 23, 30))
    s.early = call_at(site, s.full, at(site, MARCH_1, 0, 30), minutes=7, locality="=HYPERLINK(1)")
    s.amended = call_at(site, s.full, at(site, datetime.date(2026, 3, 12), 14, 0), minutes=5)
    services.amend_call(
        call=s.amended,
        changes={"outcome": Outcome.NO_ANSWER, "notes": "\tTabbed note"},
        reason="Nobody answered; the guard chose the wrong outcome.",
        actor=administrator,
    )
    s.amended.refresh_from_db()
    # Before the period: 23:30 on 28 February in Kyiv.
    s.before = call_at(site, s.full, at(site, datetime.date(2026, 2, 28), 23, 30))
    s.withheld_call = call_at(
        site, s.withheld, at(site, datetime.date(2026, 3, 15), 10, 0), notes="Спитав про Таємний"
    )
    s.letter = LetterFactory(
        prisoner=s.full,
        kind=Letter.Kind.LETTER,
        handed_in_on=datetime.date(2026, 3, 5),
        correspondent_locality="@SUM(A1)",
    )
    s.card = LetterFactory(
        prisoner=s.full,
        kind=Letter.Kind.CARD,
        direction=Letter.Direction.RECEIVED,
        handed_in_on=datetime.date(2026, 3, 20),
    )
    s.april_letter = LetterFactory(prisoner=s.full, handed_in_on=datetime.date(2026, 4, 2))
    Suspension.objects.create(
        prisoner=s.withheld,
        reason=Suspension.Reason.MEDICAL,
        authority="Camp doctor",
        starts_on=site.today() - datetime.timedelta(days=1),
        ends_on=site.today() + datetime.timedelta(days=5),
        created_by=administrator,
    )
    # Another site's prisoner, calls and mail: never in an export of the first.
    s.foreign = PrisonerFactory(site=other_site, isn="SC-00001", surname="Чужий")
    call_at(other_site, s.foreign, at(other_site, datetime.date(2026, 3, 10), 12, 0))
    LetterFactory(prisoner=s.foreign, handed_in_on=datetime.date(2026, 3, 5))
    return s


def filters_for(user, dataset, fmt="csv", *, sites=("NC",), **extra):
    return exports.make_filters(
        user=user,
        dataset=dataset,
        format=fmt,
        site_codes=sites,
        date_from=extra.pop("date_from", MARCH_1),
        date_to=extra.pop("date_to", MARCH_31),
        **extra,
    )


def produce(user, dataset, fmt="csv", **extra):
    """The file's bytes and its record, as the page and the command make them."""
    output = io.BytesIO()
    record = exports.write_export(
        filters=filters_for(user, dataset, fmt, **extra), actor=user, output=output
    )
    return output.getvalue(), record


def read_csv(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def read_xlsx(data: bytes):
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    return sheet, [dict(zip(header, row, strict=True)) for row in rows[1:]]


def read_pdf(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def by(rows, key, value):
    [row] = [row for row in rows if row[key] == value]
    return row


# --- Registry -------------------------------------------------------------------------


def test_registry_csv_lists_the_sites_prisoners_with_cyrillic_and_icao_names(scene, administrator):
    data, record = produce(administrator, "registry")
    rows = read_csv(data)

    assert [row["ISN"] for row in rows] == list(
        Prisoner.objects.filter(site__code="NC").order_by("isn").values_list("isn", flat=True)
    )
    assert record.row_count == len(rows) == 3
    full = by(rows, "ISN", "NC-00001")
    assert (full["Surname"], full["First names"], full["Patronymic"]) == (
        "Шевченко",
        "Олександр",
        "Іванович",
    )
    assert full["Surname (Latin)"] == to_latin("Шевченко") == "Shevchenko"
    assert full["First names (Latin)"] == to_latin("Олександр") == "Oleksandr"
    assert full["Patronymic (Latin)"] == "Ivanovich"
    assert full["Date of birth"] == "1991-04-02"
    assert full["Date of capture"] == "2026-01-02"
    assert full["Arrival date"] == "2026-01-10"
    assert full["Status"] == "Interned"
    assert full["Father's first name"] == "Іван"


def test_registry_shows_a_withheld_identity_as_alias_and_isn_only(scene, administrator):
    rows = read_csv(produce(administrator, "registry")[0])

    withheld = by(rows, "ISN", "NC-00002")
    assert withheld["Alias"] == "Сокіл"
    for column in (
        "Surname",
        "First names",
        "Patronymic",
        "Surname (Latin)",
        "First names (Latin)",
        "Rank",
        "Service number",
        "Date of birth",
    ):
        assert withheld[column] == "", column
    assert withheld["Identity"] == "Withheld for safety"
    assert withheld["Status"] == "In hospital"


def test_registry_reveals_a_withheld_identity_with_a_reason_and_audits_it(
    scene, administrator, site
):
    data, record = produce(
        administrator, "registry", reveal=True, reveal_reason="Tracing request of the CTA."
    )

    withheld = by(read_csv(data), "ISN", "NC-00002")
    assert (withheld["Surname"], withheld["First names"], withheld["Service number"]) == (
        "Таємний",
        "Андрій",
        "SN-7788",
    )
    assert withheld["Surname (Latin)"] == to_latin("Таємний")
    assert record.reveal_reason == "Tracing request of the CTA."
    assert record.filters["reveal"] is True
    entry = AuditEntry.objects.get(action="calls.export.identities_revealed")
    assert (entry.actor, entry.site, entry.data["reason"]) == (
        administrator,
        site,
        "Tracing request of the CTA.",
    )


def test_revealing_without_a_reason_is_refused(scene, administrator):
    with pytest.raises(CallError, match="Give the reason"):
        filters_for(administrator, "registry", reveal=True, reveal_reason="  ")


def test_registry_filters_by_status_and_dates_its_status_history(scene, administrator, site):
    from prisoners import services as registry

    registry.change_status(
        prisoner=scene.full,
        status=Prisoner.Status.IN_HOSPITAL,
        effective_on=datetime.date(2026, 3, 3),
        note="Camp hospital.",
        actor=administrator,
    )
    rows = read_csv(produce(administrator, "registry", statuses=["in_hospital"])[0])

    assert [row["ISN"] for row in rows] == ["NC-00001", "NC-00002"]
    full = by(rows, "ISN", "NC-00001")
    assert full["Status since"] == "2026-03-03"
    assert full["Status history"].endswith("2026-03-03 In hospital")


def test_formula_characters_are_neutralised_in_every_format(scene, administrator):
    csv_row = by(read_csv(produce(administrator, "registry")[0]), "ISN", "NC-00003")
    assert csv_row["Rank"] == "'=1+2"

    _sheet, xlsx_rows = read_xlsx(produce(administrator, "registry", "xlsx")[0])
    assert by(xlsx_rows, "ISN", "NC-00003")["Rank"] == "'=1+2"

    text = read_pdf(produce(administrator, "registry", "pdf")[0])
    assert "'=1+2" in text

    log = read_csv(produce(administrator, "log")[0])
    assert by(log, "Time", "00:30")["Locality"] == "'=HYPERLINK(1)"
    assert by(log, "Record", "Letter")["Locality"] == "'@SUM(A1)"
    assert by(log, "Outcome or status", "No answer")["Notes"] == "'\tTabbed note"


# --- Communications log ---------------------------------------------------------------


def test_log_holds_the_periods_calls_and_mail_of_the_site_only(scene, administrator):
    data, record = produce(administrator, "log")
    rows = read_csv(data)

    calls = [row for row in rows if row["Record"] == "Call"]
    mail = [row for row in rows if row["Record"] != "Call"]
    assert len(calls) == 4  # 00:30 on 1 March, 23:30 on the 10th, the amended, the withheld
    assert sorted(row["Record"] for row in mail) == ["Card", "Letter"]
    assert record.row_count == len(rows) == 6
    assert {row["Site"] for row in rows} == {"NC"}
    assert not [row for row in rows if row["ISN"].startswith("SC")]


def test_log_dates_and_times_are_those_of_the_site(scene, administrator):
    rows = read_csv(produce(administrator, "log")[0])

    late = by(rows, "Time", "23:30")
    assert (late["Date"], late["Ended"], late["Elapsed"]) == ("2026-03-10", "23:40", "00:10:00")
    # 22:30 UTC on 28 February: in the period, on 1 March at the site.
    early = by(rows, "Time", "00:30")
    assert (early["Date"], early["Elapsed"]) == ("2026-03-01", "00:07:00")
    assert early["Prisoner"] == "Шевченко Олександр Іванович"
    assert early["Prisoner (Latin)"] == "Shevchenko Oleksandr Ivanovich"
    assert early["Relationship"] == "Wife"


def test_log_exports_an_amended_call_with_its_current_values(scene, administrator):
    rows = read_csv(produce(administrator, "log")[0])

    amended = by(rows, "Time", "14:00")
    assert scene.amended.outcome == Outcome.NO_ANSWER
    assert (amended["Outcome or status"], amended["Amended"], amended["Amendments"]) == (
        "No answer",
        "Yes",
        "1",
    )
    assert by(rows, "Time", "23:30")["Amended"] == "No"


def test_log_masks_a_withheld_prisoner_then_reveals_him(scene, administrator):
    hidden = by(read_csv(produce(administrator, "log")[0]), "ISN", "NC-00002")
    assert (hidden["Prisoner"], hidden["Prisoner (Latin)"]) == ("Сокіл", "Сокіл")
    assert hidden["Notes"] == hidden["Number dialled"] == ""

    shown = by(
        read_csv(produce(administrator, "log", reveal=True, reveal_reason="ICRC visit")[0]),
        "ISN",
        "NC-00002",
    )
    assert shown["Prisoner"] == "Таємний Андрій Петрович"
    assert shown["Notes"] == "Спитав про Таємний"


def test_log_xlsx_has_real_types_a_frozen_header_and_an_autofilter(scene, administrator):
    data, record = produce(administrator, "log", "xlsx")
    sheet, rows = read_xlsx(data)

    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}7"
    assert record.row_count == len(rows) == 6
    late = by(rows, "Time", datetime.time(23, 30))
    assert late["Date"] == datetime.datetime(2026, 3, 10)
    assert late["Elapsed"] == datetime.timedelta(minutes=10)
    assert late["Amendments"] == 0
    early = by(rows, "Time", datetime.time(0, 30))
    assert early["Date"] == datetime.datetime(2026, 3, 1)
    amended = by(rows, "Time", datetime.time(14, 0))
    assert (amended["Outcome or status"], amended["Amendments"]) == ("No answer", 1)
    letter = by(rows, "Record", "Letter")
    assert letter["Date"] == datetime.datetime(2026, 3, 5)
    assert letter["Time"] is None


def test_log_pdf_lists_the_entries_in_site_time(scene, administrator):
    data, record = produce(administrator, "log", "pdf")
    text = read_pdf(data)

    assert record.row_count == 6
    assert "Communications log" in text
    assert "23:30" in text and "10.03.2026" in text
    assert "Shevchenko" in text
    assert "Сокіл" in text and "Таємний" not in text
    assert "SC-00001" not in text


# --- Visit pack -----------------------------------------------------------------------


def test_pack_summarises_each_prisoner_of_the_period(scene, administrator):
    data, record = produce(administrator, "pack")
    rows = read_csv(data)

    assert [row["ISN"] for row in rows] == ["NC-00001", "NC-00002", "NC-00003"]
    assert record.row_count == 3
    full = by(rows, "ISN", "NC-00001")
    # Three calls started in March at the site; the amended one did not connect.
    assert (full["Calls attempted"], full["Calls connected"], full["Minutes connected"]) == (
        "3",
        "2",
        "17",
    )
    assert (full["Letters sent"], full["Letters received"]) == ("1", "0")
    assert (full["Cards sent"], full["Cards received"]) == ("0", "1")
    assert full["Capture card sent"] == "No"
    assert full["Last connected call"] == "2026-03-10 23:30"
    scene.full.refresh_from_db()
    today = scene.full.site.today()
    assert full["Days without news"] == str((today - datetime.date(2026, 3, 10)).days)
    withheld = by(rows, "ISN", "NC-00002")
    assert withheld["Prisoner"] == "Сокіл"
    assert withheld["Current suspension"].startswith("Medical, Camp doctor (")


def test_pack_counts_a_capture_card_and_a_makeup_owed(scene, administrator, site):
    LetterFactory(prisoner=scene.formula, kind=Letter.Kind.CAPTURE_CARD, handed_in_on=MARCH_1)
    call_at(
        site,
        scene.formula,
        at(site, datetime.date(2026, 3, 20), 9, 0),
        outcome=Outcome.INTERRUPTED_BY_ALERT,
    )
    _sheet, rows = read_xlsx(produce(administrator, "pack", "xlsx")[0])

    formula = by(rows, "ISN", "NC-00003")
    assert formula["Capture card sent"] == "Yes"
    assert formula["Capture card handed in"] == datetime.datetime(2026, 3, 1)
    assert formula["Make-up call owed since"] == datetime.datetime(2026, 3, 20, 9, 0)
    assert (formula["Calls attempted"], formula["Calls connected"]) == (1, 0)


# --- Records and refusals -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_the_record_holds_the_files_hash_and_rows(scene, administrator, site, fmt):
    data, record = produce(administrator, "pack", fmt)

    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert (record.user, record.dataset, record.format, record.site_codes) == (
        administrator,
        "pack",
        fmt,
        ["NC"],
    )
    assert record.filters["date_from"] == "2026-03-01"
    assert record.filename == f"pack_NC_2026-03-01_2026-03-31.{fmt}"
    entry = AuditEntry.objects.get(action="calls.export.created")
    assert (entry.target_id, entry.site, entry.data["sha256"]) == (
        str(record.pk),
        site,
        record.sha256,
    )


def test_the_record_is_append_only(scene, administrator):
    from django.db import DatabaseError, transaction

    _data, record = produce(administrator, "registry")
    with pytest.raises(DatabaseError), transaction.atomic():
        ExportRecord.objects.filter(pk=record.pk).update(row_count=0)
    with pytest.raises(DatabaseError), transaction.atomic():
        ExportRecord.objects.filter(pk=record.pk).delete()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"date_from": MARCH_31, "date_to": MARCH_1},
            "The period ends (01.03.2026) before it starts (31.03.2026).",
        ),
        ({"sites": ("ZZ",)}, "There is no site with code “ZZ”."),
        ({"sites": ("NC", "SC")}, "You do not serve at site “SC”"),
        ({"statuses": ["asleep"]}, "There is no status “asleep”."),
        ({"date_from": None}, "give its first and last day"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(
    scene, administrator, other_site, changes, message
):
    with pytest.raises(CallError) as refused:
        filters_for(administrator, "log", **changes)
    assert message in " ".join(refused.value.messages)


# --- manage.py export -----------------------------------------------------------------


def test_the_command_writes_records_and_shows_progress(scene, administrator, tmp_path):
    path = tmp_path / "pack.xlsx"
    stdout, stderr = io.StringIO(), io.StringIO()

    call_command(
        "export",
        "--dataset=log",
        "--from=2026-03-01",
        "--to=2026-03-31",
        "--site=nc",
        "--format=xlsx",
        f"--output={path}",
        "--user=administrator",
        "--reveal-withheld",
        "--reason=ICRC visit of April",
        stdout=stdout,
        stderr=stderr,
    )

    data = path.read_bytes()
    record = ExportRecord.objects.get()
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.row_count == 6
    assert record.reveal_reason == "ICRC visit of April"
    _sheet, rows = read_xlsx(data)
    assert by(rows, "ISN", "NC-00002")["Prisoner"] == "Таємний Андрій Петрович"
    assert "6/6" in stderr.getvalue()
    assert record.sha256 in stdout.getvalue()
    assert AuditEntry.objects.filter(action="calls.export.identities_revealed").count() == 1


def test_the_command_csv_equals_the_service_csv(scene, administrator, tmp_path):
    path = tmp_path / "registry.csv"
    call_command(
        "export",
        "--dataset=registry",
        "--site=NC",
        "--format=csv",
        f"--output={path}",
        "--user=administrator",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert path.read_bytes() == produce(administrator, "registry")[0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from=2026-03-31", "--to=2026-03-01"], "before it starts"),
        (["--from=2026-03-01", "--to=31.03.2026"], "is not a date"),
        (["--from=2026-03-01", "--to=2026-03-31", "--site=ZZ"], "no site with code “ZZ”"),
        (["--from=2026-03-01", "--to=2026-03-31", "--site=SC"], "do not serve at site “SC”"),
        (["--from=2026-03-01", "--to=2026-03-31", "--user=guard"], "not an administrator"),
        (["--from=2026-03-01", "--to=2026-03-31", "--reveal-withheld"], "Give the reason"),
    ],
)
def test_the_command_refuses_bad_input(scene, other_site, tmp_path, arguments, message):
    UserFactory(username="guard", role=Role.GUARD, sites=[scene.full.site])
    defaults = {"--site": "--site=NC", "--user": "--user=administrator"}
    given = {argument.split("=")[0] for argument in arguments}
    argv = [*arguments, *(value for key, value in defaults.items() if key not in given)]
    with pytest.raises(CommandError, match=message):
        call_command(
            "export",
            "--dataset=pack",
            "--format=csv",
            f"--output={tmp_path / 'x.csv'}",
            *argv,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not ExportRecord.objects.exists()


def test_xlsx_rows_past_a_sheets_limit_go_on_in_another_sheet(scene, administrator, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 4)
    data, record = produce(administrator, "log", "xlsx")

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Communications log", "Communications log (2)"]
    first, second = (list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets)
    assert first[0] == second[0]
    assert (len(first) - 1, len(second) - 1, record.row_count) == (4, 2, 6)
    assert workbook.worksheets[1].freeze_panes == "A2"
