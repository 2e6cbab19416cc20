"""How close does the CSV export over HTTP come to PostgreSQL's own COPY, and does its
memory stay flat, at a camp of 10,000 prisoners and ~1,000,000 calls?

Run: .venv/bin/python bench/exports.py [--prisoners N] [--weeks W] [--large ROWS]
     [--small ROWS] [--repeat R]

Uses the configured database. When it has fewer prisoners than asked, it first
builds the camp with ``seed_demo --prisoners N --weeks W`` (a few minutes);
otherwise it reuses what is there. It picks two periods of the communications log,
each ending on the last day with calls: the shortest one with at least ``--large``
rows, and the shortest one with at least ``--small``.

Then it serves the app as production does (gunicorn, one sync worker, DEBUG=0,
collected static files in a temporary folder), logs in through the login form as
the demo administrator and downloads the communications log as CSV over each period
through the export form, reading the body in chunks, while a thread samples the
worker's resident memory. In this process it runs the export's very ``COPY ... TO
STDOUT`` statement through a psycopg cursor over the same filters, reading every
row, and the export's own generator (``csv_chunks``) too; the three take turns,
``--repeat`` times each, and the run of median time of each is printed. Finally it
writes the visit pack of every prisoner as XLSX and as PDF with ``write_export``
into a temporary file.

It prints rows/s and MB/s of each, the ratio of HTTP to COPY (goal: at least 0.7x),
the worker's peak memory at each size and their ratio (goal: within 1.2x), and the
XLSX and PDF times and sizes. There is no pass or fail. Each export through the
page or ``write_export`` is recorded and audited, as any export is.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "camp.settings")

import django

django.setup()

import psutil  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.utils import get_random_secret_key  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp.oath import totp  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from calls import exports  # noqa: E402
from calls.models import Call  # noqa: E402
from camp.management.commands.seed_demo import DEMO_ACCOUNTS  # noqa: E402
from camp.models import ExportRecord, User  # noqa: E402
from camp.roles import Role  # noqa: E402
from letters.models import Letter  # noqa: E402
from prisoners.models import Prisoner  # noqa: E402
from tests.served import behind_the_proxy, database_url, served  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The demo administrator and its password, as seed_demo creates them.
ADMINISTRATOR, PASSWORD = next(
    (username, password)
    for username, role, password, _first, _last in DEMO_ACCOUNTS
    if role == Role.ADMINISTRATOR
)
READ_BYTES = 64 * 1024
SAMPLE_SECONDS = 0.005
WORKER_TIMEOUT = 600
MB = 1024 * 1024
# Settings and make variables of this shell that must not reach the served app.
NOT_INHERITED = {"SECRET_KEY_FILE", "GUNICORN_CMD_ARGS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}


# --- The periods ----------------------------------------------------------------------


def rows_per_day(sites) -> list[tuple[datetime.date, int]]:
    """Rows of the communications log per day of the sites' calendars, latest first:
    calls by their local start, mail by the day it was handed in."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT day, sum(n)::bigint FROM (
                SELECT (c.started_at AT TIME ZONE s.time_zone)::date AS day, count(*) AS n
                FROM calls_call AS c JOIN camp_site AS s ON s.id = c.site_id
                WHERE c.site_id = ANY(%(sites)s) GROUP BY 1
                UNION ALL
                SELECT handed_in_on, count(*) FROM letters_letter
                WHERE site_id = ANY(%(sites)s) GROUP BY 1
            ) AS days
            GROUP BY day ORDER BY day DESC
            """,
            {"sites": [site.pk for site in sites]},
        )
        return cursor.fetchall()


def period_of(days: list[tuple[datetime.date, int]], rows: int) -> tuple[datetime.date, ...]:
    """The shortest period ending on the last day with at least ``rows`` rows (or all)."""
    total = 0
    first = days[-1][0]
    for day, count in days:
        total += count
        if total >= rows:
            first = day
            break
    return first, days[0][0]


# --- Reading in this process ----------------------------------------------------------


def copy_directly(filters, now) -> tuple[int, int, float]:
    """Rows, bytes and seconds of the export's COPY statement run through a psycopg
    cursor, every row read and nothing else done with it."""
    statement = f"COPY ({exports._csv_sql(filters.definition)}) TO STDOUT WITH (FORMAT csv)"
    rows = size = 0
    start = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(statement, exports._params(filters, now)) as copy,
    ):
        for row in copy:
            rows += 1
            size += len(row)
    return rows, size, time.perf_counter() - start


def generator_directly(filters, now) -> tuple[int, int, float]:
    """Rows, bytes and seconds of the export's own generator, ``csv_chunks``, drained."""
    tally = exports.Tally()
    size = 0
    start = time.perf_counter()
    for chunk in exports.csv_chunks(filters, now=now, tally=tally):
        size += len(chunk)
    return tally.rows, size, time.perf_counter() - start


# --- The served app -------------------------------------------------------------------


