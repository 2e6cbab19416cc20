"""The pages under /exports/: who may open them, the download in each format and its
record, refusals of bad filters, the history of the user's sites and checking a file
handed over against its recorded hash."""

import csv
import datetime
import hashlib
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from camp.models import AuditEntry, ExportRecord
from camp.roles import Role
from tests.calls import test_exports
from tests.factories import UserFactory, login_verified

# The same scene as the datasets' tests: two sites, a withheld identity, an amended call.
scene = test_exports.scene

CREATE = reverse("exports:export-create")
HISTORY = reverse("exports:export-list")
VERIFY = reverse("exports:export-verify")
URLS = [CREATE, HISTORY, VERIFY]


def form_data(**changes):
    data = {
        "dataset": "log",
        "format": "csv",
        "date_from": "2026-03-01",
        "date_to": "2026-03-31",
        "sites": ["NC"],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_rows(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


# --- Who may open them ----------------------------------------------------------------


@pytest.mark.parametrize("url", URLS)
def test_anonymous_users_are_sent_to_log_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("role", [Role.GUARD, Role.SUPERVISOR])
def test_non_administrators_get_403(role_clients, url, role):
    assert role_clients[role].get(url).status_code == 403
    if url != HISTORY:  # GET only
        assert role_clients[role].post(url, form_data()).status_code == 403
    assert not ExportRecord.objects.exists()


@pytest.mark.parametrize("url", URLS)
def test_administrators_open_every_page(administrator_client, url):
    response = administrator_client.get(url)
    assert response.status_code == 200


def test_the_form_offers_only_the_users_sites(administrator_client, other_site):
    response = administrator_client.get(CREATE)
    codes = [code for code, _label in response.context["form"].fields["sites"].choices]
    assert codes == ["NC"]
    assert b'href="/exports/"' in response.content  # the nav link


# --- Downloads ------------------------------------------------------------------------


def test_csv_download_is_recorded_with_its_hash_and_rows(scene, administrator_client, site):
    response = administrator_client.post(CREATE, form_data())

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "log_NC_2026-03-01_2026-03-31.csv" in response["Content-Disposition"]
    data = body(response)
    rows = csv_rows(data)
    record = ExportRecord.objects.get()
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.row_count == len(rows) == 6
    assert not [row for row in rows if row["Site"] != "NC"]
    assert by_isn(rows, "NC-00002")["Prisoner"] == "Сокіл"
    entry = AuditEntry.objects.get(action="calls.export.created")
    assert (entry.target_id, entry.site) == (str(record.pk), site)
    assert not AuditEntry.objects.filter(action="calls.export.identities_revealed").exists()


def by_isn(rows, isn):
    return next(row for row in rows if row["ISN"] == isn)


def test_revealing_withheld_identities_needs_a_reason(scene, administrator_client):
    response = administrator_client.post(CREATE, form_data(reveal="on", reason=" "))

    assert response.status_code == 400
    assert "Give the reason for including withheld identities" in response.content.decode()
    assert not ExportRecord.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="calls.export").exists()


def test_revealing_with_a_reason_exports_and_audits_the_full_identity(
    scene, administrator_client, administrator, site
):
    response = administrator_client.post(
        CREATE, form_data(reveal="on", reason="CTA tracing request 2026/14")
    )

    rows = csv_rows(body(response))
    assert by_isn(rows, "NC-00002")["Prisoner"] == "Таємний Андрій Петрович"
    entry = AuditEntry.objects.get(action="calls.export.identities_revealed")
    assert (entry.actor, entry.site, entry.data["reason"]) == (
        administrator,
        site,
        "CTA tracing request 2026/14",
    )
    assert ExportRecord.objects.get().reveal_reason == "CTA tracing request 2026/14"


def test_xlsx_download_has_real_types_and_its_hash(scene, administrator_client):
    response = administrator_client.post(CREATE, form_data(dataset="pack", format="xlsx"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    data = body(response)
    assert ExportRecord.objects.get().sha256 == hashlib.sha256(data).hexdigest()
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    full = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert full["ISN"] == "NC-00001"
    assert full["Last connected call"] == datetime.datetime(2026, 3, 10, 23, 30)
    assert full["Calls attempted"] == 3


def test_pdf_download_lists_the_registry(scene, administrator_client):
    response = administrator_client.post(CREATE, form_data(dataset="registry", format="pdf"))

    assert response["Content-Type"] == "application/pdf"
    data = body(response)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "NC-00001" in text and "Шевченко" in text and "Shevchenko" in text
    assert "Таємний" not in text and "SC-00001" not in text
    record = ExportRecord.objects.get()
    assert (record.sha256, record.row_count) == (hashlib.sha256(data).hexdigest(), 3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "before it starts"),
        ({"sites": ["ZZ"]}, "There is no site with code “ZZ”."),
        ({"sites": ["NC", "SC"]}, "You do not serve at site “SC”"),
        ({"date_from": None}, "give its first and last day"),
        ({"date_to": "31/03/2026"}, "Enter a valid date."),
    ],
)
def test_bad_filters_are_refused_and_nothing_is_written(
    scene, administrator_client, other_site, changes, message
):
    response = administrator_client.post(CREATE, form_data(**changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ExportRecord.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="calls.export").exists()


def test_another_sites_data_is_never_exported(scene, other_site, client_class):
    south = UserFactory(username="south-admin", role=Role.ADMINISTRATOR, sites=[other_site])
    client = client_class()
    login_verified(client, south)

    rows = csv_rows(body(client.post(CREATE, form_data(sites=["SC"]))))

    assert {row["ISN"] for row in rows} == {"SC-00001"}


# --- History and verification ---------------------------------------------------------


def test_history_lists_the_exports_of_the_users_sites_only(
    scene, administrator_client, other_site, client_class
):
    body(administrator_client.post(CREATE, form_data()))
    south = UserFactory(username="south-admin", role=Role.ADMINISTRATOR, sites=[other_site])
    client = client_class()
    login_verified(client, south)
    body(client.post(CREATE, form_data(sites=["SC"], dataset="registry")))

    response = administrator_client.get(HISTORY)

    records = list(response.context["page_obj"].object_list)
    assert [(r.dataset, r.site_codes) for r in records] == [("log", ["NC"])]
    assert records[0].sha256 in response.content.decode()


def test_verify_matches_a_file_handed_over_and_refuses_a_changed_one(
    scene, administrator_client, administrator
):
    data = body(administrator_client.post(CREATE, form_data()))
    record = ExportRecord.objects.get()

    response = administrator_client.post(
        VERIFY, {"file": SimpleUploadedFile("handed-over.csv", data)}
    )
    assert response.status_code == 200
    assert [match.pk for match in response.context["result"]["matches"]] == [record.pk]
    page = response.content.decode()
    assert "The file is unchanged" in page and str(administrator) in page

    changed = data.replace(b"Wife", b"Wifi", 1)
    response = administrator_client.post(
        VERIFY, {"file": SimpleUploadedFile("handed-over.csv", changed)}
    )
    assert response.context["result"]["matches"] == []
    assert "No recorded export of your sites has this SHA-256" in response.content.decode()
    assert ExportRecord.objects.count() == 1
