"""The demo register of letters, on a small camp seeded as ``seed_demo`` seeds it."""

import datetime
import io
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Max, Q

from calls.reports import below_geneva_minimum, previous_month
from camp.models import AuditEntry, Site
from camp.roles import Role
from letters.demo import seed_letters
from letters.models import Channel, Direction, Kind, Letter, LetterAmendment, Status
from letters.selectors import overdue_capture_cards
from prisoners.demo import Progress, seed_prisoners
from prisoners.models import Prisoner, StatusChange
from tests.factories import SiteFactory, UserFactory

# Long enough for whole months of mail, and for arrivals in the last weeks.
WEEKS = 20


class CountingProgress(Progress):
    def __init__(self):
        self.rows = 0
        self.stages = []

    def stage(self, label):
        self.stages.append(label)

    def advance(self, rows):
        self.rows += rows


@pytest.fixture(scope="module")
def camp(django_db_setup, django_db_blocker):
    """One camp for the whole module, rolled back at its end, with a second site
    whose prisoners get no mail from this seed. Seeding takes about a second."""
    with django_db_blocker.unblock(), transaction.atomic():
        site = SiteFactory(name="North camp", code="NC")
        other = SiteFactory(name="South camp", code="SC")
        # "!": no password to hash; nobody logs in here.
        supervisor = UserFactory(
            username="supervisor", password="!", role=Role.SUPERVISOR, sites=[site]
        )
        UserFactory(username="guard", password="!", role=Role.GUARD, sites=[site])
        seed_prisoners(site=site, actor=supervisor, count=90, weeks=WEEKS, random=random.Random(7))
        seed_prisoners(site=other, actor=supervisor, count=5, weeks=WEEKS, random=random.Random(8))
        progress = CountingProgress()
        counts = seed_letters(
            site=site, actor=supervisor, random=random.Random(7), progress=progress
        )
        yield site, supervisor, counts, progress
        transaction.set_rollback(True)


@pytest.fixture
def site(camp, db):
    return camp[0]


@pytest.fixture
def supervisor(camp):
    return camp[1]


@pytest.fixture
def seeded(camp):
    return camp[2]


@pytest.fixture
def progress(camp):
    return camp[3]


def interned_periods(prisoner_id, today) -> list[tuple[datetime.date, datetime.date]]:
    """(first day, day after the last) the prisoner was interned, from his history."""
    changes = list(
        StatusChange.objects.filter(prisoner_id=prisoner_id)
        .order_by("effective_on", "recorded_at", "pk")
        .values_list("status", "effective_on")
    )
    ends = [since for _status, since in changes[1:]] + [today + datetime.timedelta(days=1)]
    return [
        (since, until)
        for (status, since), until in zip(changes, ends, strict=True)
        if status == Prisoner.Status.INTERNED and since < until
    ]


def test_demo_fills_the_register_of_its_site(site, seeded):
    letters = Letter.objects.filter(site=site)
    assert letters.count() == seeded["letters"] == Letter.objects.count()
    assert not Letter.objects.filter(prisoner__site__code="SC").exists()
    kinds = Counter(letters.values_list("kind", "direction", "channel"))
    assert (
        kinds[(Kind.CARD, Direction.SENT, Channel.POST)]
        > kinds[(Kind.LETTER, Direction.SENT, Channel.POST)]
    )
    assert kinds[(Kind.LETTER, Direction.RECEIVED, Channel.POST)] > 0
    assert kinds[(Kind.CAPTURE_CARD, Direction.SENT, Channel.POST)] > 0
    assert kinds[(Kind.RED_CROSS_MESSAGE, Direction.SENT, Channel.ICRC)] > 0
    assert kinds[(Kind.RED_CROSS_MESSAGE, Direction.RECEIVED, Channel.ICRC)] > 0
    assert {channel for _kind, _direction, channel in kinds} == set(Channel.values)
    # Some eight to twelve items a month for each prisoner here.
    prisoner_months = 0
    today = site.today()
    for prisoner_id in Prisoner.objects.filter(site=site).values_list("pk", flat=True):
        for since, until in interned_periods(prisoner_id, today):
            prisoner_months += (until - since).days / 30.4
    assert 7 <= letters.count() / prisoner_months <= 13


def test_demo_items_only_while_the_prisoner_is_interned(site):
    today = site.today()
    for prisoner in Prisoner.objects.filter(site=site):
        periods = interned_periods(prisoner.pk, today)
        for day in prisoner.letters.values_list("handed_in_on", flat=True):
            assert day >= prisoner.arrived_on
            assert any(since <= day < until for since, until in periods)


