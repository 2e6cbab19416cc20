"""How close do the supervisor's report pages come to the cost of their own SQL, at a
camp of 10,000 prisoners and ~1,000,000 calls?

Run: .venv/bin/python bench/reports.py [--prisoners N] [--weeks W] [--repeat R]

Uses the configured database. When it has fewer prisoners than asked, it first
builds the camp with ``seed_demo --prisoners N --weeks W`` (a few minutes);
otherwise it reuses what is there. Then, logged in as the demo supervisor, it
requests each report page in-process through Django's test client (all middleware,
the templates, the session; DEBUG off) and captures the statements the page runs.
Those very statements (session, user and sites included) are then run again
directly through a database cursor, rows fetched, in the same process. Requests and
raw runs alternate, so both see the same caches. For each page it prints the median
server time, the median time of the page's SQL run directly, their ratio and the
query count.

Goals (Supervisor review): the dashboard and the frequency report's first page
within 1.5x their raw SQL and 300 ms. Other pages are printed for comparison only;
the last, a page of the same layout with nothing to compute, is the floor of any page.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "camp.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.staff_client import verified_client  # noqa: E402
from calls.models import Call  # noqa: E402
from camp.models import Site, User  # noqa: E402
from letters.models import Letter  # noqa: E402
from prisoners.models import Prisoner  # noqa: E402

GOAL_RATIO = 1.5
GOAL_MS = 300.0
# The pages the goals are set for.
WITH_GOALS = {"dashboard", "frequency, first page"}


def pages() -> list[tuple[str, str]]:
    frequency = reverse("reports:frequency")
    return [
        ("dashboard", reverse("reports:index")),
        ("without news", reverse("reports:without-news")),
        ("frequency, first page", frequency),
        ("frequency, by connected 30 days", f"{frequency}?sort=-connected_30"),
        ("Geneva minimum", reverse("reports:geneva")),
        ("trends", reverse("reports:trends")),
        ("workload", reverse("reports:workload")),
        ("flagged", reverse("reports:flagged")),
        ("contacts", reverse("reports:contacts")),
        # The same layout, middleware and log-in checks with nothing to compute: what
        # any page costs before its own work.
        ("layout only (password changed)", reverse("password_change_done")),
    ]


def page_statements(client: Client, url: str) -> list[str]:
    """The statements one request of ``url`` runs, as the database received them
    (parameters bound by psycopg on the client side, so they run again as they are)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in captured.captured_queries]


def is_read(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "WITH"))


def run_directly(statements: list[str]) -> float:
    """Milliseconds to run ``statements`` one after the other through a cursor,
    fetching every row, as the page does."""
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()
    return (time.perf_counter() - start) * 1000


def measure(client: Client, url: str, repeat: int) -> tuple[float, float, int]:
    """Median server ms, median raw SQL ms, and the query count of ``url``."""
    client.get(url)  # warm up: the first request of a page may cost more
    # A GET of a report writes nothing, but the session's idle clock is saved once a
    # minute (camp.middleware.SessionTimeoutMiddleware): take the statements of a
    # request that only reads, and refuse to replay anything else.
    statements = page_statements(client, url)
    if not all(map(is_read, statements)):
        statements = page_statements(client, url)
    assert all(map(is_read, statements)), [sql for sql in statements if not is_read(sql)]
    server, raw = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        server.append((time.perf_counter() - start) * 1000)
        raw.append(run_directly(statements))
    return statistics.median(server), statistics.median(raw), len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prisoners", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    if Prisoner.objects.count() < args.prisoners:
        call_command("seed_demo", prisoners=args.prisoners, weeks=args.weeks)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    supervisor = User.objects.get(username="supervisor")
    client = verified_client(supervisor)

    print(
        f"{Prisoner.objects.count():,} prisoners, {Call.objects.count():,} logbook entries, "
        f"{Letter.objects.count():,} items of mail, {Site.objects.count()} site(s); "
        f"median of {args.repeat} requests and of {args.repeat} direct runs of their SQL"
    )
    print(f"{'page':<34} {'server ms':>10} {'SQL ms':>8} {'ratio':>7} {'queries':>8}  goal")
    missed = []
    # As in production: DEBUG off, so that nothing is kept per query.
    with override_settings(DEBUG=False):
        for label, url in pages():
            server_ms, sql_ms, queries = measure(client, url, args.repeat)
            ratio = server_ms / sql_ms
            goal = ""
            if label in WITH_GOALS:
                met = ratio <= GOAL_RATIO and server_ms <= GOAL_MS
                goal = "met" if met else "MISSED"
                if not met:
                    missed.append(label)
            print(
                f"{label:<34} {server_ms:>10.1f} {sql_ms:>8.1f} {ratio:>6.2f}x {queries:>8}  {goal}"
            )
    print(
        f"goals: dashboard and frequency first page <= {GOAL_RATIO}x their SQL "
        f"and <= {GOAL_MS:.0f} ms: " + (f"missed by {', '.join(missed)}" if missed else "met")
    )


if __name__ == "__main__":
    main()
