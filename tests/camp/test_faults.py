"""Faults: PostgreSQL restarts while a guard starts and ends calls over HTTP.

The application runs as in production (gunicorn, ``DEBUG=0``, persistent connections with
health checks) against a PostgreSQL server of its own, started for this test from the
newest PostgreSQL installed (the pgserver wheel's or the system's), so that it can be
stopped and started again without touching the server the rest of the suite uses.
"""

import dataclasses
import datetime
import http.cookiejar
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.management.utils import get_random_secret_key
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from camp import backups
from tests.served import served

ROOT = django_settings.BASE_DIR
PASSWORD = "correct horse battery staple"
SITE_CODE = "FT"
PRISONERS = 4
# Seconds: one request, a PostgreSQL command, a wait for the traffic to show something.
REQUEST_TIMEOUT = 10
SERVER_TIMEOUT = 60
WAIT = 60
PROGRAMS = ("initdb", "pg_ctl")
# PostgreSQL refuses to run as root; the embedded server (pgserver) uses this account then.
SERVER_USER = "pgserver"


def _bin_dir() -> Path | None:
    """The folder of the newest PostgreSQL server found, with the programs to run it."""
    try:
        folder = backups.newest_program("postgres").path.parent
    except backups.BackupError:
        return None
    return folder if all(os.access(folder / name, os.X_OK) for name in PROGRAMS) else None


def _unprivileged_user() -> pwd.struct_passwd:
    """The account the embedded server also runs as when started by root."""
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", SERVER_USER], check=True, timeout=30)
        return pwd.getpwnam(SERVER_USER)


class PrivatePostgres:
    """A PostgreSQL server in a temporary folder, on a free loopback port, trust
    authentication, no Unix socket. As root it runs as the unprivileged user the embedded
    server uses (PostgreSQL refuses to run as root)."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="camp-faults-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.user = None
        if os.geteuid() == 0:
            account = _unprivileged_user()
            self.user = account.pw_name
            os.chown(self.folder, account.pw_uid, account.pw_gid)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [self.bin_dir / program, *args],
            user=self.user,
            capture_output=True,
            text=True,
            # pg_ctl waits up to 60 seconds for the server, then says why.
            timeout=SERVER_TIMEOUT + 30,
            check=False,
        )
        log = self.log.read_text() if self.log.exists() else ""
        assert result.returncode == 0, f"{program} {args}:\n{result.stdout}{result.stderr}{log}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "stop")

    def restart(self) -> None:
        """Stop (closing every connection) and start again, as ``pg_ctl restart`` does."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "restart")

    def connect(self, database: str) -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.folder)


