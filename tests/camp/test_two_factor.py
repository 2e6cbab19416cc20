"""Two-factor log-in: required for supervisors and administrators, optional for guards."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from camp import two_factor
from camp.models import AuditEntry
from tests.factories import login_verified

PASSWORD = "correct horse battery staple"
SETUP = reverse("two_factor:setup")
VERIFY = reverse("two_factor:verify")


def code_for(device, steps_ahead=0) -> str:
    """The code the user's phone shows now (or ``steps_ahead`` periods later)."""
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{value:0{device.digits}d}"


def wrong_code_for(device) -> str:
    return f"{(int(code_for(device)) + 1) % 10**device.digits:06d}"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def enrolled(user, site) -> list[str]:
    """Enrol ``user`` as the setup page does; returns the recovery codes."""
    device = two_factor.pending_device(user)
    return two_factor.enrol(device=device, token=code_for(device), actor=user, site=site)


@pytest.mark.parametrize("url", [reverse("reports:index"), reverse("calls:logbook")])
def test_supervisor_without_a_phone_is_sent_to_set_up_first(supervisor, url):
    response = logged_in(supervisor).get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?next={url.replace('/', '%2F')}"


def test_administrator_is_sent_to_set_up_too(administrator):
    response = logged_in(administrator).get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(SETUP)


def test_setup_page_draws_the_qr_code_on_the_server_without_style_attributes(supervisor):
    response = logged_in(supervisor).get(SETUP)

    assert response.status_code == 200
    page = response.content.decode()
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "<path" in svg
    assert "style=" not in page
    assert "<script>" not in page
    device = TOTPDevice.objects.get(user=supervisor)
    assert not device.confirmed
    assert response.context["secret"].replace(" ", "") in device.config_url


def test_enrolment_with_the_phone_s_code_lets_the_supervisor_through(supervisor, site):
    client = logged_in(supervisor)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=supervisor)

    response = client.post(SETUP, {"token": code_for(device), "next": reverse("calls:logbook")})

    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    assert all(code in response.content.decode() for code in codes)
    assert b"data-print" in response.content
    device.refresh_from_db()
    assert device.confirmed
    assert sorted(
        StaticToken.objects.filter(device__user=supervisor).values_list("token", flat=True)
    ) == sorted(codes)
    entry = AuditEntry.objects.get(action="camp.two_factor.enrolled")
    assert (entry.actor, entry.target_id, entry.site) == (supervisor, str(device.pk), site)
    assert client.get(reverse("reports:index")).status_code == 200
    assert client.get(reverse("calls:logbook")).status_code == 200


def test_a_wrong_code_does_not_enrol(supervisor):
    client = logged_in(supervisor)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=supervisor)

    response = client.post(SETUP, {"token": wrong_code_for(device)})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("reports:index"))["Location"].startswith(SETUP)


def test_an_enrolled_supervisor_is_asked_for_a_code_at_each_log_in(supervisor, site):
    enrolled(supervisor, site)
    device = TOTPDevice.objects.get(user=supervisor)
    client = logged_in(supervisor)

    response = client.get(reverse("reports:index"))
    assert response["Location"] == f"{VERIFY}?next=%2Freports%2F"
    # The code of the enrolment is used up; the phone's next one is accepted.
    response = client.post(VERIFY, {"token": code_for(device, 1), "next": "/reports/"})

    assert response.status_code == 302
    assert response["Location"] == "/reports/"
    assert client.get(reverse("reports:index")).status_code == 200


def test_a_wrong_code_is_refused_and_the_next_try_must_wait(supervisor):
    device = TOTPDevice.objects.create(user=supervisor, name="Phone", confirmed=True)
    client = logged_in(supervisor)

    response = client.post(VERIFY, {"token": wrong_code_for(device)})
    assert "That code is not right" in response.content.decode()
    response = client.post(VERIFY, {"token": code_for(device)})

    assert "Too many wrong codes" in response.content.decode()
    assert client.get(reverse("reports:index"))["Location"].startswith(VERIFY)


def test_a_recovery_code_works_once(supervisor, site):
    code = enrolled(supervisor, site)[0]
    first, second = logged_in(supervisor), logged_in(supervisor)

    response = first.post(VERIFY, {"token": code.upper(), "next": "/reports/"})
    assert response["Location"] == "/reports/"
    assert first.get(reverse("reports:index")).status_code == 200

    response = second.post(VERIFY, {"token": code})
    assert "That code is not right" in response.content.decode()
    assert second.get(reverse("reports:index")).status_code == 302


def test_verification_does_not_send_anyone_off_site(supervisor):
    device = TOTPDevice.objects.create(user=supervisor, name="Phone", confirmed=True)
    client = logged_in(supervisor)

    response = client.post(VERIFY, {"token": code_for(device), "next": "https://evil.example/"})

    assert response["Location"] == reverse("home")


def test_log_out_and_health_check_need_no_second_factor(supervisor):
    client = logged_in(supervisor)

    assert client.get(reverse("healthz")).status_code == 200
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")


def test_a_guard_reaches_the_desk_without_a_second_factor(guard_client):
    assert guard_client.get(reverse("calls:desk")).status_code == 200
    assert guard_client.get(reverse("calls:logbook")).status_code == 200


def test_a_guard_may_enrol_and_is_then_asked_at_each_log_in(guard, site):
    response = logged_in(guard).get(SETUP)
    assert b"Optional for guards" in response.content
    enrolled(guard, site)
    client = Client()

    response = client.post(reverse("login"), {"username": "guard", "password": PASSWORD})
    assert response.status_code == 302

    assert client.get(reverse("calls:desk"))["Location"].startswith(VERIFY)


def test_verified_sessions_of_the_test_clients(supervisor_client, administrator_client):
    assert supervisor_client.get(reverse("reports:index")).status_code == 200
    assert administrator_client.get(reverse("admin:index")).status_code == 200


def test_an_enrolled_user_sees_their_state_on_the_setup_page(supervisor, site):
    enrolled(supervisor, site)
    client = login_verified(Client(), supervisor)

    response = client.get(SETUP)

    assert b"Two-factor log-in is on" in response.content
    assert response.context["recovery_codes_left"] == two_factor.RECOVERY_CODE_COUNT
