"""An administrator downloads the visit pack for a Red Cross visit in a real browser, in
each format, and the file is read back: one row per prisoner of the site, with the figures
of the period, nothing of another site, and the SHA-256 the export history shows."""

import csv
import datetime
import hashlib
import io

import openpyxl
import pytest
from django.urls import reverse
from playwright.sync_api import expect
from pypdf import PdfReader

from calls.models import Call
from camp.models import ExportRecord
from tests.e2e.browser import screenshot
from tests.e2e.staff import Camp

NORTH_CAMP = ["NC-00042", "NC-00043", "NC-00101", "NC-00102", "NC-00103"]


@pytest.fixture
def camp(live_server):
    return Camp()


def download_visit_pack(page, camp, file_format: str, date_from: datetime.date):
    camp.log_in(page, camp.administrator)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Exports"
    ).click()
    expect(page.get_by_role("heading", name="Records for Red Cross visits")).to_be_visible()
    expect(page.get_by_role("radio", name="Visit pack")).to_be_checked()  # The default.
    expect(page.get_by_role("checkbox", name="North camp (NC)")).to_be_checked()
    page.get_by_label("From").fill(f"{date_from:%Y-%m-%d}")
    page.get_by_role("radio", name=file_format.upper()).check()
    with page.expect_download() as started:
        page.get_by_role("button", name="Export").click()
    download = started.value
    today = camp.site.today()
    assert download.suggested_filename == (
        f"pack_NC_{date_from:%Y-%m-%d}_{today:%Y-%m-%d}.{file_format}"
    )
    return download.path().read_bytes()


def attempted_since(prisoner, day: datetime.date) -> int:
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=prisoner.site.zone)
    return Call.objects.filter(prisoner=prisoner, started_at__gte=start).count()


def assert_recorded(page, data: bytes):
    """The export is in the history with the hash of the very file downloaded."""
    record = ExportRecord.objects.get()
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.row_count == len(NORTH_CAMP)
    page.goto(reverse("exports:export-list"))
    expect(page.locator("main")).to_contain_text(record.sha256[:16])


def test_an_administrator_downloads_the_visit_pack_as_a_spreadsheet(page, camp):
    date_from = camp.site.today() - datetime.timedelta(days=30)
    data = download_visit_pack(page, camp, "xlsx", date_from)

    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    header, *rows = ([cell.value for cell in row] for row in sheet.iter_rows())
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(rows) == NORTH_CAMP
    forgotten = rows["NC-00042"]
    assert forgotten["Prisoner"] == "Шевченко Тарас Іванович"
    latin = camp.forgotten
    assert forgotten["Prisoner (Latin)"] == (
        f"{latin.surname_latin} {latin.first_names_latin} {latin.patronymic_latin}"
    )
    assert forgotten["Calls attempted"] == 0
    assert forgotten["Days without news"] == 100
    regular = rows["NC-00101"]
    assert regular["Calls attempted"] == attempted_since(camp.regulars[0], date_from) > 0
    assert isinstance(regular["Last connected call"], datetime.datetime)
    assert_recorded(page, data)
    screenshot(page, "administrator-export-history")


def test_an_administrator_downloads_the_visit_pack_as_csv(page, camp):
    date_from = camp.site.today() - datetime.timedelta(days=30)
    data = download_visit_pack(page, camp, "csv", date_from)

    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for spreadsheets.
    rows = {row["ISN"]: row for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    assert list(rows) == NORTH_CAMP
    assert rows["NC-00042"]["Prisoner"] == "Шевченко Тарас Іванович"
    assert rows["NC-00042"]["Days without news"] == "100"
    regular = rows["NC-00102"]
    assert int(regular["Calls attempted"]) == attempted_since(camp.regulars[1], date_from)
    assert_recorded(page, data)


def test_an_administrator_downloads_the_visit_pack_as_pdf(page, camp):
    date_from = camp.site.today() - datetime.timedelta(days=30)
    data = download_visit_pack(page, camp, "pdf", date_from)

    assert data.startswith(b"%PDF-")
    text = "\n".join(pdf_page.extract_text() for pdf_page in PdfReader(io.BytesIO(data)).pages)
    # Narrow columns wrap their words: compare the text without its spaces and line ends.
    compact = "".join(text.split())
    for isn in NORTH_CAMP:
        assert isn in compact
    forgotten = camp.forgotten
    latin = forgotten.surname_latin + forgotten.first_names_latin + forgotten.patronymic_latin
    # ISN, name, Latin name, calls attempted, connected, minutes, days without news.
    assert f"NC-00042ШевченкоТарасІванович{latin}000100" in compact
    assert "SC-00001" not in compact and "Чужий" not in compact
    assert_recorded(page, data)