@pytest.fixture
def postgres():
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("No PostgreSQL server programs (postgres, initdb, pg_ctl) are installed.")
    server = PrivatePostgres(bin_dir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


def seed() -> None:
    """Run by ``manage.py shell`` against the private server: a site with one line, a
    guard who reads English, and prisoners with an approved contact each."""
    from calls.models import Line
    from camp.roles import Role
    from tests.factories import ContactFactory, PrisonerFactory, SiteFactory, UserFactory

    site = SiteFactory(name="Fault camp", code=SITE_CODE)
    UserFactory(username="guard", role=Role.GUARD, sites=[site], language="en")
    Line.objects.create(site=site, name="Line 1")
    for number in range(PRISONERS):
        ContactFactory(prisoner=PrisonerFactory(site=site, isn=f"FT-{number:05d}"))


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"


@pytest.fixture
def app(postgres, tmp_path):
    """gunicorn serving the private server's database as in production. Yields the base
    URL and the gunicorn process, which is always terminated.

    One worker process: every request meets the same persistent database connection, so
    a restart between two requests certainly leaves it stale."""
    with postgres.connect("postgres") as conn:
        conn.execute("CREATE DATABASE camp")
    inherited = {"SECRET_KEY_FILE", "GUNICORN_CMD_ARGS", "DATABASE_REPLICA_URL", "CONN_MAX_AGE"}
    env = {key: value for key, value in os.environ.items() if key not in inherited}
    env |= {
        "DATABASE_URL": postgres.url("camp"),
        "DEBUG": "0",
        "SECRET_KEY": get_random_secret_key(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
    }
    _manage(env, "migrate", "--noinput", "--verbosity=0")
    _manage(env, "collectstatic", "--noinput", "--verbosity=0")
    _manage(env, "shell", "--command=from tests.camp.test_faults import seed; seed()")

    with served(
        env=env,
        log_path=tmp_path / "gunicorn.log",
        options=["--workers=1", f"--timeout={REQUEST_TIMEOUT * 3}"],
        wait=WAIT,
    ) as (base_url, server):
        yield base_url, server


@dataclasses.dataclass(frozen=True)
class Response:
    sent: float  # time.monotonic() when the request went out
    status: int  # 0: no HTTP answer at all
    body: str
    location: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class _BehindTheProxy(urllib.request.BaseHandler):
    """What the TLS proxy in front adds: the scheme the browser spoke, and the Origin a
    browser sends with a form (checked by CSRF over HTTPS)."""

    def http_request(self, request):
        request.add_unredirected_header("X-Forwarded-Proto", "https")
        if request.data is not None:
            request.add_unredirected_header("Origin", f"https://{request.host}")
        return request


class Browser:
    """A browser behind the production proxy that shows each answer as it comes,
    redirects included."""

    TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

    def __init__(self, base_url: str):
        self.base_url = base_url
        # The cookies are Secure with DEBUG=0; TLS ends at the proxy.
        policy = http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(policy)),
            _NoRedirects(),
            _BehindTheProxy(),
        )

    def _open(self, path: str, data: bytes | None) -> Response:
        sent = time.monotonic()
        try:
            with self.opener.open(f"{self.base_url}{path}", data, REQUEST_TIMEOUT) as answer:
                return Response(sent, answer.status, answer.read().decode())
        except urllib.error.HTTPError as error:
            body, location = error.read().decode(), error.headers.get("Location", "")
            return Response(sent, error.code, body, location)
        except OSError as error:  # Refused, reset, timed out: the app did not answer.
            return Response(sent, 0, repr(error))

    def get(self, path: str) -> Response:
        return self._open(path, None)

    def post(self, path: str, form: dict[str, str], page: Response) -> Response:
        """Submit ``form`` from ``page``, a 200 page holding the CSRF token."""
        token = self.TOKEN.search(page.body)
        assert token, page.body
        data = {"csrfmiddlewaretoken": token[1], **form}
        return self._open(path, urllib.parse.urlencode(data).encode())

    def log_in(self, username: str) -> None:
        page = self.get(reverse("login"))
        assert page.status == 200, page
        answer = self.post(reverse("login"), {"username": username, "password": PASSWORD}, page)
        assert answer.status == 302, answer


def outage_texts() -> set[str]:
    """The heading of the 503 page in each language: it shows before anyone's language
    can be read from the database."""
    texts = set()
    for code, _name in django_settings.LANGUAGES:
        with translation.override(code):
            texts.add(gettext("The database is unreachable"))
    return texts


@dataclasses.dataclass
class Desk:
    """A guard at the desk, over and over: end the call in progress, else start one.

    Every answer is one of: the page (200), the redirect after a write (302, the write is
    acknowledged), the 503 page. Anything else is kept in ``unexpected``.
    """

    browser: Browser
    line_id: int
    isns: list[str]
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)
    # (ISN, sent at, acknowledged at) of each start the app acknowledged.
    starts: list[tuple[str, datetime.datetime, datetime.datetime]] = dataclasses.field(
        default_factory=list
    )
    # (call id, notes) of each end the app acknowledged.
    ends: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    statuses: Counter = dataclasses.field(default_factory=Counter)
    # When each request answered by the 503 page went out (time.monotonic()).
    outage_pages: list[float] = dataclasses.field(default_factory=list)
    unexpected: list[str] = dataclasses.field(default_factory=list)

    END_LINK = re.compile(r'href="/desk/calls/(\d+)/end/"')

    def _answered(self, what: str, response: Response, *expected: int) -> bool:
        """Count the answer; True when it is one of ``expected``."""
        self.statuses[response.status] += 1
        if response.status == 503:
            if any(text in response.body for text in outage_texts()):
                self.outage_pages.append(response.sent)
            else:
                self.unexpected.append(f"{what}: 503 without the outage page")
            return False
        if response.status not in expected:
            self.unexpected.append(f"{what}: {response.status} {response.body[:2000]}")
            return False
        return True

    def run(self) -> None:
        turn = 0
        while not self.stop.is_set():
            try:
                self._turn(self.isns[turn % len(self.isns)])
            except Exception as error:  # A failure of the test's own code, reported.
                self.unexpected.append(repr(error))
                return
            turn += 1

    def _turn(self, isn: str) -> None:
        desk = self.browser.get(reverse("calls:desk"))
        if not self._answered("desk", desk, 200):
            return
        if in_progress := self.END_LINK.search(desk.body):
            self._end(int(in_progress[1]))
        else:
            self._start(isn)

    def _start(self, isn: str) -> None:
        query = urllib.parse.urlencode({"line": self.line_id, "prisoner": isn})
        url = f"{reverse('calls:call-start')}?{query}"
        page = self.browser.get(url)
        if not self._answered("start page", page, 200):
            return
        contact = re.search(r'name="contact" value="(\d+)"', page.body)
        assert contact, page.body
        sent = datetime.datetime.now(datetime.UTC)
        answer = self.browser.post(url, {"contact": contact[1]}, page)
        if self._answered("start", answer, 302):
            assert answer.location == reverse("calls:desk"), answer
            self.starts.append((isn, sent, datetime.datetime.now(datetime.UTC)))

    def _end(self, call_id: int) -> None:
        url = reverse("calls:call-end", args=[call_id])
        page = self.browser.get(url)
        if not self._answered("end page", page, 200):
            return
        notes = f"Ended by the fault test, call {call_id}"
        answer = self.browser.post(url, {"outcome": "no_answer", "notes": notes}, page)
        if self._answered("end", answer, 302):
            assert answer.location == reverse("calls:desk"), answer
            self.ends.append((call_id, notes))


