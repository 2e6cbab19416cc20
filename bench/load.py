"""How many requests a second do 50 staff get through over real HTTP, and is every
acknowledged write kept?

Run: .venv/bin/python bench/load.py [--guards 40] [--supervisors 10] [--requests 3000]
     [--seconds 60] [--workers 2] [--threads 4]

Starts gunicorn (gthread workers, ``DEBUG=0``) on a free loopback port against the
configured database (``DATABASE_URL`` or the embedded server), then simulates the staff
of a load-test site, each in a thread of its own with its own session:

- guards at the desk, each on a line of his own: read the desk, open the start page,
  start an unscheduled call, find it on the desk, end it, read the logbook;
- supervisors, verified by two-factor log-in as ``bench/staff_client.py`` does: read the
  bookings of a day, open a free slot, book a prisoner into it, read the logbook.

It stops after ``--requests`` requests or ``--seconds`` seconds, whichever comes first,
and prints the throughput, the median and 95th-percentile latency of each kind of
request, the errors (any answer but the page or the redirect after a write, and any
refusal), and the lost entries: calls and bookings the application acknowledged with its
redirect but that are not in the database. It then runs ``verify_logbook``. The exit
status is 1 unless there were no errors, no lost entries and the chain is intact.

The database keeps what the run writes, for good: the site "LT" with its lines, staff
and slots (made once, reused), the prisoners of each run and every call and booking, as
logbook entries cannot be deleted. Run it against a database kept for benchmarks.
"""

import argparse
import collections
import datetime
import http.client
import http.cookies
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "camp.settings")

