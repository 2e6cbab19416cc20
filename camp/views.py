from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from camp.roles import Role, has_role


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database answers, 503 when it does not; nothing else is revealed."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse("unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def home(request):
    """Send each role to the page it uses most."""
    if has_role(request.user, Role.GUARD) and not has_role(
        request.user, Role.SUPERVISOR, Role.ADMINISTRATOR
    ):
        return redirect("calls:desk")
    if has_role(request.user, Role.GUARD, Role.SUPERVISOR, Role.ADMINISTRATOR):
        return redirect("prisoners:prisoner-list")
    return render(request, "camp/no_role.html", status=403)
