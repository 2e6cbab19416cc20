"""How long do the busiest pages take at a camp of 10,000 prisoners and ~1,000,000 calls?

Run: .venv/bin/python bench/pages.py [--prisoners N] [--weeks W] [--repeat R]

Uses the configured database. When the demo site has fewer prisoners than asked,
it first builds the camp with ``seed_demo --prisoners N --weeks W`` (a few minutes);
otherwise it reuses what is there. Then, logged in as the demo supervisor, it
requests each page in-process through Django's test client (all middleware, the
templates, the session), and prints the median server time, the query count, and
the ratio of a bare view to the logbook page in the same process. There is no pass
or fail.
"""

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "camp.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import path, reverse  # noqa: E402

import camp.urls  # noqa: E402
from bench.staff_client import verified_client  # noqa: E402
from calls.models import Call  # noqa: E402
from camp.models import Site, User  # noqa: E402
from prisoners.models import Prisoner  # noqa: E402


def bare(request):
    return HttpResponse("ok")


# The project's URLs plus a bare view, so that both go through the same middleware.
urlconf = types.ModuleType("bench_urls")
urlconf.urlpatterns = [path("bench/bare/", bare), *camp.urls.urlpatterns]


def median_ms(client: Client, url: str, repeat: int) -> tuple[float, int]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(timings), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prisoners", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    if Prisoner.objects.count() < args.prisoners:
        call_command("seed_demo", prisoners=args.prisoners, weeks=args.weeks)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    supervisor = User.objects.get(username="supervisor")
    site = supervisor.sites.order_by("pk").first()
    client = verified_client(supervisor)

    prisoner = (
        Prisoner.objects.filter(site=site, last_connected_at__isnull=False).order_by("pk").first()
    )
    year_ago = site.today().replace(year=site.today().year - 1).isoformat()
    logbook = reverse("calls:logbook")
    pages = [
        ("desk", reverse("calls:desk")),
        ("logbook, first page", logbook),
        ("logbook, outcome 'no answer'", f"{logbook}?outcome=no_answer"),
        ("logbook, one day a year back", f"{logbook}?from={year_ago}&to={year_ago}"),
        ("logbook, flagged only", f"{logbook}?flagged=on"),
        ("logbook, one prisoner (ISN)", f"{logbook}?prisoner={prisoner.isn}"),
        ("logbook, last page", f"{logbook}?page=oldest"),
        ("prisoner detail", reverse("prisoners:prisoner-detail", args=[prisoner.pk])),
        ("registry, exact ISN", f"{reverse('prisoners:prisoner-list')}?q={prisoner.isn}"),
    ]
    print(
        f"{Prisoner.objects.count():,} prisoners, {Call.objects.count():,} logbook entries, "
        f"{Site.objects.count()} site(s); median of {args.repeat} requests"
    )
    print(f"{'page':<34} {'median ms':>10} {'queries':>8}")
    # As in production: DEBUG off, so that nothing is kept per query.
    with override_settings(ROOT_URLCONF=urlconf, DEBUG=False):
        for label, url in pages:
            ms, queries = median_ms(client, url, args.repeat)
            print(f"{label:<34} {ms:>10.1f} {queries:>8}")
        bare_ms, _queries = median_ms(client, "/bench/bare/", args.repeat)
        logbook_ms, _queries = median_ms(client, logbook, args.repeat)
    print(f"bare view: {bare_ms:.2f} ms")
    print(f"logbook first page / bare view, requests per second: {bare_ms / logbook_ms:.3f}x")


if __name__ == "__main__":
    main()
