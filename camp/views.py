import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from camp.roles import Role, has_role

logger = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database answers and a page renders; 503 otherwise, revealing nothing.

    Rendering base.html resolves every `{% static %}` link of the page frame, so static
    files not collected for the production storage fail here, not only on the pages. The
    cause is logged. One query and one render of a template the loader keeps cached.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Health check: the database does not answer.")
        return HttpResponse("unavailable", status=503, content_type="text/plain")
    try:
        render_to_string("base.html")
    except Exception:
        # Whatever breaks the page frame breaks every page, whatever its type.
        logger.exception("Health check: pages cannot render.")
        return HttpResponse("unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def home(request):
    """Send each role to the page it uses most: guards to the desk, supervisors and
    administrators to their dashboard."""
    if has_role(request.user, Role.SUPERVISOR, Role.ADMINISTRATOR):
        return redirect("reports:index")
    if has_role(request.user, Role.GUARD):
        return redirect("calls:desk")
    return render(request, "camp/no_role.html", status=403)
