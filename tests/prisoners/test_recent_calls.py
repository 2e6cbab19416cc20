"""The prisoner page lists the prisoner's latest calls, at a fixed cost."""

import datetime

from django.urls import reverse
from django.utils import timezone

from calls import reports
from calls.models import Outcome
from letters.models import Letter
from tests.factories import CallFactory, LetterFactory, LineFactory, PrisonerFactory
from tests.prisoners.test_queries import queries_for


def _calls(prisoner, line, number, *, start):
    return [
        CallFactory(
            line=line,
            prisoner=prisoner,
            contact__prisoner=prisoner,
            started_at=start - datetime.timedelta(days=n),
        )
        for n in range(number)
    ]


def test_detail_lists_the_ten_latest_calls_newest_first(guard_client, site, other_site):
    prisoner = PrisonerFactory(site=site)
    line = LineFactory(site=site)
    now = timezone.now()
    calls = _calls(prisoner, line, 12, start=now - datetime.timedelta(days=1))
    CallFactory(line=line, started_at=now)  # another prisoner's call
    CallFactory(line=LineFactory(site=other_site), started_at=now)
    response = guard_client.get(reverse("prisoners:prisoner-detail", args=[prisoner.pk]))
    assert [call.pk for call in response.context["recent_calls"]] == [c.pk for c in calls[:10]]
    content = response.content.decode()
    assert reverse("calls:call-detail", args=[calls[0].pk]) in content
    assert reverse("calls:call-detail", args=[calls[11].pk]) not in content
    assert "Last connected call:" in content


def test_detail_shows_a_make_up_owed(guard_client, site):
    call = CallFactory(line=LineFactory(site=site), outcome=Outcome.INTERRUPTED_BY_ALERT)
    response = guard_client.get(reverse("prisoners:prisoner-detail", args=[call.prisoner.pk]))
    assert "Owed a make-up call since" in response.content.decode()


def test_detail_costs_the_same_for_2_and_30_calls(supervisor_client, site):
    prisoner = PrisonerFactory(site=site)
    line = LineFactory(site=site)
    url = reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    start = timezone.now() - datetime.timedelta(days=1)
    _calls(prisoner, line, 2, start=start)
    few = queries_for(supervisor_client, url)
    _calls(prisoner, line, 28, start=start - datetime.timedelta(days=10))
    many = queries_for(supervisor_client, url)
    assert len(many) == len(few), "\n".join(many)


# --- The frequency figures of the supervisors' report, for one prisoner -----------------

# Noon on Wednesday 18 March 2026 in Kyiv (UTC+2): today on the site's calendar.
TODAY = datetime.date(2026, 3, 18)


def kyiv(site, day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=site.zone)


def days_before(n):
    return TODAY - datetime.timedelta(days=n)


def call(prisoner, line, started_at, minutes, outcome=Outcome.CONNECTED):
    return CallFactory(
        line=line,
        prisoner=prisoner,
        contact__prisoner=prisoner,
        started_at=started_at,
        ended_at=started_at + datetime.timedelta(minutes=minutes),
        outcome=outcome,
    )


def item(prisoner, day, kind=Letter.Kind.LETTER, direction=Letter.Direction.SENT, **extra):
    return LetterFactory(
        prisoner=prisoner, kind=kind, direction=direction, handed_in_on=day, **extra
    )


def test_prisoner_frequency_counts_the_windows_on_the_sites_calendar(site, other_site):
    now = kyiv(site, TODAY, 12)
    prisoner = PrisonerFactory(
        site=site, captured_on=datetime.date(2025, 9, 20), arrived_on=datetime.date(2025, 10, 1)
    )
    line = LineFactory(site=site)
    call(prisoner, line, now - datetime.timedelta(days=1), 10)
    call(prisoner, line, kyiv(site, days_before(6), 9), 5)  # first day of the 7
    call(prisoner, line, kyiv(site, days_before(7), 23, 30), 1, Outcome.NO_ANSWER)
    call(prisoner, line, kyiv(site, days_before(17), 10), 20)
    call(prisoner, line, kyiv(site, days_before(29), 0, 10), 3, Outcome.BUSY)  # first of 30
    call(prisoner, line, kyiv(site, days_before(36), 10), 1, Outcome.BUSY)
    call(prisoner, line, kyiv(site, days_before(89), 0, 5), 12)  # first day of the 90
    call(prisoner, line, kyiv(site, days_before(90), 23, 50), 15)  # the day before: out
    # Others' calls stay out: a neighbour's, and a prisoner's of another site.
    CallFactory(line=line, started_at=now - datetime.timedelta(hours=2))
    CallFactory(line=LineFactory(site=other_site), started_at=now - datetime.timedelta(hours=2))
    # Mail of the last 30 days (today and the 29 before), either direction.
    item(prisoner, days_before(2))
    item(prisoner, days_before(29), direction=Letter.Direction.RECEIVED)
    item(prisoner, days_before(30))  # too old
    item(prisoner, days_before(3), Letter.Kind.CARD)
    item(prisoner, days_before(10), Letter.Kind.CAPTURE_CARD)
    item(prisoner, days_before(1), Letter.Kind.CARD, in_error=True)
    item(prisoner, days_before(1), Letter.Kind.TELEGRAM)
    item(PrisonerFactory(site=site), days_before(1))

    figures = reports.prisoner_frequency(prisoner=prisoner, now=now)

    assert (figures.connected_7, figures.attempts_7, figures.minutes_7) == (2, 2, 15.0)
    assert (figures.connected_30, figures.attempts_30, figures.minutes_30) == (3, 5, 35.0)
    assert (figures.connected_90, figures.attempts_90, figures.minutes_90) == (4, 7, 47.0)
    assert figures.last_connected_at == now - datetime.timedelta(days=1)
    assert figures.days_since_connected == 1
    assert (figures.letters_30, figures.cards_30) == (2, 2)
    assert figures.days_without_news == 1
    # The very row the supervisors' report shows for him.
    rows = reports.call_frequency(sites=[site], filters=reports.FrequencyFilter(), now=now)
    assert figures in rows[0:25]


