"""Who may reach which registry page: every URL, every role, and another site's objects."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import login_verified

ANYONE_ON_STAFF = {"guard", "supervisor", "administrator"}
SUPERVISORS = {"supervisor", "administrator"}

# (URL name, object it is about, method, roles allowed)
ROUTES = [
    ("prisoners:prisoner-list", None, "get", ANYONE_ON_STAFF),
    ("prisoners:prisoner-create", None, "get", SUPERVISORS),
    ("prisoners:prisoner-create", None, "post", SUPERVISORS),
    ("prisoners:prisoner-detail", "prisoner", "get", ANYONE_ON_STAFF),
    ("prisoners:prisoner-edit", "prisoner", "get", SUPERVISORS),
    ("prisoners:prisoner-edit", "prisoner", "post", SUPERVISORS),
    ("prisoners:prisoner-status", "prisoner", "post", SUPERVISORS),
    ("prisoners:contact-add", "prisoner", "get", ANYONE_ON_STAFF),
    ("prisoners:contact-add", "prisoner", "post", ANYONE_ON_STAFF),
    ("prisoners:contact-approve", "contact", "post", SUPERVISORS),
    ("prisoners:contact-revoke", "contact", "post", SUPERVISORS),
]
ROUTE_IDS = [f"{method.upper()} {name.split(':')[1]}" for name, _, method, _ in ROUTES]
PEOPLE = ["anonymous", "no_role_user", "guard", "supervisor", "administrator"]


def client_for(request, who):
    client = request.getfixturevalue("client")
    if who in {"supervisor", "administrator"}:
        login_verified(client, request.getfixturevalue(who))
    elif who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    return client


def url_for(name, target, objects):
    if target is None:
        return reverse(name)
    return reverse(name, args=[objects[target].pk])


@pytest.mark.parametrize(("name", "target", "method", "allowed"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("who", PEOPLE)
def test_permission_matrix(request, prisoner, pending_contact, who, name, target, method, allowed):
    client = client_for(request, who)
    url = url_for(name, target, {"prisoner": prisoner, "contact": pending_contact})
    response = getattr(client, method)(url)
    if who == "anonymous":
        assert response.status_code == 302
        assert response.url.startswith(reverse(settings.LOGIN_URL))
    elif who in allowed:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403


# Every role that may use a page about an object, with that object at another site.
INVISIBLE = [
    pytest.param(who, name, target, method, id=f"{who} {route_id}")
    for (name, target, method, allowed), route_id in zip(ROUTES, ROUTE_IDS, strict=True)
    if target is not None
    for who in sorted(allowed)
]


@pytest.mark.parametrize(("who", "name", "target", "method"), INVISIBLE)
def test_another_sites_objects_are_not_found(
    request, other_prisoner, other_contact, snapshot, who, name, target, method
):
    client = client_for(request, who)
    url = url_for(name, target, {"prisoner": other_prisoner, "contact": other_contact})
    before = snapshot()
    response = getattr(client, method)(url, {"reason": "x", "status": "released"})
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "name", ["prisoners:prisoner-detail", "prisoners:prisoner-edit", "prisoners:contact-add"]
)
def test_staff_of_site_b_cannot_open_site_a_pages(client, other_site_supervisor, prisoner, name):
    login_verified(client, other_site_supervisor)
    assert client.get(reverse(name, args=[prisoner.pk])).status_code == 404
    listing = client.get(reverse("prisoners:prisoner-list"))
    assert prisoner.isn not in listing.content.decode()
