"""Two-factor log-in (TOTP) through django-otp: enrolment, verification and the middleware
that asks for them.

Supervisors and administrators must verify every session with a code from their phone
(or a single-use recovery code); until they have enrolled they can use nothing but the
enrolment page. For guards it is optional: one who enrols is asked at every later log-in
too (a second factor that is never asked for protects nothing), one who has not is never
slowed down: the check costs a guard no query on any page (see ``TwoFactorMiddleware``).
"""

from base64 import b32encode
from urllib.parse import urlencode

import django_otp
import segno
from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from camp import audit
from camp.forms import fields_only_helper
from camp.roles import SUPERVISORS, has_role

RECOVERY_CODE_COUNT = 10
# Set at log-in for a user who has enrolled, so the middleware knows without a query.
ENROLLED_SESSION_KEY = "camp_two_factor_enrolled"
PHONE_DEVICE_NAME = "Phone"
RECOVERY_DEVICE_NAME = "Recovery codes"


class TwoFactorError(Exception):
    """A refused code: wrong, already used, or tried again too soon after wrong ones."""


# --- Services ---------------------------------------------------------------------------


def pending_device(user) -> TOTPDevice:
    """The user's unconfirmed phone device, created on first need; reloading the enrolment
    page keeps the same secret, so a code scanned before still works."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=PHONE_DEVICE_NAME, confirmed=False)
    return device


def _check_allowed(device) -> None:
    allowed, details = device.verify_is_allowed()
    if not allowed:
        locked_until = (details or {}).get("locked_until")
        if locked_until is None:
            raise TwoFactorError(_("This code cannot be checked now. Try again shortly."))
        raise TwoFactorError(
            _("Too many wrong codes. Wait until %(time)s, then enter the current code.")
            % {"time": time_format(timezone.localtime(locked_until), "H:i:s")}
        )


def enrol(*, device: TOTPDevice, token: str, actor, site) -> list[str]:
    """Confirm ``device`` with the first ``token`` from the phone; returns the new recovery
    codes, the only time they are readable outside the database.

    Replaces any earlier phone and recovery codes of the user and writes
    ``camp.two_factor.enrolled``. Raises TwoFactorError for a wrong or throttled code.
    Checking the code is its own transaction: a wrong code must stay counted towards the
    device's throttling although the enrolment is refused.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=actor)
        _check_allowed(device)
        verified = device.verify_token(token)
    if not verified:
        raise TwoFactorError(
            _(
                "That code is not right. Check that the phone's clock is correct and enter "
                "the code it shows now."
            )
        )
    return _confirm(device=device, actor=actor, site=site)


