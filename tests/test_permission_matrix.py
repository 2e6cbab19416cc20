"""Who may reach every URL of the project, by GET and by POST, and what it answers.

``MATRIX`` names every URL pattern (admin, log-in, two-factor and health check
included); a pattern it lacks, or one it names that no longer exists, fails
``test_matrix_covers_every_url_pattern``. Each pattern is requested as anonymous, as
staff without a role, as guard, supervisor and administrator of the home site, for GET
and for POST (with an empty form), and as staff of the other site of each role allowed:

- anonymous users are sent to a log-in page;
- a role that may not use the page gets 403 (a method the page does not take: 405);
- an object of another site answers 404;
- only a permitted POST may write a record: a GET, and any refused request, leaves
  every record table as it was (``two_sites.fingerprint``).

Adding a URL takes one line: its name (or route, when unnamed) and a ``page``,
``form`` or ``action`` saying who may use it and what it answers.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from camp.roles import Role
from tests import two_sites
from tests.two_sites import ANONYMOUS, NO_ROLE

GUARD, SUPERVISOR, ADMINISTRATOR = Role.GUARD, Role.SUPERVISOR, Role.ADMINISTRATOR
ADMINISTRATORS = frozenset({ADMINISTRATOR})
SUPERVISORS = frozenset({SUPERVISOR, ADMINISTRATOR})
STAFF = frozenset({GUARD, SUPERVISOR, ADMINISTRATOR})
LOGGED_IN = STAFF | {NO_ROLE}
PUBLIC = LOGGED_IN | {ANONYMOUS}
PEOPLE = [ANONYMOUS, NO_ROLE, GUARD, SUPERVISOR, ADMINISTRATOR]
LOG_IN = "log in"


@dataclass(frozen=True)
class Route:
    """Who may use a URL pattern, and what a permitted request answers.

    ``get``/``post``: the people who may send that method, or None when the view does
    not take it (405, checked before the role). ``obj``: the scene object the URL's
    arguments name (``two_sites._site_scene``); ``query``: a query string, its
    ``{name}`` replaced by that scene object's id. ``admin``: the admin's rule, where
    everyone logged in without the administrator role gets 403 whatever the method.
    ``looks_up``: False when the view only forwards to another URL of the object without
    reading it, so another site's object is not its to refuse.
    """

    get: frozenset | None
    post: frozenset | None
    obj: str | None = None
    query: str = ""
    get_status: int | tuple = 200
    post_status: int | tuple = 302
    admin: bool = False
    looks_up: bool = True

    @property
    def public(self) -> bool:
        return ANONYMOUS in (self.get or ()) or ANONYMOUS in (self.post or ())


def page(who, *, obj=None, status=200) -> Route:
    """A page that is only read: GET only."""
    return Route(get=who, post=None, obj=obj, get_status=status)


def form(who, *, obj=None, query="", get=200, post=200) -> Route:
    """A page with a form: GET shows it, POST sends it (an empty one is shown again)."""
    return Route(get=who, post=who, obj=obj, query=query, get_status=get, post_status=post)


def action(who, *, obj=None, status=302) -> Route:
    """A change: POST only."""
    return Route(get=None, post=who, obj=obj, post_status=status)


def admin(get=200, post=200, *, obj=None, looks_up=True) -> Route:
    """An admin page: administrators only; ``get``/``post`` is what they get."""
    return Route(
        get=ADMINISTRATORS,
        post=ADMINISTRATORS,
        obj=obj,
        get_status=get,
        post_status=post,
        admin=True,
        looks_up=looks_up,
    )


def admin_model(
    prefix,
    route,
    *,
    obj,
    changelist=200,
    add=200,
    change=200,
    history=200,
    delete=403,
    hidden=False,
):
    """The pages the admin has for one model; each value is (GET, POST) or one for both.
    ``hidden``: administrators hold no permission on the model, every page is 403. The
    bare object URL redirects to its change page."""
    answers = {
        "changelist": changelist,
        "add": add,
        "change": change,
        "history": history,
        "delete": delete,
    }
    entries = {}
    for page_name, answer in answers.items():
        get, post = (403, 403) if hidden else answer if isinstance(answer, tuple) else (answer,) * 2
        entries[f"admin:{prefix}_{page_name}"] = admin(
            get, post, obj=None if page_name in ("changelist", "add") else obj
        )
    entries[f"admin/{route}/<path:object_id>/"] = admin(302, 302, obj=obj, looks_up=False)
    return entries


NOT_ALLOWED = (403, 403)
READ_ONLY = {"add": NOT_ALLOWED, "change": (200, 403)}

MATRIX: dict[str, Route] = {
    # The camp: start page, health check, log-in, two-factor, language.
    # Each role to its own start page; staff without a role are told so (403).
    "home": form(STAFF, get=302, post=302),
    "healthz": page(PUBLIC),
    "login": form(PUBLIC),
    "logout": action(LOGGED_IN),
    "password_change": form(LOGGED_IN),
    "password_change_done": page(LOGGED_IN),
    "two_factor:setup": form(LOGGED_IN),
    # Not enrolled: on to the enrolment; verified already: on to the start page.
    "two_factor:verify": form(LOGGED_IN, get=302, post=302),
    "language-set": action(PUBLIC),
    "audit-trail": page(ADMINISTRATORS),
    # The registry.
    "prisoners:prisoner-list": page(STAFF),
    "prisoners:prisoner-create": form(SUPERVISORS),
    "prisoners:prisoner-detail": page(STAFF, obj="prisoner"),
    "prisoners:prisoner-edit": form(SUPERVISORS, obj="prisoner"),
    "prisoners:prisoner-status": action(SUPERVISORS, obj="prisoner", status=200),
    "prisoners:contact-add": form(STAFF, obj="prisoner"),
    "prisoners:contact-approve": action(SUPERVISORS, obj="contact"),
    "prisoners:contact-revoke": action(SUPERVISORS, obj="contact", status=200),
    # Letters and cards. A guard amends only what they recorded, on that day.
    "letters:desk": page(STAFF),
    "letters:batch-record": action(STAFF, status=200),
    "letters:letter-step": action(STAFF),
    "letters:prisoner-register": page(STAFF, obj="prisoner"),
    "letters:letter-record": action(STAFF, obj="prisoner", status=200),
    "letters:letter-detail": page(STAFF, obj="letter"),
    "letters:letter-amend": form(SUPERVISORS, obj="letter"),
    "letters:capture-card-overdue": page(STAFF),
    # The desk.
    "calls:desk": page(STAFF),
    "calls:desk-live": page(STAFF),
    "calls:call-start": form(STAFF),
    "calls:call-start (booking)": form(STAFF, query="booking={booking}"),
    "calls:call-end": form(STAFF, obj="call_open"),
    "calls:alert-start": action(STAFF),
    "calls:alert-end": action(STAFF, obj="alert"),
    "calls:booking-no-show": action(STAFF, obj="booking"),
    # The logbook. A guard amends only the calls they monitored, on that day.
    "calls:logbook": page(STAFF),
    "calls:logbook-day-pdf": page(STAFF),
    "calls:call-transcribe": form(STAFF),
    "calls:call-detail": page(STAFF, obj="call"),
    "calls:call-amend": form(SUPERVISORS, obj="call"),
    # Schedule, bookings and suspensions; guards book only when the policy lets them.
    "calls:schedule": page(SUPERVISORS),
    "calls:line-add": action(SUPERVISORS, status=200),
    "calls:line-toggle": action(SUPERVISORS, obj="line"),
    "calls:window-add": action(SUPERVISORS, status=200),
    "calls:window-remove": action(SUPERVISORS, obj="window"),
    "calls:slots-generate": action(SUPERVISORS, status=200),
    "calls:policy-add": form(SUPERVISORS),
    "calls:booking-list": page(SUPERVISORS),
    "calls:slot-book": form(SUPERVISORS, obj="slot"),
    "calls:booking-cancel": action(SUPERVISORS, obj="booking"),
    "calls:suspension-add": form(SUPERVISORS, obj="prisoner"),
    # Review.
    "reports:index": page(SUPERVISORS),
    "reports:flagged": page(SUPERVISORS),
    "reports:flagged-resolve": action(SUPERVISORS, obj="call"),
    "reports:contacts": page(SUPERVISORS),
    "reports:contact-approve": action(SUPERVISORS, obj="contact"),
    "reports:contact-revoke": action(SUPERVISORS, obj="contact"),
    "reports:workload": page(SUPERVISORS),
    "reports:trends": page(SUPERVISORS),
    "reports:without-news": page(SUPERVISORS),
    "reports:without-news-book": action(SUPERVISORS, obj="prisoner"),
    "reports:frequency": page(SUPERVISORS),
    "reports:geneva": page(SUPERVISORS),
    # ICRC exports; an export refused for its filters answers 400.
    "exports:export-create": form(ADMINISTRATORS, post=400),
    "exports:export-list": page(ADMINISTRATORS),
    "exports:export-verify": form(ADMINISTRATORS),
    # The admin. Its log-in form is public; an administrator is sent on to the index.
    "admin:login": form(PUBLIC, get=(200, 302)),
    "admin:index": admin(),
    "admin:logout": admin(405, 302),
    "admin:password_change": admin(),
    "admin:password_change_done": admin(200, 405),
    # No admin page uses autocompletion: it refuses every lookup.
    "admin:autocomplete": admin(403, 405),
    "admin:jsi18n": admin(200, 405),
    # No model links to a page of its own.
    "admin:view_on_site": admin(404, 404, obj="site"),
    "admin:app_list": admin(),
    "admin/(?P<url>.*)$": admin(404, 404),
    **admin_model("auth_group", "auth/group", obj="group", **READ_ONLY),
    # Administrators hold no permission on phones, recovery codes or letters: the admin
    # lists them to no one but superusers.
    "admin:otp_totp_totpdevice_config": admin(403, 403, obj="totp_device"),
    "admin:otp_totp_totpdevice_qrcode": admin(403, 403, obj="totp_device"),
    **admin_model("otp_totp_totpdevice", "otp_totp/totpdevice", obj="totp_device", hidden=True),
    **admin_model(
        "otp_static_staticdevice", "otp_static/staticdevice", obj="static_device", hidden=True
    ),
    **admin_model("camp_site", "camp/site", obj="site"),
    "admin:auth_user_password_change": admin(obj="clerk"),
    **admin_model("camp_user", "camp/user", obj="clerk"),
    # Deleting an attempt lifts the lock-out.
    **admin_model(
        "axes_accessattempt", "axes/accessattempt", obj="access_attempt", delete=200, **READ_ONLY
    ),
    **admin_model("axes_accesslog", "axes/accesslog", obj="access_log", **READ_ONLY),
    **admin_model("letters_letter", "letters/letter", obj="letter", hidden=True),
    **admin_model(
        "letters_letteramendment", "letters/letteramendment", obj="letter_amendment", hidden=True
    ),
}


def pattern_key(key: str) -> str:
    """The URL pattern a matrix entry is about: a second entry for a pattern adds a word
    in brackets, e.g. ``calls:call-start (booking)``."""
    return key.split(" ")[0]


def test_matrix_covers_every_url_pattern():
    patterns = set(two_sites.url_patterns())
    covered = {pattern_key(key) for key in MATRIX}
    assert sorted(patterns - covered) == [], "URL patterns missing from MATRIX"
    assert sorted(covered - patterns) == [], "MATRIX names URL patterns that do not exist"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with two_sites.scene(django_db_blocker) as built:
        yield built


def url_of(world, key: str) -> str:
    """The URL of matrix entry ``key``, naming the objects of the home site."""
    route = MATRIX[key]
    pattern = two_sites.url_patterns()[pattern_key(key)]
    target = None
    if route.obj in two_sites.SITELESS:
        target = getattr(world, route.obj)
    elif route.obj:
        target = getattr(world.home, route.obj)
    values = {
        "pk": getattr(target, "pk", None),
        "id": getattr(target, "pk", None),
        "object_id": getattr(target, "pk", None),
        "content_type_id": target and ContentType.objects.get_for_model(target).pk,
        "app_label": "camp",
        "url": "nothing-here/",
    }
    url = pattern.url(**{name: values[name] for name in pattern.arguments})
    names = re.findall(r"{(\w+)}", route.query)
    if names:
        url += "?" + route.query.format(**{name: getattr(world.home, name).pk for name in names})
    return url


def expected(route: Route, who: str, method: str):
    """What ``who`` gets for ``method``: a status, a tuple of statuses, or ``LOG_IN``."""
    allowed = route.get if method == "get" else route.post
    if who == ANONYMOUS and not route.public:
        return LOG_IN
    if route.admin and who != ADMINISTRATOR:
        return 403
    if allowed is None:
        return 405
    if who not in allowed:
        return 403
    return route.get_status if method == "get" else route.post_status


def send(client, method: str, url: str):
    response = getattr(client, method)(url)
    if response.streaming:
        # Read to the end, which also closes the file or cursor it streams from.
        b"".join(response.streaming_content)
    return response


def assert_answers(response, want) -> None:
    if want == LOG_IN:
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path in {reverse("login"), reverse("admin:login")}
        return
    wanted = want if isinstance(want, tuple) else (want,)
    assert response.status_code in wanted, response.get("Location", "")


CASES = [pytest.param(key, who, id=f"{key} {who}") for key in MATRIX for who in PEOPLE]


@pytest.mark.parametrize(("key", "who"), CASES)
def test_permission_matrix(db, world, key, who):
    route, url = MATRIX[key], url_of(world, key)
    for method in ("get", "post"):
        want = expected(route, who, method)
        before = two_sites.write_counts()
        response = send(two_sites.client_as(world, who), method, url)
        assert_answers(response, want)
        if method == "get" or want in (LOG_IN, 403, 405):
            after = two_sites.write_counts()
            assert two_sites.changed_tables(before, after) == [], f"{method.upper()} {url}"


def _allowed_roles(route: Route) -> set[str]:
    return (set(route.get or ()) | set(route.post or ())) & set(STAFF)


FOREIGN = [
    pytest.param(key, role, id=f"{key} {role}")
    for key, route in MATRIX.items()
    if route.looks_up and ((route.obj and route.obj not in two_sites.SITELESS) or route.query)
    for role in sorted(_allowed_roles(route))
]


@pytest.mark.parametrize(("key", "role"), FOREIGN)
def test_another_sites_staff_do_not_find_the_object(db, world, key, role):
    """Staff of the other site, of a role that may use the page, ask for a home object:
    404 (the admin: its "not found" redirect to the index), and nothing is written."""
    route, url = MATRIX[key], url_of(world, key)
    for method in ("get", "post"):
        allowed = route.get if method == "get" else route.post
        if allowed is None or role not in allowed:
            continue
        before = two_sites.write_counts()
        response = send(two_sites.client_as(world, role, place="other"), method, url)
        if route.admin:
            assert response.status_code in (302, 403, 404)
            if response.status_code == 302:
                assert response["Location"] == reverse("admin:index")
        else:
            assert response.status_code == 404
        assert two_sites.changed_tables(before, two_sites.write_counts()) == []
