"""Two sites with one of every object a URL of the project names, built once per test
module, and what requests them: every URL pattern, a client per member of staff, and a
fingerprint of the records that tells whether a request wrote anything.

The scene is built in a transaction held open for the whole module and rolled back at
its end; each test runs in a savepoint inside it (pytest-django's ``db``), so what one
test writes is undone before the next.
"""

import datetime
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.cookies import SimpleCookie
from types import SimpleNamespace

from axes.models import AccessAttempt, AccessLog
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from camp import audit, chain
from camp.roles import Role
from letters.services import amend_letter
from prisoners.models import Contact
from tests.factories import (
    AirRaidAlertFactory,
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LetterFactory,
    LineFactory,
    PrisonerFactory,
    ScheduleWindowFactory,
    SiteFactory,
    UserFactory,
    login_verified,
)

# The records: the logbook, the registry, the mail register, the audit log and the staff
# accounts. Sessions, two-factor devices and log-in attempts are left out on purpose: a
# request notes its session's activity, the enrolment page keeps its pending secret across
# reloads, and a wrong code or password is counted. None of them is a record.
RECORD_APPS = ("camp", "prisoners", "calls", "letters", "auth")
HOUR = datetime.timedelta(hours=1)
ANONYMOUS = "anonymous"
NO_ROLE = "no role"
STAFF_ROLES = (Role.GUARD, Role.SUPERVISOR, Role.ADMINISTRATOR)
# Objects of the scene that belong to no site, so the other site has no copy of them.
SITELESS = frozenset({"group"})


@dataclass(frozen=True)
class Pattern:
    """One URL pattern: its name (``namespace:name``) or, when unnamed, its route."""

    key: str
    route: str
    pattern: URLPattern

    @property
    def named(self) -> bool:
        return self.key != self.route

    @property
    def arguments(self) -> list[str]:
        matcher = self.pattern.pattern
        return list(getattr(matcher, "converters", {})) or list(matcher.regex.groupindex)

    def url(self, **kwargs) -> str:
        """The path with ``kwargs`` filled in; an unnamed route is filled in by hand."""
        if self.named:
            return reverse(self.key, kwargs=kwargs)
        filled = re.sub(
            r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)",
            lambda match: str(kwargs[match.group(1) or match.group(2)]),
            self.route,
        )
        return "/" + filled.strip("^$")


def url_patterns() -> dict[str, Pattern]:
    """Every URL pattern of the project, the admin's included, by name or route."""
    found: dict[str, Pattern] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace
                if namespace and inner:
                    inner = f"{namespace}:{inner}"
                walk(entry, prefix + str(entry.pattern), inner or namespace)
                continue
            route = prefix + str(entry.pattern)
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            found[name or route] = Pattern(key=name or route, route=route, pattern=entry)

    walk(get_resolver(), "", None)
    return found


@cache
def record_tables() -> tuple[str, ...]:
    """The tables of ``RECORD_APPS``, many-to-many ones included."""
    return tuple(
        sorted(
            {
                model._meta.db_table
                for label in RECORD_APPS
                for model in apps.get_app_config(label).get_models(include_auto_created=True)
                if model._meta.managed and not model._meta.proxy
            }
        )
    )