@transaction.atomic
def _confirm(*, device: TOTPDevice, actor, site) -> list[str]:
    TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
    StaticDevice.objects.filter(user=actor).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    recovery = StaticDevice.objects.create(user=actor, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    audit.record(
        actor=actor,
        action="camp.two_factor.enrolled",
        target=device,
        site=site,
        data={"recovery_codes": RECOVERY_CODE_COUNT},
    )
    return codes


def verify(*, user, token: str):
    """The confirmed device of ``user`` that accepts ``token``: a six-digit code goes to
    the phone, anything else is tried as a recovery code, which is then used up.

    Raises TwoFactorError when neither accepts it or the device is throttled (each wrong
    code doubles the wait before the next try: 1, 2, 4 ... seconds). Two queries and a
    row lock on the device.
    """
    model = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
    device = model.objects.devices_for_user(user, confirmed=True).order_by("pk").first()
    if device is None:
        raise TwoFactorError(_("That code is not right."))
    _check_allowed(device)
    verified = django_otp.verify_token(user, device.persistent_id, token)
    if verified is None:
        raise TwoFactorError(
            _(
                "That code is not right. Enter the code your phone shows now, or one of your "
                "recovery codes."
            )
        )
    return verified


# --- Forms ------------------------------------------------------------------------------


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = fields_only_helper()

    def clean_token(self) -> str:
        """The code as stored: no spaces or dashes, lower case (recovery codes)."""
        return "".join(self.cleaned_data["token"].split()).replace("-", "").lower()


# --- Views ------------------------------------------------------------------------------


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("home")


def qr_code_svg(data: str) -> str:
    """``data`` as an inline SVG QR code: no script, no style attribute (the CSP forbids
    them), nothing fetched from elsewhere."""
    code = segno.make(data, error="m")
    return code.svg_inline(scale=5, title=_("QR code"), svgclass="qr-code", lineclass=None)


def _grouped(text: str, size: int = 4) -> str:
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


@never_cache
def setup(request):
    """Enrol a phone: QR code and secret, then the first code confirms it and shows the
    recovery codes once. Someone already enrolled sees their state here instead."""
    user = request.user
    enrolled = TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
    if enrolled and not user.is_verified():
        return redirect(f"{reverse('two_factor:verify')}?{urlencode({'next': _next_url(request)})}")
    if enrolled:
        recovery = StaticDevice.objects.devices_for_user(user, confirmed=True).first()
        left = recovery.token_set.count() if recovery else 0
        return render(request, "two_factor/enrolled.html", {"recovery_codes_left": left})

    device = pending_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = enrol(
                device=device,
                token=form.cleaned_data["token"],
                actor=user,
                site=getattr(request, "site", None),
            )
        except TwoFactorError as error:
            form.add_error("token", str(error))
        else:
            device.refresh_from_db()
            django_otp.login(request, device)
            request.session[ENROLLED_SESSION_KEY] = True
            return render(
                request,
                "two_factor/recovery_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
    return render(
        request,
        "two_factor/setup.html",
        {
            "form": form,
            "qr_code": mark_safe(qr_code_svg(device.config_url)),
            "secret": _grouped(b32encode(device.bin_key).decode()),
            "next": _next_url(request),
            "required": has_role(user, *SUPERVISORS),
        },
    )


@never_cache
def verify_view(request):
    """Ask an enrolled user for the code of their phone or a recovery code."""
    user = request.user
    if user.is_verified():
        return HttpResponseRedirect(_next_url(request))
    if not TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        return redirect(f"{reverse('two_factor:setup')}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = verify(user=user, token=form.cleaned_data["token"])
        except TwoFactorError as error:
            form.add_error("token", str(error))
        else:
            django_otp.login(request, device)
            request.session[ENROLLED_SESSION_KEY] = True
            return HttpResponseRedirect(_next_url(request))
    return render(request, "two_factor/verify.html", {"form": form, "next": _next_url(request)})


# --- Middleware -------------------------------------------------------------------------


class TwoFactorMiddleware:
    """Send a supervisor or administrator, or a guard who enrolled, whose session is not
    verified to the verification page, or to enrolment if they have no phone yet.

    The two-factor pages, log-in and log-out, health checks and static files pass. Goes
    after django_otp's OTPMiddleware. Cost: none for a guard who has not enrolled (a
    session flag set at log-in, the role already cached for the request); for a verified
    session the one query OTPMiddleware makes to load the device.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.user.is_authenticated
            and self._guarded(request.path_info)
            and not request.user.is_verified()
            and self._required(request)
        ):
            return self._redirect(request)
        response = self.get_response(request)
        if request.method == "POST" and request.path_info == reverse("login"):
            self._remember_enrolment(request)
        return response

    @staticmethod
    def _guarded(path: str) -> bool:
        if path.startswith(f"/{settings.STATIC_URL.lstrip('/')}"):
            return False
        free = ("two_factor:setup", "two_factor:verify", "login", "logout", "healthz")
        return path not in {reverse(name) for name in free}

    @staticmethod
    def _required(request) -> bool:
        return request.session.get(ENROLLED_SESSION_KEY, False) or has_role(
            request.user, *SUPERVISORS
        )

    @staticmethod
    def _redirect(request):
        enrolled = TOTPDevice.objects.devices_for_user(request.user, confirmed=True).exists()
        target = reverse("two_factor:verify" if enrolled else "two_factor:setup")
        if request.method in {"GET", "HEAD"}:
            target += f"?{urlencode({'next': request.get_full_path()})}"
        return redirect(target)

    @staticmethod
    def _remember_enrolment(request) -> None:
        """After a successful log-in, note whether this user enrolled: one query per log-in
        instead of one per page."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.session[ENROLLED_SESSION_KEY] = TOTPDevice.objects.devices_for_user(
                user, confirmed=True
            ).exists()


urls = (
    [
        path("setup/", setup, name="setup"),
        path("verify/", verify_view, name="verify"),
    ],
    "two_factor",
)
