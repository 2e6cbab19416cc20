"""The prisoner page lists the prisoner's latest calls, at a fixed cost."""

import datetime

from django.urls import reverse
from django.utils import timezone

from calls.models import Outcome
from tests.factories import CallFactory, LineFactory, PrisonerFactory
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