def test_prisoner_frequency_without_calls_counts_news_from_mail_or_arrival(site):
    now = kyiv(site, TODAY, 12)
    news = PrisonerFactory(site=site, arrived_on=datetime.date(2026, 1, 10))
    item(news, days_before(12), Letter.Kind.CARD, Letter.Direction.RECEIVED,
         delivered_on=days_before(10))  # fmt: skip
    silent = PrisonerFactory(site=site, arrived_on=datetime.date(2026, 1, 10))

    with_mail = reports.prisoner_frequency(prisoner=news, now=now)
    without = reports.prisoner_frequency(prisoner=silent, now=now)

    assert (with_mail.attempts_90, with_mail.minutes_90, with_mail.cards_30) == (0, 0.0, 1)
    assert with_mail.last_connected_at is None and with_mail.days_since_connected is None
    assert with_mail.days_without_news == 10
    assert without.days_without_news == (TODAY - datetime.date(2026, 1, 10)).days
    assert (without.connected_7, without.letters_30, without.cards_30) == (0, 0, 0)


def test_detail_shows_the_frequency_figures(guard_client, site):
    prisoner = PrisonerFactory(site=site)
    line = LineFactory(site=site)
    now = timezone.now()
    call(prisoner, line, now - datetime.timedelta(days=1), 10)
    call(prisoner, line, now - datetime.timedelta(days=12), 20)
    call(prisoner, line, now - datetime.timedelta(days=50), 1, Outcome.NO_ANSWER)
    item(prisoner, site.today() - datetime.timedelta(days=2))
    item(prisoner, site.today() - datetime.timedelta(days=3), Letter.Kind.CAPTURE_CARD)

    response = guard_client.get(reverse("prisoners:prisoner-detail", args=[prisoner.pk]))

    figures = response.context["figures"]
    assert (figures.connected_7, figures.connected_30, figures.connected_90) == (1, 2, 2)
    assert (figures.attempts_90, figures.minutes_30) == (3, 30.0)
    assert (figures.letters_30, figures.cards_30, figures.days_since_connected) == (1, 1, 1)
    html = response.content.decode()
    assert 'id="frequency-figures"' in html
    assert "<td>1</td><td>2</td><td>2</td>" in html  # connected calls, 7/30/90 days
    assert "<td>10.0</td><td>30.0</td><td>30.0</td>" in html  # minutes connected
    assert "1 letters, 1 cards (capture cards included), sent or received" in html
    assert '<dd class="col-sm-7" id="days-without-news">1</dd>' in html


def test_detail_costs_the_same_with_few_or_many_calls_and_letters(supervisor_client, site):
    prisoner = PrisonerFactory(site=site)
    line = LineFactory(site=site)
    url = reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    now = timezone.now()
    call(prisoner, line, now - datetime.timedelta(days=1), 10)
    item(prisoner, site.today())
    few = queries_for(supervisor_client, url)
    for n in range(2, 40):
        outcome = Outcome.CONNECTED if n % 3 else Outcome.NO_ANSWER
        call(prisoner, line, now - datetime.timedelta(days=n * 2), 5, outcome)
        item(prisoner, site.today() - datetime.timedelta(days=n), Letter.Kind.CARD)
    many = queries_for(supervisor_client, url)
    assert len(many) == len(few), "\n".join(many)


def test_detail_shows_letters_and_suspensions_sections(guard_client, site, other_site):
    from tests.factories import LetterFactory

    prisoner = PrisonerFactory(site=site)
    letter = LetterFactory(prisoner=prisoner)
    LetterFactory(prisoner=PrisonerFactory(site=other_site))
    content = guard_client.get(
        reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    ).content.decode()
    assert reverse("letters:letter-detail", args=[letter.pk]) in content
    assert reverse("letters:prisoner-register", args=[prisoner.pk]) in content
    assert "Call suspensions" in content


def test_registry_does_not_import_calls_or_letters():
    import ast
    from pathlib import Path

    for path in Path(__file__).resolve().parents[2].joinpath("prisoners").rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        } | {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert not imported & {"calls", "letters"}, path
