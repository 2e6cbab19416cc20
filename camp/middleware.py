import sys
import time
from operator import attrgetter

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.shortcuts import redirect
from django.template import loader
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _


class SiteTimezoneMiddleware:
    """Show times in the zone of the staff member's (first) site; they are stored in UTC.

    Sets ``request.sites``, the staff member's sites in name order, read once for the
    request, and ``request.site``, the first of them by creation (or None).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        request.sites = list(user.sites.all()) if user.is_authenticated else []
        site = min(request.sites, key=attrgetter("pk"), default=None)
        if site is not None:
            timezone.activate(site.zone)
        else:
            timezone.deactivate()
        request.site = site
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class LanguageMiddleware:
    """Speak the staff member's own language (``User.language``); before log-in, the one
    chosen on the log-in page (the language cookie), else Ukrainian (``LANGUAGE_CODE``).

    The browser's Accept-Language is not consulted: the camp's computers are shared, and
    the interface is Ukrainian unless a person chose otherwise. Runs after authentication,
    so every later middleware, view and template speaks the one language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = self._language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ["Cookie"])
        return response

    @staticmethod
    def _language(request) -> str:
        known = {code for code, _name in settings.LANGUAGES}
        if request.user.is_authenticated and request.user.language in known:
            return request.user.language
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        return chosen if chosen in known else settings.LANGUAGE_CODE


class NulByteMiddleware:
    """Answer 400, not 500, when a request's NUL byte reaches a query.

    PostgreSQL text cannot hold NUL, and psycopg refuses any query parameter carrying one
    (DataError "... cannot contain NUL (0x00) bytes"): an admin list filter or search given
    ``%00`` would otherwise answer 500. Forms already refuse NUL and pages that clean their
    filters ignore it; this catches the rest, whichever view or template ran the query.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DataError) and "NUL (0x00)" in str(exception):
            # Django logs the 400 once, as a warning (logger django.request).
            return HttpResponseBadRequest(
                _("The request contains a NUL character."), content_type="text/plain"
            )
        return None


class SessionTimeoutMiddleware:
    """End a session a shift after log-in (``SESSION_COOKIE_AGE``) and after
    ``SESSION_IDLE_TIMEOUT`` without a request; the user then logs in again. An open desk
    asks for news every few seconds (``static/js/desk-refresh.js``), so it never idles.

    Times are kept in the session from log-in (``stamp_login``, on Django's
    ``user_logged_in`` signal); the session is written at most once a minute to record
    activity, never on each request.
    """

    STARTED = "camp_started_at"
    SEEN = "camp_seen_at"
    # Seconds between writes of the last-activity time.
    RESOLUTION = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            self._enforce(request)
        return self.get_response(request)

    def _enforce(self, request) -> None:
        session = request.session
        now = int(time.time())
        if self.STARTED not in session:
            # A session from before the times were kept: it counts from now.
            session[self.STARTED] = session[self.SEEN] = now
            return
        started, seen = session[self.STARTED], session.get(self.SEEN, now)
        if (
            now - started >= settings.SESSION_COOKIE_AGE
            or now - seen >= settings.SESSION_IDLE_TIMEOUT
        ):
            logout(request)
        elif now - seen >= self.RESOLUTION:
            session[self.SEEN] = now

    @classmethod
    def stamp_login(cls, sender, request, user, **kwargs) -> None:
        """Start the session's clocks at log-in, written with the log-in itself."""
        request.session[cls.STARTED] = request.session[cls.SEEN] = int(time.time())


class PasswordChangeRequiredMiddleware:
    """A staff member whose password an administrator set (``must_change_password``) sees
    only the password change page until they have chosen their own."""

    # The pages that stay open meanwhile, by URL name.
    OPEN = {"password_change", "password_change_done", "logout", "language-set"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and user.must_change_password and not self._open(request):
            messages.warning(
                request,
                _("An administrator set your password. Choose a password of your own to go on."),
            )
            return redirect("password_change")
        return self.get_response(request)

    def _open(self, request) -> bool:
        try:
            return resolve(request.path_info).url_name in self.OPEN
        except Resolver404:
            return False


class NoStoreForStaffMiddleware:
    """Pages shown to a logged-in user hold prisoner data: no browser or proxy may keep them.

    Adds ``Cache-Control: no-store`` and ``Vary: Cookie``. Static files never get here
    (WhiteNoise answers them before the session is read), and are skipped by path as well.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated and not request.path.startswith(
            f"/{settings.STATIC_URL.lstrip('/')}"
        ):
            patch_cache_control(response, no_store=True, private=True)
            patch_vary_headers(response, ["Cookie"])
        return response


def server_error(request):
    """The 500 handler (``camp.urls.handler500``), also for a database outage.

    Any exception not handled by a view or middleware ends here, with the exception being
    handled; Django logs it once (logger ``django.request``), with its traceback. When the
    database cannot be reached the page says so, with 503: the user's last action may not
    have been saved. Neither page reads the database or the user, which may be what failed.
    """
    _type, error, _traceback = sys.exc_info()
    if _database_unreachable(error):
        return HttpResponse(loader.render_to_string("503.html"), status=503)
    return HttpResponseServerError(loader.render_to_string("500.html"))


def _database_unreachable(error: BaseException | None) -> bool:
    """Connection lost or refused, or the server shutting down; not a failed statement
    (deadlock, timeout, constraint), which stays a 500."""
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    # No SQLSTATE: the client could not connect or lost the connection. Class 08 is a
    # connection exception; 57P01-57P03 are server shutdown and "cannot connect now".
    return sqlstate is None or sqlstate.startswith(("08", "57P"))
