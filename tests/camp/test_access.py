"""Trust: log-in throttling, passwords, sessions, headers, admin isolation, error pages."""

import logging
import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from camp import settings as project_settings
from camp.management.commands.seed_demo import DEMO_ACCOUNTS
from camp.middleware import NulByteMiddleware, SessionTimeoutMiddleware
from camp.models import AuditEntry, User
from camp.roles import Role
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def _log_in(client, username, password, address="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- Passwords ----------------------------------------------------------------------


def test_passwords_are_hashed_with_argon2_first():
    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.parametrize("password", ["short-pass1", "password1234", "123456789012"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_demo_passwords_are_long_enough():
    for _username, _role, password, _first, _last in DEMO_ACCOUNTS:
        validate_password(password)


# --- Throttling ---------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_username_out(client, guard):
    for _ in range(4):
        assert _log_in(client, "guard", "wrong password!").status_code == 200
    # The fifth failure locks; the right password is then refused too.
    assert _log_in(client, "guard", "wrong password!").status_code == 429
    response = _log_in(client, "guard", PASSWORD)
    assert response.status_code == 429
    assert b"Log-in locked" in response.content
    assert b"30 minutes" in response.content
    assert not _logged_in(client)
    # Another address does not help: the username itself is locked.
    assert _log_in(Client(), "guard", PASSWORD, address="10.0.0.2").status_code == 429


def test_five_failures_from_one_address_lock_the_address_out(client, guard):
    for number in range(5):
        _log_in(client, f"nobody{number}", "wrong password!")
    assert _log_in(client, "guard", PASSWORD).status_code == 429
    other = Client()
    _log_in(other, "guard", PASSWORD, address="10.0.0.9")
    assert _logged_in(other)


def test_a_success_resets_the_count(client, guard):
    for _ in range(4):
        _log_in(client, "guard", "wrong password!")
    _log_in(client, "guard", PASSWORD)
    assert _logged_in(client)
    client.logout()
    for _ in range(4):
        _log_in(client, "guard", "wrong password!")
    _log_in(client, "guard", PASSWORD)
    assert _logged_in(client)


def test_administrator_unlocks_a_locked_username(client, guard, administrator_client):
    for _ in range(5):
        _log_in(client, "guard", "wrong password!")
    changelist = reverse("admin:axes_accessattempt_changelist")
    response = administrator_client.get(changelist)
    assert response.status_code == 200
    assert b"guard" in response.content
    attempt_pk = response.context["cl"].result_list[0].pk
    response = administrator_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt_pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    _log_in(client, "guard", PASSWORD)
    assert _logged_in(client)


@pytest.mark.parametrize("client_fixture", ["guard_client", "supervisor_client"])
def test_only_administrators_see_lockouts(request, client_fixture):
    client = request.getfixturevalue(client_fixture)
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 403


def test_administrator_sees_no_lockouts_of_another_sites_staff(
    client, other_site, administrator_client
):
    UserFactory(username="south", role=Role.GUARD, sites=[other_site])
    for _ in range(5):
        _log_in(client, "south", "wrong password!")
    response = administrator_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert list(response.context["cl"].result_list) == []


# --- Password reset -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/x/y/"]
)
def test_password_reset_pages_do_not_exist(client, db, url):
    assert client.get(url).status_code == 404


def test_login_page_says_who_resets_passwords(client, db):
    assert b"Ask an administrator" in client.get(reverse("login")).content


def test_password_change_stays(guard_client):
    assert guard_client.get(reverse("password_change")).status_code == 200


# --- Headers ------------------------------------------------------------------------


def test_pages_send_a_strict_content_security_policy(client, db):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy


def test_templates_have_no_inline_script_or_style():
    for path in (project_settings.BASE_DIR / "templates").rglob("*.html"):
        text = path.read_text()
        assert "style=" not in text and "<style" not in text, path
        assert "<script>" not in text and "<script " not in text.replace("<script src", ""), path


def test_authenticated_pages_are_not_stored(guard_client):
    response = guard_client.get(reverse("calls:desk"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_static_files_may_be_cached(guard_client):
    response = guard_client.get("/static/img/favicon.svg")
    response.close()
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_production_settings_are_strict(monkeypatch):
    import importlib

    monkeypatch.setenv("DEBUG", "0")
    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    production = importlib.reload(project_settings)
    try:
        assert production.SESSION_COOKIE_NAME.startswith("__Host-")
        assert production.CSRF_COOKIE_NAME.startswith("__Host-")
        assert production.SECURE_HSTS_SECONDS >= 365 * 24 * 60 * 60
        assert production.SECURE_SSL_REDIRECT
        assert production.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    finally:
        monkeypatch.delenv("DEBUG")
        importlib.reload(project_settings)


# --- Sessions -----------------------------------------------------------------------


def _age_session(client, *, started=0, seen=0):
    session = client.session
    now = int(time.time())
    session[SessionTimeoutMiddleware.STARTED] = now - started
    session[SessionTimeoutMiddleware.SEEN] = now - seen
    session.save()


def test_supervisor_is_logged_out_after_30_idle_minutes(supervisor_client):
    _age_session(supervisor_client, started=31 * 60, seen=31 * 60)
    response = supervisor_client.get(reverse("reports:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_guard_is_logged_out_after_30_idle_minutes_too(guard_client):
    _age_session(guard_client, started=31 * 60, seen=31 * 60)
    response = guard_client.get(reverse("calls:desk"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_session_counts_from_log_in(guard_client):
    session = guard_client.session
    assert session[SessionTimeoutMiddleware.STARTED] == session[SessionTimeoutMiddleware.SEEN]
    assert time.time() - session[SessionTimeoutMiddleware.STARTED] < 5


def test_every_session_ends_after_a_shift(guard_client):
    _age_session(guard_client, started=12 * 60 * 60 + 1, seen=60)
    response = guard_client.get(reverse("calls:desk"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_activity_keeps_a_supervisor_logged_in(supervisor_client):
    _age_session(supervisor_client, started=2 * 60 * 60, seen=29 * 60)
    assert supervisor_client.get(reverse("reports:index")).status_code == 200
    assert time.time() - supervisor_client.session[SessionTimeoutMiddleware.SEEN] < 5


def test_deactivating_a_member_of_staff_ends_their_sessions(guard_client):
    """The next request of a deactivated user is anonymous, whatever their session."""
    assert guard_client.get(reverse("calls:desk")).status_code == 200
    user = User.objects.get(pk=guard_client.session["_auth_user_id"])
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = guard_client.get(reverse("calls:desk"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- Passwords set by an administrator ------------------------------------------------


NEW_PASSWORD = "a river of tea at dawn"


def test_a_password_set_by_an_administrator_must_be_changed_at_next_login(
    administrator_client, guard, client
):
    response = administrator_client.post(
        reverse("admin:auth_user_password_change", args=[guard.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    guard.refresh_from_db()
    assert guard.must_change_password
    assert AuditEntry.objects.filter(
        action="camp.staff.password_set", target_id=str(guard.pk)
    ).exists()

    assert (
        client.post(
            reverse("login"), {"username": guard.username, "password": NEW_PASSWORD}
        ).status_code
        == 302
    )
    for url in (reverse("calls:desk"), reverse("prisoners:prisoner-list")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == reverse("password_change")
    page = client.get(reverse("password_change"), follow=True)
    assert "Choose a password of your own" in page.content.decode()

    own = "my own words for the desk"
    response = client.post(
        reverse("password_change"),
        {"old_password": NEW_PASSWORD, "new_password1": own, "new_password2": own},
    )
    assert response.status_code == 302
    guard.refresh_from_db()
    assert not guard.must_change_password
    assert guard.check_password(own)
    assert client.get(reverse("calls:desk")).status_code == 200


def test_an_account_an_administrator_creates_must_change_its_password(administrator_client):
    response = administrator_client.post(
        reverse("admin:camp_user_add"),
        {
            "username": "newguard",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="newguard").must_change_password


def test_changing_ones_own_password_asks_nothing_more(guard_client, guard):
    own = "my own words for the desk"
    response = guard_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": own, "new_password2": own},
    )
    assert response.status_code == 302
    guard.refresh_from_db()
    assert not guard.must_change_password


# --- Admin isolation ----------------------------------------------------------------


@pytest.fixture
def south_guard(other_site):
    return UserFactory(username="south", role=Role.GUARD, sites=[other_site])


def test_administrator_sees_only_staff_of_their_sites(administrator_client, guard, south_guard):
    response = administrator_client.get(reverse("admin:camp_user_changelist"))
    shown = {user.username for user in response.context["cl"].result_list}
    assert "guard" in shown and "south" not in shown
    for name in ("admin:camp_user_change", "admin:auth_user_password_change"):
        url = reverse(name, args=[south_guard.pk])
        response = administrator_client.get(url)
        assert response.status_code in (302, 404)
        assert b"south" not in response.content


def test_administrator_cannot_change_another_sites_staff(administrator_client, south_guard):
    url = reverse("admin:camp_user_change", args=[south_guard.pk])
    administrator_client.post(url, {"username": "renamed", "sites": []})
    south_guard.refresh_from_db()
    assert south_guard.username == "south"


def test_saving_shared_staff_keeps_their_other_sites(administrator_client, site, other_site):
    shared = UserFactory(username="shared", role=Role.GUARD, sites=[site, other_site])
    url = reverse("admin:camp_user_change", args=[shared.pk])
    form = administrator_client.get(url).context["adminform"].form
    assert set(form.fields["sites"].queryset) == {site}
    data = {
        "username": "shared",
        "first_name": "Renamed",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "groups": [g.pk for g in shared.groups.all()],
        "sites": [site.pk],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = administrator_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    shared.refresh_from_db()
    assert shared.first_name == "Renamed"
    assert set(shared.sites.all()) == {site, other_site}


def test_administrator_sees_only_their_sites(administrator_client, site, other_site):
    response = administrator_client.get(reverse("admin:camp_site_changelist"))
    assert list(response.context["cl"].result_list) == [site]
    url = reverse("admin:camp_site_change", args=[other_site.pk])
    assert administrator_client.get(url).status_code in (302, 404)


def test_superuser_sees_every_site(client, site, other_site):
    root = UserFactory(username="root", is_superuser=True, sites=[])
    client.force_login(root)
    from tests.factories import login_verified

    client = login_verified(client, root)
    response = client.get(reverse("admin:camp_site_changelist"))
    assert set(response.context["cl"].result_list) >= {site, other_site}


# --- Errors -------------------------------------------------------------------------


def test_nul_byte_in_an_admin_list_filter_is_refused_not_a_server_error(administrator_client):
    url = f"{reverse('admin:axes_accessattempt_changelist')}?username=a%00b"
    response = administrator_client.get(url)
    assert response.status_code == 400
    assert b"NUL" in response.content


@pytest.mark.parametrize(
    "url_name",
    ["prisoners:prisoner-list", "letters:desk", "calls:logbook", "calls:desk"],
)
def test_nul_byte_in_an_app_list_filter_is_not_a_server_error(guard_client, url_name):
    url = reverse(url_name)
    response = guard_client.get(url, {"q": "a\x00b", "status": "\x00", "prisoner": "\x00"})
    assert response.status_code in (200, 400)


def test_a_nul_byte_in_an_admin_search_is_not_a_server_error(administrator_client):
    response = administrator_client.get(reverse("admin:camp_user_changelist"), {"q": "a\x00b"})
    assert response.status_code in (200, 400)


def test_other_data_errors_stay_server_errors(rf):
    from django.db import DataError

    middleware = NulByteMiddleware(lambda request: None)
    request = rf.get("/")
    nul = DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    assert middleware.process_exception(request, nul).status_code == 400
    assert middleware.process_exception(request, DataError("value too long")) is None


def test_database_outage_answers_503_logged_once(monkeypatch, guard, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(guard)

    def unreachable(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    # The first query of a request, from a middleware, before any view.
    monkeypatch.setattr("camp.middleware.SiteTimezoneMiddleware.__call__", unreachable)
    with caplog.at_level(logging.ERROR):
        response = client.get("/prisoners/")
    assert response.status_code == 503
    assert b"database is unreachable" in response.content
    assert b"last action may not have been saved" in response.content
    assert b"refused" not in response.content
    assert len([r for r in caplog.records if r.exc_info]) == 1


def test_server_error_answers_the_custom_500_page(monkeypatch, guard, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(guard)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("camp.middleware.SiteTimezoneMiddleware.__call__", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get("/prisoners/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"boom" not in response.content
    assert len([r for r in caplog.records if r.exc_info]) == 1


def test_error_pages_render_without_the_database(db, django_assert_num_queries):
    from django.template.loader import render_to_string

    with django_assert_num_queries(0):
        assert "Something went wrong" in render_to_string("500.html")
        assert "database is unreachable" in render_to_string("503.html")
