"""Log-in throttling glue for django-axes (settings: ``AXES_*``).

Axes counts failed log-ins per username and per client address and refuses both once
``AXES_FAILURE_LIMIT`` is reached; administrators unlock in /admin/ (camp.admin).
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.shortcuts import render


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lock-out check for every log-in through a web request.

    ``authenticate()`` without a request (the test client's ``login()``, a management
    command) has no address to count and no page to lock: it is not throttled, where the
    stock backend would raise.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip_address(request) -> str | None:
    """The address a log-in came from: the peer, or behind the TLS proxy (``BEHIND_PROXY``)
    the last address the proxy appended to X-Forwarded-For; earlier ones are the client's
    word and are ignored, so nobody can pick the address their failures count against."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if addresses := [part.strip() for part in forwarded.split(",") if part.strip()]:
            return addresses[-1]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request, original_response=None, credentials=None):
    """The page shown instead of logging in while the username or address is locked out."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "registration/locked_out.html", context, status=429)