def test_demo_dates_move_along_the_mail_desk(site):
    letters = Letter.objects.filter(site=site)
    statuses = Counter(letters.values_list("status", flat=True))
    # Most delivered, a few returned, the latest still in the camp; the database held
    # every check constraint as the rows went in.
    assert statuses[Status.DELIVERED] > letters.count() / 3
    assert 0 < statuses[Status.RETURNED] < letters.count() / 10
    for status in (Status.HANDED_IN, Status.ARRIVED, Status.CENSORED, Status.DISPATCHED):
        assert statuses[status] > 0
    today = site.today()
    for field in ("written_on", "handed_in_on", "censored_on", "delivered_on", "returned_on"):
        assert not letters.filter(**{f"{field}__gt": today}).exists()
    in_camp = letters.filter(status__in=[Status.HANDED_IN, Status.ARRIVED])
    assert in_camp.aggregate(oldest=Max("handed_in_on"))["oldest"] >= today - datetime.timedelta(
        days=7
    )
    # A correspondent is an approved contact, or typed, never both.
    assert letters.filter(contact__isnull=False).count() > letters.count() / 2
    assert letters.filter(contact__isnull=True).exclude(correspondent_name="").exists()
    assert not letters.filter(contact__isnull=False).exclude(correspondent_name="").exists()
    assert not letters.exclude(contact=None).exclude(contact__status="approved").exists()
    assert set(letters.filter(kind=Kind.RED_CROSS_MESSAGE).values_list("channel", flat=True)) == {
        Channel.ICRC
    }


def test_demo_capture_cards_mostly_within_the_week_and_some_overdue(site, supervisor):
    cards = Letter.objects.filter(site=site, kind=Kind.CAPTURE_CARD, in_error=False)
    delays = [
        (card.handed_in_on - card.prisoner.arrived_on).days
        for card in cards.select_related("prisoner")
        if not card.notes  # not the card after a stay in hospital
    ]
    assert sum(delay <= 7 for delay in delays) > 0.8 * len(delays)
    assert any(delay > 7 for delay in delays)
    overdue = list(overdue_capture_cards(user=supervisor))
    assert overdue
    assert len(overdue) < Prisoner.objects.filter(site=site).count() / 5


def test_demo_has_prisoners_below_and_above_the_art_71_minimum(site):
    month = previous_month(site.today())
    below = below_geneva_minimum(sites=[site], month=month).count()
    eligible = Prisoner.objects.filter(
        site=site, status=Prisoner.Status.INTERNED, arrived_on__lte=month
    ).count()
    assert 0 < below < eligible / 2


def test_demo_keeps_each_prisoners_last_delivery(site):
    latest = dict(
        Letter.objects.filter(site=site, in_error=False)
        .values("prisoner")
        .annotate(latest=Max("delivered_on"))
        .values_list("prisoner", "latest")
    )
    prisoners = Prisoner.objects.filter(site=site)
    assert prisoners.filter(last_mail_delivered_on__isnull=False).exists()
    for pk, delivered in prisoners.values_list("pk", "last_mail_delivered_on"):
        assert delivered == latest.get(pk)


def test_demo_corrections_are_amendments_applied_to_the_items(site, seeded):
    amendments = LetterAmendment.objects.filter(letter__site=site).select_related("letter")
    assert amendments.count() == seeded["amendments"] >= 6
    assert all(amendment.is_correction and amendment.reason for amendment in amendments)
    fields = Counter(field for amendment in amendments for field in amendment.changes)
    assert fields["in_error"] == seeded["in_error"] >= 2
    assert len(fields) >= 3
    for amendment in amendments:
        letter = amendment.letter
        assert letter.amendment_count == 1
        for field, change in amendment.changes.items():
            value = getattr(letter, field)
            assert (value.isoformat() if isinstance(value, datetime.date) else value) == change[
                "to"
            ]
    # An item recorded twice is withdrawn, not deleted: nothing else marks one in error.
    void = Letter.objects.filter(site=site, in_error=True)
    assert void.count() == seeded["in_error"]
    assert set(void.values_list("status", flat=True)) == {Status.VOID}
    assert not Letter.objects.filter(in_error=False, amendment_count=0, amendments__isnull=False)
    assert not Letter.objects.filter(~Q(amendment_count=0), amendments__isnull=True).exists()


def test_demo_writes_one_audit_entry(site, seeded):
    entry = AuditEntry.objects.get(action__startswith="letters.")
    assert entry.action == "letters.letter.recorded"
    assert entry.data == {
        "demo": True,
        "count": seeded["letters"],
        "amendments": seeded["amendments"],
    }
    assert entry.site == site


def test_demo_reports_every_row_to_the_progress_bar(seeded, progress):
    simulated = seeded["letters"]
    written = seeded["letters"] + seeded["amendments"]
    assert progress.rows == simulated + written
    assert progress.stages[-1] == "analysing the register"


def test_demo_is_not_added_twice(site, supervisor, seeded):
    assert seed_letters(site=site, actor=supervisor, random=random.Random(7)) == {}
    assert Letter.objects.count() == seeded["letters"]
    assert LetterAmendment.objects.count() == seeded["amendments"]


def test_seed_demo_writes_the_register_once(db):
    def seed():
        out, err = io.StringIO(), io.StringIO()
        call_command("seed_demo", "--prisoners", "20", "--weeks", "8", stdout=out, stderr=err)
        return err.getvalue()

    progress = seed()
    site = Site.objects.get(code="MC")
    count = Letter.objects.filter(site=site).count()
    assert count > 0
    assert "letters and cards" in progress
    assert progress.replace("\r", "\n").strip().splitlines()[-1].split("|")[0].endswith("100%")
    seed()
    assert Letter.objects.filter(site=site).count() == count