def server_env(folder: Path) -> dict[str, str]:
    """The environment of gunicorn serving the app with DEBUG=0, as production does
    (README, "Running for real")."""
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    return env | {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or database_url(connection.settings_dict),
        "STATIC_ROOT": str(folder / "staticfiles"),
        "SECRET_KEY": get_random_secret_key(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
    }


def worker_of(server: subprocess.Popen) -> psutil.Process:
    """The one worker: the master's only child (a new one if it was replaced)."""
    (worker,) = psutil.Process(server.pid).children()
    return worker


def csrf_token(opener, url: str) -> str:
    with opener.open(url, timeout=30) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page
    return token[1]


def log_in(opener, base_url: str) -> None:
    url = f"{base_url}{reverse('login')}"
    form = {"csrfmiddlewaretoken": csrf_token(opener, url), "username": ADMINISTRATOR}
    form["password"] = PASSWORD
    with opener.open(url, data=urllib.parse.urlencode(form).encode(), timeout=30) as response:
        assert response.url != url, "the login form refused the administrator"
    # Administrators pass two-factor log-in: a phone device for the account, and its code.
    device, _created = TOTPDevice.objects.get_or_create(
        user=User.objects.get(username=ADMINISTRATOR), name="Benchmark", confirmed=True
    )
    url = f"{base_url}{reverse('two_factor:verify')}"
    form = {"csrfmiddlewaretoken": csrf_token(opener, url), "token": f"{totp(device.bin_key):06d}"}
    with opener.open(url, data=urllib.parse.urlencode(form).encode(), timeout=30) as response:
        assert response.url != url, "the two-factor code was refused"


class PeakMemory:
    """The highest resident set size of ``process`` seen by a thread that samples it
    every ``SAMPLE_SECONDS`` while the block runs."""

    def __init__(self, process: psutil.Process):
        self.process = process
        self.peak = 0
        self.samples = 0
        self._done = threading.Event()

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self.samples += 1
            self._done.wait(SAMPLE_SECONDS)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def high_water_mark(process: psutil.Process) -> int:
    """VmHWM: the process's peak resident set size since it started, by the kernel."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)[1]) * 1024


def download(opener, base_url: str, server: subprocess.Popen, sites, period) -> dict:
    """POST the export form for the communications log as CSV over ``period`` and
    read the body in chunks, sampling the worker's memory meanwhile."""
    url = f"{base_url}{reverse('exports:export-create')}"
    form = [
        ("csrfmiddlewaretoken", csrf_token(opener, url)),
        ("dataset", ExportRecord.Dataset.LOG),
        ("format", ExportRecord.Format.CSV),
        ("date_from", period[0].isoformat()),
        ("date_to", period[1].isoformat()),
        *(("sites", site.code) for site in sites),
    ]
    worker = worker_of(server)
    before = worker.memory_info().rss
    size = 0
    with PeakMemory(worker) as memory:
        start = time.perf_counter()
        with opener.open(url, data=urllib.parse.urlencode(form).encode(), timeout=600) as response:
            assert response.status == 200, response.status
            assert response.headers["Content-Type"].startswith("text/csv"), response.headers
            while chunk := response.read(READ_BYTES):
                size += len(chunk)
        seconds = time.perf_counter() - start
    # Written once the last chunk has gone out: the rows as the server counted them.
    record = ExportRecord.objects.filter(user__username=ADMINISTRATOR).order_by("-pk").first()
    return {
        "bytes": size,
        "seconds": seconds,
        "rows": record.row_count if record else 0,
        "before": before,
        "peak": memory.peak,
        "samples": memory.samples,
        "hwm": high_water_mark(worker),
        "worker": worker.pid,
    }


def median_run(runs: list):
    """The run of median duration: a ``download`` dict or a (rows, bytes, seconds)."""
    return sorted(runs, key=lambda run: run["seconds"] if isinstance(run, dict) else run[2])[
        len(runs) // 2
    ]


# --- Printing -------------------------------------------------------------------------


def throughput(label: str, rows: int, size: int, seconds: float) -> None:
    print(
        f"  {label:<34} {rows:>10,} rows {seconds:>8.2f} s {rows / seconds:>11,.0f} rows/s "
        f"{size / MB / seconds:>7.1f} MB/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prisoners", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--large", type=int, default=1_000_000, help="rows of the large CSV")
    parser.add_argument("--small", type=int, default=10_000, help="rows of the small CSV")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if Prisoner.objects.count() < args.prisoners:
        call_command("seed_demo", prisoners=args.prisoners, weeks=args.weeks)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    administrator = User.objects.get(username=ADMINISTRATOR)
    sites = list(administrator.sites.order_by("code"))
    codes = [site.code for site in sites]
    days = rows_per_day(sites)
    now = timezone.now()

    def log_filters(period, format=ExportRecord.Format.CSV, dataset=ExportRecord.Dataset.LOG):
        return exports.make_filters(
            user=administrator,
            dataset=dataset,
            format=format,
            site_codes=codes,
            date_from=period[0],
            date_to=period[1],
        )

    sizes = [("small", period_of(days, args.small)), ("large", period_of(days, args.large))]
    print(
        f"{Prisoner.objects.count():,} prisoners, {Call.objects.count():,} logbook entries, "
        f"{Letter.objects.count():,} items of mail; sites {', '.join(codes)}; "
        f"{os.cpu_count()} CPUs shared by client, server and database"
    )
    # Warm the database's caches with the large period before anything is timed.
    copy_directly(log_filters(sizes[1][1]), now)

    # HTTP, COPY and csv_chunks take turns, so all three see the same caches and load.
    runs = {name: {"http": [], "copy": [], "chunks": []} for name, _period in sizes}
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as folder:
        env = server_env(Path(folder))
        manage = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
        subprocess.run(manage, cwd=ROOT, env=env, check=True)
        log_path = Path(folder, "gunicorn.log")
        # One sync worker; gunicorn's default timeout (30 s) would kill it during a
        # download of ~1,000,000 rows.
        options = ["--workers=1", "--worker-class=sync", f"--timeout={WORKER_TIMEOUT}"]
        try:
            with served(env=env, log_path=log_path, options=options) as (base_url, server):
                opener = behind_the_proxy()
                log_in(opener, base_url)
                # The worker's first export imports what it needs: not part of either size.
                download(opener, base_url, server, sites, (days[0][0], days[0][0]))
                for name, period in sizes:
                    filters = log_filters(period)
                    for _ in range(args.repeat):
                        runs[name]["http"].append(download(opener, base_url, server, sites, period))
                        runs[name]["copy"].append(copy_directly(filters, now))
                        runs[name]["chunks"].append(generator_directly(filters, now))
        except BaseException:
            print(f"gunicorn's log:\n{log_path.read_text()}", file=sys.stderr)
            raise
        log = log_path.read_text()

    print(
        f"\nCommunications log as CSV (HTTP: gunicorn, 1 sync worker, DEBUG=0); "
        f"median of {args.repeat} turns"
    )
    results = {}
    for name, period in sizes:
        print(f"{name}: {period[0]} to {period[1]}")
        web = median_run(runs[name]["http"])
        rows, size, seconds = median_run(runs[name]["copy"])
        gen_rows, gen_size, gen_seconds = median_run(runs[name]["chunks"])
        throughput("COPY TO STDOUT, in process", rows, size, seconds)
        throughput("csv_chunks, in process", gen_rows, gen_size, gen_seconds)
        throughput("HTTP POST /exports/", web["rows"], web["bytes"], web["seconds"])
        if web["rows"] != rows:
            print(f"  !! HTTP export recorded {web['rows']:,} rows, COPY read {rows:,}")
        copy_rate = rows / seconds
        print(
            f"  HTTP / COPY, rows per second: "
            f"{web['rows'] / web['seconds'] / copy_rate:.3f}x"
            f"   (csv_chunks / COPY: {gen_rows / gen_seconds / copy_rate:.3f}x)"
        )
        # Memory: the highest of the turns.
        results[name] = max(runs[name]["http"], key=lambda run: run["peak"])

    print("\nPeak resident memory of the serving worker during the download")
    for name, _period in sizes:
        web = results[name]
        print(
            f"  {name:<6} {web['rows']:>10,} rows: before {web['before'] / MB:7.1f} MB, "
            f"peak {web['peak'] / MB:7.1f} MB ({web['samples']:,} samples), "
            f"VmHWM since start {web['hwm'] / MB:7.1f} MB"
        )
    small, large = results["small"], results["large"]
    print(f"  peak large / peak small: {large['peak'] / small['peak']:.3f}x")
    print(
        f"  growth during the export, large / small: "
        f"{(large['peak'] - large['before']) / MB:.1f} MB / "
        f"{(small['peak'] - small['before']) / MB:.1f} MB"
    )
    if len({small["worker"], large["worker"]}) > 1 or "WORKER TIMEOUT" in log:
        print("  !! the worker was replaced during the run; gunicorn's log:\n" + log)

    print("\nVisit pack of every prisoner, in process (write_export to a temporary file)")
    for format in (ExportRecord.Format.XLSX, ExportRecord.Format.PDF):
        filters = log_filters(sizes[1][1], format=format, dataset=ExportRecord.Dataset.PACK)
        with tempfile.TemporaryFile() as output:
            start = time.perf_counter()
            record = exports.write_export(filters=filters, actor=administrator, output=output)
            seconds = time.perf_counter() - start
            size = os.fstat(output.fileno()).st_size
        print(
            f"  {format.upper():<5} {record.row_count:>7,} rows {seconds:>8.2f} s "
            f"{size / MB:>8.1f} MB  ({sizes[1][1][0]} to {sizes[1][1][1]})"
        )


if __name__ == "__main__":
    main()