def _wait_for(condition, what: str, desk: Desk) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert not desk.unexpected, desk.unexpected
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {desk}"
        time.sleep(0.05)


def test_acknowledged_calls_survive_a_database_restart_and_the_outage_shows_the_503_page(
    postgres, app
):
    base_url, server = app
    with postgres.connect("camp") as conn:
        (line_id,) = conn.execute("SELECT id FROM calls_line").fetchone()
        isns = [isn for (isn,) in conn.execute("SELECT isn FROM prisoners_prisoner ORDER BY isn")]
    guard, onlooker = Browser(base_url), Browser(base_url)
    guard.log_in("guard")
    onlooker.log_in("guard")
    desk = Desk(guard, line_id, isns)
    worker = threading.Thread(target=desk.run, daemon=True)
    worker.start()
    try:
        _wait_for(lambda: len(desk.starts) >= 2 and len(desk.ends) >= 2, "calls before", desk)

        postgres.stop()
        # The outage: a page, the health check and the guard at work all get the 503.
        page = onlooker.get(reverse("calls:desk"))
        assert page.status == 503, page
        assert any(text in page.body for text in outage_texts()), page.body
        # The load balancer, which has no session, gets the health check's own answer.
        health = Browser(base_url).get(reverse("healthz"))
        assert (health.status, health.body) == (503, "unavailable")
        _wait_for(lambda: desk.outage_pages, "the guard's 503 page", desk)
        before = len(desk.starts), len(desk.ends)
        postgres.start()
        back = time.monotonic()

        # No restart of the app: it reconnects on its own, and from then on every
        # request succeeds.
        _wait_for(
            lambda: len(desk.starts) >= before[0] + 2 and len(desk.ends) >= before[1] + 2,
            "calls after the restart",
            desk,
        )
    finally:
        desk.stop.set()
        worker.join(timeout=REQUEST_TIMEOUT * 3)
    assert not worker.is_alive()
    assert desk.unexpected == []
    assert set(desk.statuses) == {200, 302, 503}, desk.statuses
    assert max(desk.outage_pages) < back

    # A restart between two requests, which nobody saw: the persistent connection is stale,
    # and its health check (CONN_HEALTH_CHECKS) replaces it before the page needs it.
    postgres.restart()
    page = onlooker.get(reverse("calls:desk"))
    assert page.status == 200, page
    assert server.poll() is None

    with postgres.connect("camp") as conn:
        for isn, sent, acknowledged in desk.starts:
            found = conn.execute(
                """SELECT count(*) FROM calls_call AS c
                   JOIN prisoners_prisoner AS p ON p.id = c.prisoner_id
                   WHERE p.isn = %s AND c.line_id = %s AND c.started_at BETWEEN %s AND %s""",
                [isn, line_id, sent, acknowledged],
            ).fetchone()[0]
            assert found == 1, (isn, sent, acknowledged)
        for call_id, notes in desk.ends:
            ended = conn.execute(
                "SELECT ended_at IS NOT NULL, outcome, notes FROM calls_call WHERE id = %s",
                [call_id],
            ).fetchone()
            assert ended == (True, "no_answer", notes), call_id