# The server and this script share the settings that sessions depend on (the secret key
# signs a session's user hash, DEBUG decides the cookies' names).
STATIC_ROOT = tempfile.mkdtemp(prefix="camp-load-static-")
os.environ.update(
    {
        "DEBUG": "0",
        "SECRET_KEY": os.urandom(32).hex(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": STATIC_ROOT,
    }
)
for name in ("SECRET_KEY_FILE", "GUNICORN_CMD_ARGS", "DATABASE_REPLICA_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import translation  # noqa: E402

from bench.staff_client import verified_client  # noqa: E402
from calls import services  # noqa: E402
from calls.models import Booking, Call, CallSlot, Line, Outcome  # noqa: E402
from camp import audit  # noqa: E402
from camp.models import Site, User  # noqa: E402
from camp.roles import Role  # noqa: E402
from prisoners import demo as prisoners_demo  # noqa: E402
from prisoners.models import Contact, Prisoner  # noqa: E402
from tests.served import served  # noqa: E402

SITE_CODE = "LT"
# Lines with a weekly schedule, whose slots supervisors book; guards' calls are unscheduled.
BOOKED_LINES = 10
WINDOW = datetime.time(9, 0), datetime.time(17, 0)
REQUEST_TIMEOUT = 60
OUTCOMES = [Outcome.CONNECTED, Outcome.CONNECTED, Outcome.NO_ANSWER, Outcome.BUSY]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CONTACT = re.compile(r'name="contact" value="(\d+)"')
END_LINKS = re.compile(r'href="/desk/calls/(\d+)/end/"(.*?)</a>', re.S)
# How many errors are described in full.
SHOWN_ERRORS = 10


# --- Preparing the site, the staff and their sessions ------------------------------------


def _staff(site: Site, role: str, count: int) -> list[User]:
    group = Group.objects.get(name=role)
    users = []
    for number in range(1, count + 1):
        user, created = User.objects.get_or_create(
            username=f"load-{role}-{number:02d}",
            defaults={"first_name": "Load", "last_name": f"{role.title()} {number:02d}"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(group)
            user.sites.add(site)
        users.append(user)
    return users


def _session_cookie(user: User) -> str:
    """A session of ``user``, made as a log-in makes it; supervisors' passed two-factor."""
    if user.groups.filter(name=Role.GUARD).exists():
        client = Client()
        client.force_login(user)
    else:
        client = verified_client(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _free_slots(site: Site, needed: int, actor: User) -> list[tuple[int, str]]:
    """(id, local day) of ``needed`` free slots from tomorrow on, generating weeks of the
    schedule until there are enough. Tomorrow: a slot booked for now would hold a guard's
    line."""
    first_day = site.today() + datetime.timedelta(days=1)
    free = (
        CallSlot.objects.filter(line__site=site, starts_at__gte=site.day_start(first_day))
        .exclude(bookings__status=Booking.Status.BOOKED)
        .order_by("starts_at", "line__name")
    )
    last_day = first_day
    while free.count() < needed:
        last_day += datetime.timedelta(days=7)
        services.generate_slots(site=site, date_from=first_day, date_to=last_day, actor=actor)
    return [
        (slot.pk, slot.starts_at.astimezone(site.zone).date().isoformat()) for slot in free[:needed]
    ]


def _fresh_prisoners(site: Site, count: int, actor: User) -> list[Prisoner]:
    """``count`` new prisoners (as the demo invents them) who may call: interned, with an
    approved contact. Used once each, so no call rule refuses them."""
    made = prisoners_demo.seed_prisoners(
        site=site, actor=actor, count=count, weeks=1, random=random.Random()
    )
    return list(
        Prisoner.objects.filter(pk__in=[p.pk for p in made], status=Prisoner.Status.INTERNED)
        .filter(pk__in=Contact.objects.approved().values("prisoner_id"))
        .order_by("isn")
    )


@dataclass
class Staff:
    guards: list[tuple[str, Line]]  # (session, line)
    supervisors: list[str]  # sessions
    call_prisoners: collections.deque
    booking_prisoners: collections.deque
    slots: collections.deque  # (slot id, its day)


def prepare(guards: int, supervisors: int, requests: int) -> Staff:
    """The site, its lines and schedule, the staff and their sessions, fresh prisoners and
    free slots: enough for ``requests`` requests (a guard's call takes 7, a booking 4)."""
    with audit.command_context("bench/load.py"), transaction.atomic():
        site, _created = Site.objects.get_or_create(
            code=SITE_CODE, defaults={"name": "Load test camp", "time_zone": "Europe/Kyiv"}
        )
        guard_users = _staff(site, Role.GUARD, guards)
        supervisor_users = _staff(site, Role.SUPERVISOR, supervisors)
        actor = supervisor_users[0]
        lines = []
        for number in range(1, max(guards, BOOKED_LINES) + 1):
            line, created = Line.objects.get_or_create(site=site, name=f"Load line {number:02d}")
            if created and number <= BOOKED_LINES:
                for weekday in range(7):
                    services.add_schedule_window(
                        line=line,
                        weekday=weekday,
                        starts_at=WINDOW[0],
                        ends_at=WINDOW[1],
                        slot_minutes=15,
                        actor=actor,
                    )
            lines.append(line)
        # A run that was interrupted leaves calls in progress, which would hold their lines.
        for call in Call.objects.filter(site=site, ended_at__isnull=True):
            services.end_call(
                call=call,
                outcome=Outcome.ENDED_BY_MONITOR,
                notes="Left in progress by an interrupted load test.",
                actor=actor,
            )
        slots = _free_slots(site, requests // 4, actor)
        # Some invented prisoners are released or have no approved contact: half as many again.
        prisoners = _fresh_prisoners(site, (requests // 4 + requests // 7) * 3 // 2 + 10, actor)
    return Staff(
        guards=[(_session_cookie(user), lines[i]) for i, user in enumerate(guard_users)],
        supervisors=[_session_cookie(user) for user in supervisor_users],
        call_prisoners=collections.deque(prisoners[: requests // 7 + 5]),
        booking_prisoners=collections.deque(prisoners[requests // 7 + 5 :]),
        slots=collections.deque(slots),
    )


# --- The server ------------------------------------------------------------------------


# --- The simulated staff ---------------------------------------------------------------


class Session:
    """One browser behind the TLS proxy: its cookies, one connection per request."""

    def __init__(self, port: int, session_key: str):
        self.port = port
        self.cookies = {settings.SESSION_COOKIE_NAME: session_key} if session_key else {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        """(status, body); status 0 when no HTTP answer came."""
        headers = {"X-Forwarded-Proto": "https", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://127.0.0.1:{self.port}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode()
        except OSError as error:
            return 0, repr(error)
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, text


@dataclass
class Run:
    """What all the simulated staff did, shared between their threads."""

    max_requests: int
    deadline: float
    think: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0
    timings: dict = field(default_factory=lambda: collections.defaultdict(list))
    errors: list = field(default_factory=list)
    # Acknowledged writes: (prisoner id, line id), (call id, outcome, notes), (slot, prisoner).
    started: list = field(default_factory=list)
    ended: list = field(default_factory=list)
    booked: list = field(default_factory=list)

    def over(self) -> bool:
        return self.issued >= self.max_requests or time.monotonic() >= self.deadline

    def send(
        self, session: Session, kind: str, method: str, path: str, form=None, **options
    ) -> str | None:
        """One request, timed, after the think time: its page, or None when it answered
        anything but ``expect`` (an error; 200 unless given) or when the run is over. A
        ``finishing`` request still goes out then: it ends a call in progress."""
        expect, finishing = options.get("expect", 200), options.get("finishing", False)
        with self.lock:
            if self.over() and not finishing:
                return None
            self.issued += 1
        if self.think:
            time.sleep(random.uniform(0, 2 * self.think))
        start = time.perf_counter()
        status, body = session.request(method, path, form)
        elapsed = time.perf_counter() - start
        with self.lock:
            self.timings[kind].append(elapsed)
            if status != expect:
                self.errors.append(f"{kind} {path}: {status} {_gist(body)}")
                return None
        return body


def _gist(body: str) -> str:
    """The error messages of a refused form, or the page's title."""
    found = re.findall(r'class="invalid-feedback[^"]*"[^>]*>(.*?)<', body, re.S)
    found += re.findall(r'class="alert alert-danger[^"]*"[^>]*>(.*?)</div>', body, re.S)
    found = found or re.findall(r"<title>(.*?)</title>", body, re.S)
    return " | ".join(" ".join(re.sub(r"<[^>]+>", " ", text).split()) for text in found)[:300]


def _token(page: str) -> str:
    return TOKEN.search(page)[1]


def guard(run: Run, staff: Staff, session: Session, line: Line) -> None:
    desk_url, logbook_url = reverse("calls:desk"), reverse("calls:logbook")
    while run.send(session, "desk", "GET", desk_url) is not None:
        try:
            prisoner = staff.call_prisoners.popleft()
        except IndexError:
            return
        query = urllib.parse.urlencode({"line": line.pk, "prisoner": prisoner.isn})
        start_url = f"{reverse('calls:call-start')}?{query}"
        if (page := run.send(session, "start page", "GET", start_url)) is None:
            return
        form = {"csrfmiddlewaretoken": _token(page), "contact": CONTACT.search(page)[1]}
        if run.send(session, "start call", "POST", start_url, form, expect=302) is None:
            return
        with run.lock:
            run.started.append((prisoner.pk, line.pk))
        if (desk := run.send(session, "desk", "GET", desk_url, finishing=True)) is None:
            return
        call_id = next((int(m[1]) for m in END_LINKS.finditer(desk) if line.name in m[2]), None)
        if call_id is None:
            with run.lock:
                run.errors.append(f"the call started on {line.name} is not on the desk")
            return
        end_url = reverse("calls:call-end", args=[call_id])
        if (page := run.send(session, "end page", "GET", end_url, finishing=True)) is None:
            return
        outcome, notes = random.choice(OUTCOMES), f"Load test, call {call_id}"
        form = {"csrfmiddlewaretoken": _token(page), "outcome": outcome, "notes": notes}
        if run.send(session, "end call", "POST", end_url, form, expect=302, finishing=True) is None:
            return
        with run.lock:
            run.ended.append((call_id, outcome, notes))
        if run.send(session, "logbook", "GET", logbook_url) is None:
            return


def supervisor(run: Run, staff: Staff, session: Session) -> None:
    logbook_url = reverse("calls:logbook")
    while not run.over():
        try:
            (slot_id, day), prisoner = staff.slots.popleft(), staff.booking_prisoners.popleft()
        except IndexError:
            return
        list_url = f"{reverse('calls:booking-list')}?day={day}"
        if run.send(session, "booking list", "GET", list_url) is None:
            return
        book_url = reverse("calls:slot-book", args=[slot_id])
        if (page := run.send(session, "booking page", "GET", book_url)) is None:
            return
        form = {"csrfmiddlewaretoken": _token(page), "isn": prisoner.isn}
        if run.send(session, "book slot", "POST", book_url, form, expect=302) is None:
            return
        with run.lock:
            run.booked.append((slot_id, prisoner.pk))
        if run.send(session, "logbook", "GET", logbook_url) is None:
            return


# --- What the database kept ------------------------------------------------------------


def lost_entries(run: Run) -> int:
    """Acknowledged writes missing from the database: a few queries in all."""
    calls = set(
        Call.objects.values_list("prisoner_id", "line_id").filter(
            prisoner_id__in=[prisoner for prisoner, _line in run.started]
        )
    )
    lost = sum(1 for started in run.started if started not in calls)
    ended = {
        (pk, outcome, notes)
        for pk, outcome, notes in Call.objects.filter(
            pk__in=[pk for pk, _outcome, _notes in run.ended], ended_at__isnull=False
        ).values_list("pk", "outcome", "notes")
    }
    lost += sum(1 for end in run.ended if end not in ended)
    booked = set(
        Booking.objects.filter(
            slot_id__in=[slot for slot, _prisoner in run.booked], status=Booking.Status.BOOKED
        ).values_list("slot_id", "prisoner_id")
    )
    return lost + sum(1 for booking in run.booked if booking not in booked)


def verify_chain() -> bool:
    try:
        with translation.override("en"):
            call_command("verify_logbook")
    except CommandError as error:
        print(f"verify_logbook: {error}")
        return False
    return True


def percentile(values: list[float], fraction: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def report(run: Run, elapsed: float) -> None:
    total = sum(len(values) for values in run.timings.values())
    print(f"{total:,} requests in {elapsed:.1f} s: {total / elapsed:.1f} requests/s")
    print(f"{'request':<16}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}")
    for kind, values in run.timings.items():
        p50 = statistics.median(values) * 1000
        p95 = (percentile(values, 0.95) if len(values) > 1 else values[0]) * 1000
        print(f"{kind:<16}{len(values):>7}{p50:>9.1f}{p95:>9.1f}")
    print(f"errors: {len(run.errors)}")
    for error in run.errors[:SHOWN_ERRORS]:
        print(f"  {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guards", type=int, default=40)
    parser.add_argument("--supervisors", type=int, default=10)
    parser.add_argument("--requests", type=int, default=3000, help="at most this many")
    parser.add_argument("--seconds", type=float, default=60, help="at most this long")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument(
        "--think",
        type=float,
        default=0,
        help="mean seconds a person waits before each request (default 0: as fast as served)",
    )
    args = parser.parse_args()
    if args.guards < 1 or args.supervisors < 1 or args.requests < 1 or args.seconds <= 0:
        parser.error("--guards, --supervisors, --requests and --seconds must be positive")

    staff = prepare(args.guards, args.supervisors, args.requests)
    call_command("collectstatic", "--noinput", verbosity=0)
    options = [
        f"--workers={args.workers}",
        f"--threads={args.threads}",
        "--worker-class=gthread",
        f"--timeout={REQUEST_TIMEOUT}",
    ]
    log_path = Path(STATIC_ROOT) / "gunicorn.log"
    with served(env=None, log_path=log_path, options=options, wait=60) as (base_url, _server):
        port = urllib.parse.urlsplit(base_url).port
        print(
            f"{args.guards} guards and {args.supervisors} supervisors against gunicorn "
            f"({args.workers} workers x {args.threads} threads), at most {args.requests:,} "
            f"requests or {args.seconds:g} s"
        )
        run = Run(
            max_requests=args.requests, deadline=time.monotonic() + args.seconds, think=args.think
        )
        threads = [
            threading.Thread(target=guard, args=(run, staff, Session(port, key), line))
            for key, line in staff.guards
        ] + [
            threading.Thread(target=supervisor, args=(run, staff, Session(port, key)))
            for key in staff.supervisors
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    report(run, elapsed)
    lost = lost_entries(run)
    print(
        f"acknowledged: {len(run.started)} calls started, {len(run.ended)} ended, "
        f"{len(run.booked)} slots booked; lost: {lost}"
    )
    intact = verify_chain()
    met = not run.errors and lost == 0 and intact
    print("goals (no errors, nothing lost, chain intact):", "met" if met else "MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
