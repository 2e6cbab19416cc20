"""Records for Red Cross visits under /exports/: the export form and its download,
the list of recorded exports, and checking a file handed over against them.
Administrators only, over the sites they serve.

Files come from ``calls.exports``. CSV streams straight from PostgreSQL; its
``ExportRecord`` is written when the last chunk has gone out (its hash is known only
then). XLSX and PDF are written to a temporary file first (their writers seek back
inside the file), recorded, then streamed from disk: memory stays flat either way.
"""

import tempfile

from django.core.paginator import Paginator
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from calls import exports
from calls.forms.exports import ExportForm, VerifyForm
from camp.models import ExportRecord
from camp.roles import Role, role_required
from camp.routers import reading_from_replica

HISTORY_PAGE_SIZE = 50
CONTENT_TYPES = {
    ExportRecord.Format.CSV: "text/csv; charset=utf-8",
    ExportRecord.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportRecord.Format.PDF: "application/pdf",
}


def _download(request, filters: exports.ExportFilters):
    now = timezone.now()
    filename = exports.filename_for(filters, now=now)
    if filters.format == ExportRecord.Format.CSV:
        response = StreamingHttpResponse(
            exports.stream_csv_export(filters=filters, actor=request.user, now=now),
            content_type=CONTENT_TYPES[filters.format],
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    # Closed, and so deleted, by the response once sent.
    spool = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        with reading_from_replica():
            exports.write_export(filters=filters, actor=request.user, output=spool, now=now)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return FileResponse(
        spool, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[filters.format]
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMINISTRATOR)
def export_create(request):
    """GET: the form. POST: the file, recorded and audited; a refused filter shows the
    form again with its message, and nothing is written."""
    if request.method == "POST":
        form = ExportForm(request.POST, user=request.user)
        if form.is_valid():
            return _download(request, form.filters)
        status = 400
    else:
        today = request.site.today() if request.site else timezone.localdate()
        form = ExportForm(
            user=request.user,
            initial={
                "dataset": ExportRecord.Dataset.PACK,
                "format": ExportRecord.Format.CSV,
                "date_from": today.replace(day=1),
                "date_to": today,
                "sites": [site.code for site in request.sites],
            },
        )
        status = 200
    return render(request, "exports/export_form.html", {"form": form}, status=status)


@require_GET
@role_required(Role.ADMINISTRATOR)
def export_list(request):
    """Recorded exports of the user's sites, newest first. Two queries (the count,
    the page)."""
    records = exports.exports_of_sites(sites=request.sites)
    page = Paginator(records, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "exports/export_list.html", {"page_obj": page})


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMINISTRATOR)
def export_verify(request):
    """Upload a file: its SHA-256, read in chunks, and the recorded exports of the
    user's sites it matches (or that none does). Nothing is written."""
    result = None
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            sha256 = exports.file_sha256(upload.chunks())
            result = {
                "sha256": sha256,
                "name": upload.name,
                "matches": list(exports.matching_exports(sha256=sha256, sites=request.sites)),
            }
    else:
        form = VerifyForm()
    return render(request, "exports/export_verify.html", {"form": form, "result": result})
