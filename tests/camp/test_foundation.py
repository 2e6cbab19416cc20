import re

import pytest
from django.db import DatabaseError, ProgrammingError, connection, transaction
from django.urls import get_resolver, reverse

from camp import audit
from camp.context_processors import SECTION_OF_CALLS_PAGE
from camp.models import AuditEntry
from camp.roles import Role


def test_healthz_answers_without_login(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"


def test_healthz_reports_unreachable_database(client, db, monkeypatch):
    class UnreachableDatabase:
        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr("camp.views.connection", UnreachableDatabase())
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert b"refused" not in response.content


@pytest.mark.parametrize("url", ["/", "/prisoners/"])
def test_pages_require_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_connections_run_without_jit(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_roles_exist_as_groups(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_default_site_is_created(db):
    from camp.models import Site

    assert Site.objects.filter(code="MC", time_zone="Europe/Kyiv").exists()


@pytest.mark.parametrize(
    ("client_fixture", "status"),
    [("guard_client", 403), ("supervisor_client", 403), ("administrator_client", 200)],
)
def test_only_administrators_reach_the_admin(db, request, client_fixture, status):
    response = request.getfixturevalue(client_fixture).get(reverse("admin:index"))
    assert response.status_code == status


def test_user_without_role_is_told_so(no_role_user, client):
    client.force_login(no_role_user)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert b"No role assigned" in response.content


def test_audit_entries_cannot_be_changed_or_deleted(site, supervisor):
    entry = audit.record(actor=supervisor, action="camp.site.checked", target=site, site=site)
    with (
        pytest.raises(ProgrammingError, match="is append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE camp_auditentry SET action = 'x' WHERE id = %s", [entry.pk])
    with (
        pytest.raises(ProgrammingError, match="is append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM camp_auditentry WHERE id = %s", [entry.pk])


def test_audit_history_lists_entries_for_the_object(site, supervisor):
    audit.record(actor=supervisor, action="camp.site.checked", target=site, site=site)
    assert [e.action for e in audit.history_for(site)] == ["camp.site.checked"]
    assert AuditEntry.objects.count() == 1


def marked_sections(html: str) -> list[str]:
    """The navigation links marked as the current section, by their target."""
    return re.findall(r'<a class="nav-link active" aria-current="true" href="([^"]+)"', html)


@pytest.mark.parametrize(
    ("url_name", "section_url"),
    [
        ("reports:frequency", "reports:index"),
        ("calls:booking-list", "calls:booking-list"),
        ("calls:logbook", "calls:logbook"),
        ("prisoners:prisoner-list", "prisoners:prisoner-list"),
    ],
)
def test_the_navigation_marks_the_current_section(supervisor_client, url_name, section_url):
    html = supervisor_client.get(reverse(url_name)).content.decode()
    assert marked_sections(html) == [reverse(section_url)]


def test_every_page_of_the_calls_app_belongs_to_a_section():
    names = {
        pattern.name
        for pattern in get_resolver("calls.urls").url_patterns
        if pattern.name is not None
    }
    assert names == set(SECTION_OF_CALLS_PAGE)
