"""How much slower is a name search than an ISN lookup, at 10,000 prisoners?

Run: .venv/bin/python bench/prisoner_search.py

Creates a throwaway site with 10,000 invented prisoners in one transaction,
times ``prisoners.selectors.prisoner_search`` as the list page uses it (count
and first page), and rolls everything back. Prints ratios; there is no pass or fail.
"""

import datetime
import os
import statistics
import sys
import time
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "camp.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from camp.models import Site, User  # noqa: E402
from prisoners.demo import FATHERS, MALE_FIRST_NAMES, SURNAMES  # noqa: E402
from prisoners.models import Prisoner  # noqa: E402
from prisoners.selectors import prisoner_search  # noqa: E402
from prisoners.transliteration import to_latin  # noqa: E402

PRISONERS = 10_000
REPEAT = 30
PAGE_SIZE = 50


class Rollback(Exception):
    """Raised at the end to undo everything the benchmark wrote."""


def make_prisoners(site: Site, random: Random) -> list[Prisoner]:
    prisoners = []
    for n in range(1, PRISONERS + 1):
        surname = random.choice(SURNAMES)[0]
        first = random.choice(MALE_FIRST_NAMES)
        patronymic = random.choice(FATHERS)[1]
        identity = Prisoner.Identity.WITHHELD if n % 20 == 0 else Prisoner.Identity.FULL
        prisoners.append(
            Prisoner(
                site=site,
                isn=f"{site.code}-{n:05d}",
                identity=identity,
                surname=surname,
                first_names=first,
                patronymic=patronymic,
                surname_latin=to_latin(surname),
                first_names_latin=to_latin(first),
                patronymic_latin=to_latin(patronymic),
                arrived_on=datetime.date(2026, 1, 1) + datetime.timedelta(days=n % 300),
                housing_unit=f"B{n % 6 + 1}",
            )
        )
    return prisoners


def timed(user, text: str) -> float:
    """Median seconds for the list page's two queries: the count and the first page."""
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        results = prisoner_search(user=user, text=text)
        results.count()
        list(results[:PAGE_SIZE])
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    random = Random(2026)
    try:
        with transaction.atomic():
            site = Site.objects.create(name="Benchmark camp (throwaway)", code="ZZBENCH")
            user = User.objects.create(username="bench-throwaway")
            user.sites.add(site)
            start = time.perf_counter()
            Prisoner.objects.bulk_create(make_prisoners(site, random), batch_size=2000)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE prisoners_prisoner")
            print(f"{PRISONERS} prisoners created in {time.perf_counter() - start:.1f} s")

            isn = f"{site.code}-05000"
            timings = {
                f"ISN lookup ({isn})": timed(user, isn),
                "Latin name (Aleksandr)": timed(user, "Aleksandr"),
                "Cyrillic name (Олександр)": timed(user, "Олександр"),
                "Another scheme's spelling (Hryhorii)": timed(user, "Hryhorii"),
                "Surname and name (Kuznetsov Ivan)": timed(user, "Kuznetsov Ivan"),
            }
            # For reference: the unique index alone, as an exact ISN match would use it.
            samples = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                Prisoner.objects.filter(isn=isn).first()
                samples.append(time.perf_counter() - start)
            timings["Exact ISN, unique index (reference)"] = statistics.median(samples)
            baseline = timings[f"ISN lookup ({isn})"]
            for label, seconds in timings.items():
                print(f"{label:<36} {seconds * 1000:7.2f} ms   {seconds / baseline:5.1f}x")
            print(f"name search / ISN lookup: {timings['Latin name (Aleksandr)'] / baseline:.1f}x")
            raise Rollback
    except Rollback:
        print("Rolled back: nothing was kept.")


if __name__ == "__main__":
    main()
