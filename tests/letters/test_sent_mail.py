"""The letters and cards each prisoner sent per calendar month (``SentMail``), kept by
the register's triggers on every write: what Art. 71's reports read."""

import datetime

import pytest
from django.db import connection

from camp.models import User
from letters import services
from letters.models import Letter, SentMail
from prisoners.models import Prisoner
from tests.concurrency import run_together
from tests.factories import LetterFactory, PrisonerFactory

DAY = datetime.timedelta(days=1)
MARCH, APRIL = datetime.date(2026, 3, 1), datetime.date(2026, 4, 1)


def sent(prisoner, kind, on, **extra):
    return LetterFactory(
        prisoner=prisoner, kind=kind, direction=Letter.Direction.SENT, handed_in_on=on, **extra
    )


def counts(prisoner) -> dict:
    """{month: (letters, cards)}, months with a row only."""
    return {
        row.month: (row.letters, row.cards)
        for row in SentMail.objects.filter(prisoner=prisoner).order_by("month")
    }


@pytest.mark.django_db
def test_only_letters_and_cards_sent_and_not_in_error_count_by_the_month_handed_in(site):
    prisoner = PrisonerFactory(site=site)
    sent(prisoner, Letter.Kind.LETTER, MARCH)
    sent(prisoner, Letter.Kind.LETTER, APRIL - DAY)
    sent(prisoner, Letter.Kind.CARD, APRIL - DAY)
    sent(prisoner, Letter.Kind.CARD, APRIL)
    # None of these counts.
    sent(prisoner, Letter.Kind.CAPTURE_CARD, MARCH + DAY)
    sent(prisoner, Letter.Kind.TELEGRAM, MARCH + DAY)
    sent(prisoner, Letter.Kind.LETTER, MARCH + DAY, in_error=True)
    LetterFactory(
        prisoner=prisoner,
        kind=Letter.Kind.LETTER,
        direction=Letter.Direction.RECEIVED,
        handed_in_on=MARCH + DAY,
    )
    sent(PrisonerFactory(site=site), Letter.Kind.CARD, MARCH)

    assert counts(prisoner) == {MARCH: (2, 1), APRIL: (0, 1)}


@pytest.mark.django_db
def test_status_steps_write_nothing_and_corrections_move_the_counts(site, supervisor):
    prisoner, other = PrisonerFactory(site=site), PrisonerFactory(site=site)
    letter = sent(prisoner, Letter.Kind.LETTER, MARCH + 5 * DAY)
    card = sent(prisoner, Letter.Kind.CARD, MARCH + 5 * DAY)
    services.record_step(
        letters=[letter, card], step="dispatched_on", on=MARCH + 6 * DAY, actor=supervisor
    )
    assert counts(prisoner) == {MARCH: (1, 1)}

    def amend(item, **changes):
        services.amend_letter(letter=item, changes=changes, reason="Misread.", actor=supervisor)

    amend(letter, kind=Letter.Kind.CARD)
    assert counts(prisoner) == {MARCH: (0, 2)}
    amend(card, handed_in_on=MARCH - 2 * DAY, dispatched_on=MARCH - DAY)
    assert counts(prisoner) == {MARCH - 28 * DAY: (0, 1), MARCH: (0, 1)}
    amend(letter, prisoner_id=other.pk)
    assert counts(prisoner) == {MARCH - 28 * DAY: (0, 1), MARCH: (0, 0)}
    assert counts(other) == {MARCH: (0, 1)}
    amend(card, in_error=True)
    assert counts(prisoner) == {MARCH - 28 * DAY: (0, 0), MARCH: (0, 0)}
    amend(card, in_error=False)
    assert counts(prisoner) == {MARCH - 28 * DAY: (0, 1), MARCH: (0, 0)}


@pytest.mark.django_db
def test_rows_written_outside_the_application_are_counted_too(site, guard):
    prisoner = PrisonerFactory(site=site)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO letters_letter (site_id, prisoner_id, kind, direction, channel,
                correspondent_name, correspondent_locality, reference, handed_in_on, notes,
                in_error, amendment_count, recorded_by_id, created_at)
            SELECT %s, %s, kind, 'sent', 'post', '', '', '', %s, '', false, 0, %s, now()
            FROM unnest(ARRAY['letter', 'letter', 'card']) AS kind
            """,
            [site.pk, prisoner.pk, MARCH, guard.pk],
        )
    assert counts(prisoner) == {MARCH: (2, 1)}


@pytest.mark.django_db
def test_the_counts_are_what_the_register_holds_after_a_busy_month(site, supervisor):
    prisoners = PrisonerFactory.create_batch(3, site=site)
    items = [
        sent(prisoner, kind, MARCH + (n % 40) * DAY)
        for n, (prisoner, kind) in enumerate(
            (prisoner, kind)
            for prisoner in prisoners
            for kind in [Letter.Kind.LETTER, Letter.Kind.CARD, Letter.Kind.CAPTURE_CARD] * 4
        )
    ]
    for item in items[::5]:
        services.amend_letter(
            letter=item, changes={"in_error": True}, reason="Twice.", actor=supervisor
        )
    newcomer = PrisonerFactory(site=site)
    for item in items[1::5]:
        services.amend_letter(
            letter=item,
            changes={"prisoner_id": newcomer.pk},
            reason="Wrong prisoner.",
            actor=supervisor,
        )

    register = {}
    for item in Letter.objects.filter(
        direction=Letter.Direction.SENT,
        kind__in=[Letter.Kind.LETTER, Letter.Kind.CARD],
        in_error=False,
    ):
        key = (item.prisoner_id, item.handed_in_on.replace(day=1))
        letters, cards = register.get(key, (0, 0))
        is_letter = item.kind == Letter.Kind.LETTER
        register[key] = (letters + is_letter, cards + (not is_letter))
    stored = {
        (row.prisoner_id, row.month): (row.letters, row.cards)
        for row in SentMail.objects.all()
        if row.letters or row.cards
    }
    assert stored == register
    # 24 letters and cards, of which 5 were withdrawn.
    assert sum(letters + cards for letters, cards in stored.values()) == 19


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_items_recorded_at_the_same_instant_are_all_counted(site, guard, supervisor):
    prisoner = PrisonerFactory(site=site, status=Prisoner.Status.INTERNED)
    today = site.today()

    def record(actor_pk, kind):
        def job():
            return services.record_letter(
                prisoner=Prisoner.objects.get(pk=prisoner.pk),
                kind=kind,
                direction=Letter.Direction.SENT,
                handed_in_on=today,
                actor=User.objects.get(pk=actor_pk),
            )

        return job

    results = run_together(
        [
            record(guard.pk, Letter.Kind.LETTER),
            record(supervisor.pk, Letter.Kind.LETTER),
            record(guard.pk, Letter.Kind.CARD),
            record(supervisor.pk, Letter.Kind.CARD),
        ]
    )

    assert all(isinstance(result, Letter) for result in results), results
    assert counts(prisoner) == {today.replace(day=1): (2, 2)}
