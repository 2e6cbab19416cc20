import datetime
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from camp import audit
from camp.forms import AuditFilterForm, LanguageForm
from camp.models import AuditEntry
from camp.pagination import keyset_page
from camp.roles import Role, has_role, role_required

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


@login_not_required
@require_POST
def language_set(request):
    """Switch the interface language and go back to the page the switch was on.

    A logged-in staff member's choice is kept on their account (``User.language``), so it
    follows them to any computer; the language cookie keeps it for the log-in page too.
    """
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("home") if request.user.is_authenticated else reverse("login")
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That language is not available: the interface is unchanged."))
        return HttpResponseRedirect(back)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated and request.user.language != language:
        request.user.language = language
        request.user.save(update_fields=["language"])
    translation.activate(language)
    name = translation.get_language_info(language)["name_local"]
    messages.success(request, _("Interface language: %(language)s.") % {"language": name})
    response = HttpResponseRedirect(back)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


AUDIT_PAGE_SIZE = 50


@require_GET
@role_required(Role.ADMINISTRATOR)
def audit_trail(request):
    """The audit trail of the administrator's sites, newest first, filtered by who, which
    object, which action and which days; each entry with the row changes it made. Found
    by seeking from the last entry shown. One query for the page, one for the staff
    offered in the filter."""
    form = AuditFilterForm(request.GET or None, user=request.user)
    entries = AuditEntry.objects.visible_to(request.user)
    if form.is_valid():
        entries = _filtered(entries, form.cleaned_data, request.site)
    page = keyset_page(
        audit.with_changes(entries),
        field="created_at",
        cursor=request.GET.get("page", ""),
        size=AUDIT_PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("page", None)
    without_page = query.urlencode()
    return render(
        request,
        "camp/audit_trail.html",
        {
            "form": form,
            "page": page,
            "entries": audit.trail_entries(page.object_list),
            "query_without_page": f"{without_page}&" if without_page else "",
        },
    )


def _filtered(entries, filters: dict, site):
    """``entries`` narrowed to the filters given; days are the site's calendar days."""
    if filters["actor"]:
        entries = entries.filter(actor=filters["actor"])
    if filters["target_type"]:
        entries = entries.filter(target_type=filters["target_type"])
    if filters["target_id"]:
        entries = entries.filter(target_id=str(filters["target_id"]))
    if filters["action"]:
        entries = entries.filter(action=filters["action"])
    zone = site.zone if site else datetime.UTC
    if filters["date_from"]:
        start = datetime.datetime.combine(filters["date_from"], datetime.time.min, tzinfo=zone)
        entries = entries.filter(created_at__gte=start)
    if filters["date_to"]:
        end = datetime.datetime.combine(
            filters["date_to"] + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
        )
        entries = entries.filter(created_at__lt=end)
    return entries


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's page for changing one's own password; the new one is the user's own."""

    def form_valid(self, form):
        response = super().form_valid(form)
        form.user.must_change_password = False
        form.user.save(update_fields=["must_change_password"])
        messages.success(self.request, _("Your password has been changed."))
        return response


class LoginView(auth_views.LoginView):
    """Django's log-in page; each log-in it lets through is in the audit trail."""

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.logged_in(self.request, form.get_user())
        return response
