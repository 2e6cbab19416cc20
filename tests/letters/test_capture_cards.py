"""Art. 70: prisoners whose capture card was not handed in within a week of arrival."""

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from letters.selectors import overdue_capture_cards
from prisoners.models import Prisoner
from tests.factories import LetterFactory, PrisonerFactory

ARRIVED = datetime.date(2026, 3, 10)
KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")


def _at_kyiv(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=KYIV)


def _overdue(user, now):
    return list(overdue_capture_cards(user=user, now=now))


def test_card_is_due_within_seven_days_on_the_sites_calendar(guard, site):
    prisoner = PrisonerFactory(site=site, arrived_on=ARRIVED)
    # 23:59 on the 17th at the site: still within the week.
    assert _overdue(guard, _at_kyiv(17, 23, 59)) == []
    # 00:30 on the 18th at the site is still the 17th in UTC: overdue all the same.
    now = _at_kyiv(18, 0, 30)
    assert now.astimezone(datetime.UTC).date() == datetime.date(2026, 3, 17)
    [row] = _overdue(guard, now)
    assert (row, row.days_since_arrival) == (prisoner, 8)


def test_a_card_handed_in_since_arrival_settles_it(guard, site):
    on_time = PrisonerFactory(site=site, arrived_on=ARRIVED)
    LetterFactory(
        prisoner=on_time, kind="capture_card", handed_in_on=ARRIVED + datetime.timedelta(6)
    )
    late = PrisonerFactory(site=site, arrived_on=ARRIVED)
    LetterFactory(prisoner=late, kind="capture_card", handed_in_on=ARRIVED + datetime.timedelta(9))
    assert _overdue(guard, _at_kyiv(25, 12)) == []


@pytest.mark.parametrize(
    "card",
    [
        {"kind": "card"},
        {"kind": "capture_card", "in_error": True},
        # From a stay before this arrival (a transfer back): a new card is due.
        {"kind": "capture_card", "handed_in_on": ARRIVED - datetime.timedelta(30)},
    ],
    ids=["other kind", "recorded in error", "before arrival"],
)
def test_what_does_not_count_as_the_capture_card(guard, site, card):
    prisoner = PrisonerFactory(site=site, arrived_on=ARRIVED)
    LetterFactory(prisoner=prisoner, **{"handed_in_on": ARRIVED, **card})
    assert _overdue(guard, _at_kyiv(25, 12)) == [prisoner]


def test_only_interned_prisoners_of_the_users_sites_longest_overdue_first(guard, site, other_site):
    newer = PrisonerFactory(site=site, arrived_on=ARRIVED)
    older = PrisonerFactory(site=site, arrived_on=ARRIVED - datetime.timedelta(5))
    PrisonerFactory(site=site, arrived_on=ARRIVED, status=Prisoner.Status.RELEASED)
    PrisonerFactory(site=other_site, arrived_on=ARRIVED - datetime.timedelta(20))
    assert _overdue(guard, _at_kyiv(25, 12)) == [older, newer]


def test_each_site_counts_on_its_own_calendar(guard, site, other_site):
    other_site.time_zone = "America/New_York"
    other_site.save()
    guard.sites.add(other_site)
    here = PrisonerFactory(site=site, arrived_on=ARRIVED)
    PrisonerFactory(site=other_site, arrived_on=ARRIVED)
    # 01:00 on the 18th in Kyiv is still the 17th in New York.
    assert _overdue(guard, _at_kyiv(18, 1)) == [here]


def test_page_lists_them_in_one_query(guard_client, site, other_site, monkeypatch):
    PrisonerFactory.create_batch(3, site=site, arrived_on=ARRIVED)
    PrisonerFactory(site=other_site, arrived_on=ARRIVED)
    monkeypatch.setattr(timezone, "now", lambda: _at_kyiv(25, 12).astimezone(datetime.UTC))
    url = reverse("letters:capture-card-overdue")
    with CaptureQueriesContext(connection) as captured:
        response = guard_client.get(url)
    assert response.status_code == 200
    assert len(response.context["rows"]) == 3
    assert response.context["rows"][0]["days_overdue"] == 8
    overdue_queries = [q for q in captured.captured_queries if "prisoners_prisoner" in q["sql"]]
    assert len(overdue_queries) == 1