def fingerprint() -> dict[str, str]:
    """An MD5 of all the rows of each record table, by table; one query. It changes when
    a row is written, changed or removed for good (not when a write is rolled back)."""
    digests = ", ".join(
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        f"FROM {connection.ops.quote_name(table)} t)"
        for table in record_tables()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ARRAY[{digests}]")
        (hashes,) = cursor.fetchone()
    return dict(zip(record_tables(), hashes, strict=True))


def write_counts() -> dict[str, int]:
    """Rows inserted, updated or deleted in each record table so far in this transaction,
    also by a statement that was rolled back since; one query on PostgreSQL's own
    statistics, much cheaper than ``fingerprint``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
            "WHERE relname = ANY(%s)",
            [list(record_tables())],
        )
        return dict(cursor.fetchall())


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(table for table in after if before.get(table) != after[table])


# --- The scene ------------------------------------------------------------------------


def _site_scene(site, *, code: str) -> SimpleNamespace:
    """One of everything at ``site``, and one member of staff per role."""
    staff = {
        role: UserFactory(username=f"{code}-{role}", role=role, sites=[site])
        for role in STAFF_ROLES
    }
    clerk = UserFactory(username=f"{code}-clerk", role=Role.SUPERVISOR, sites=[site])
    prisoner = PrisonerFactory(site=site, isn=f"{code}-00001")
    approved = ContactFactory(prisoner=prisoner, requested_by=clerk)
    pending = ContactFactory(
        prisoner=prisoner,
        status=Contact.Status.PENDING,
        decided_by=None,
        decided_at=None,
        requested_by=clerk,
    )
    line = LineFactory(site=site, name=f"{code} line 1")
    busy_line = LineFactory(site=site, name=f"{code} line 2")
    caller = PrisonerFactory(site=site, isn=f"{code}-00002")
    now = timezone.now().replace(second=0, microsecond=0)
    letter = LetterFactory(prisoner=prisoner, recorded_by=clerk)
    letter_amendment = amend_letter(
        letter=letter, changes={"reference": "R-1"}, reason="Typo", actor=clerk
    )
    AccessAttempt.objects.create(
        username=clerk.username, ip_address="10.0.0.1", user_agent="", failures_since_start=1
    )
    return SimpleNamespace(
        site=site,
        staff=staff,
        clerk=clerk,
        prisoner=prisoner,
        contact=pending,
        line=line,
        window=ScheduleWindowFactory(line=line),
        slot=CallSlotFactory(line=line, starts_at=now + 2 * HOUR),
        booking=BookingFactory(
            slot=CallSlotFactory(line=line, starts_at=now + 3 * HOUR),
            prisoner=prisoner,
            booked_by=clerk,
        ),
        # In progress: no end, no outcome.
        call_open=CallFactory(
            line=busy_line,
            prisoner=caller,
            contact=ContactFactory(prisoner=caller, requested_by=clerk),
            started_at=timezone.now() - datetime.timedelta(minutes=5),
            ended_at=None,
            outcome="",
            monitor=clerk,
        ),
        # Flagged for review, monitored by someone else than the guard, days ago.
        call=CallFactory(
            line=line,
            prisoner=prisoner,
            contact=approved,
            flagged=True,
            flag_reason="Spoke of the front line",
            monitor=clerk,
        ),
        alert=AirRaidAlertFactory(site=site, started_by=clerk),
        letter=letter,
        letter_amendment=letter_amendment,
        audit_entry=audit.record(
            actor=clerk, action="camp.scene.built", target=prisoner, site=site
        ),
        totp_device=TOTPDevice.objects.create(user=clerk, name="Phone", confirmed=True),
        static_device=StaticDevice.objects.create(user=clerk, name="Codes", confirmed=True),
        access_attempt=AccessAttempt.objects.get(username=clerk.username),
        access_log=AccessLog.objects.create(
            username=clerk.username, ip_address="10.0.0.1", user_agent=""
        ),
    )


def _session_cookie(user, *, verified: bool) -> str:
    client = Client()
    if verified:
        login_verified(client, user)
    else:
        client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@contextmanager
def scene(django_db_blocker):
    """Build the two sites in a transaction that is rolled back afterwards; yields the
    scene: ``home`` and ``other`` (see ``_site_scene``), ``no_role`` (staff at home
    without a role), ``group`` (a role's group) and the session cookies of everyone by
    ``(place, who)``."""
    fast_hash = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=fast_hash),
        transaction.atomic(),
    ):
        home = _site_scene(SiteFactory(name="North camp", code="NC"), code="NC")
        other = _site_scene(SiteFactory(name="South camp", code="SC"), code="SC")
        no_role = UserFactory(username="NC-norole", sites=[home.site])
        sessions = {("home", NO_ROLE): _session_cookie(no_role, verified=False)}
        for place, part in (("home", home), ("other", other)):
            for role, user in part.staff.items():
                sessions[place, role] = _session_cookie(user, verified=role != Role.GUARD)
        # Chain the scene's row history as its commit would: a request then finds the
        # queue empty, as in production, and a page that prints the chain head (the
        # daily logbook) writes nothing.
        chain.head()
        yield SimpleNamespace(
            home=home,
            other=other,
            no_role=no_role,
            sessions=sessions,
            # One client for all: each new one would load the middleware again, and
            # WhiteNoise reads the whole static tree when it starts.
            client=Client(),
            group=Group.objects.get(name=Role.GUARD),
        )
        transaction.set_rollback(True)
    # Content types looked up meanwhile may name rows that were rolled back.
    ContentType.objects.clear_cache()


def client_as(world, who: str, *, place: str = "home") -> Client:
    """The scene's client, logged in as ``who`` (a role, ``NO_ROLE`` or ``ANONYMOUS``) of
    the ``home`` or ``other`` site, with no other cookie; supervisors and administrators
    passed two-factor log-in."""
    client = world.client
    client.cookies = SimpleCookie()
    if who != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[place, who]
    return client
