"""What the database itself holds: the constraints of an item and the amendment trigger."""

import datetime
import json

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction

from calls import models as calls_models
from camp.amendments import apply_amendment_sql, changes_only_by_amendment_sql
from letters.models import Letter, LetterAmendment
from tests.factories import ContactFactory, LetterFactory

DAY = datetime.timedelta(days=1)
BASE = datetime.date(2026, 3, 10)


def _constraint(error: IntegrityError) -> str:
    return error.__cause__.diag.constraint_name


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"kind": "parcel"}, "letters_letter_kind"),
        ({"direction": "sideways"}, "letters_letter_direction"),
        ({"channel": "pigeon"}, "letters_letter_channel"),
        ({"kind": "capture_card", "direction": "received"}, "letters_letter_capture_card_is_sent"),
        (
            {"kind": "red_cross_message", "channel": "post"},
            "letters_letter_red_cross_message_by_icrc",
        ),
        ({"written_on": BASE + DAY}, "letters_letter_written_before_handed_in"),
        ({"censored_on": BASE - DAY}, "letters_letter_censored_after_handed_in"),
        (
            {"direction": "received", "dispatched_on": BASE + DAY},
            "letters_letter_received_never_dispatched",
        ),
        ({"dispatched_on": BASE - DAY}, "letters_letter_dispatched_in_order"),
        (
            {"censored_on": BASE + 2 * DAY, "dispatched_on": BASE + DAY},
            "letters_letter_dispatched_in_order",
        ),
        (
            {"dispatched_on": BASE + 2 * DAY, "delivered_on": BASE + DAY},
            "letters_letter_delivered_in_order",
        ),
        (
            {"direction": "received", "censored_on": BASE + DAY, "delivered_on": BASE},
            "letters_letter_delivered_in_order",
        ),
        (
            {"dispatched_on": BASE + 2 * DAY, "returned_on": BASE + DAY},
            "letters_letter_returned_in_order",
        ),
        ({"delivered_on": BASE + DAY}, "letters_letter_sent_delivered_after_dispatch"),
        (
            {"dispatched_on": BASE, "delivered_on": BASE + DAY, "returned_on": BASE + DAY},
            "letters_letter_delivered_or_returned",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_database_refuses_an_inconsistent_item(prisoner, guard, fields, constraint):
    values = {
        "site": prisoner.site,
        "prisoner": prisoner,
        "kind": "card",
        "direction": "sent",
        "channel": "post",
        "handed_in_on": BASE,
        "recorded_by": guard,
        **fields,
    }
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Letter.objects.create(**values)
    assert _constraint(refused.value) == constraint
    assert not Letter.objects.exists()


def test_database_refuses_a_contact_and_a_typed_name_together(prisoner, guard):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        LetterFactory(
            prisoner=prisoner,
            contact=ContactFactory(prisoner=prisoner),
            correspondent_name="Someone",
        )
    assert _constraint(refused.value) == "letters_letter_contact_or_typed_name"


def test_database_refuses_an_amendment_without_reason(letter, supervisor):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        LetterAmendment.objects.create(
            letter=letter, changes={"notes": {"from": "", "to": "x"}}, reason="", author=supervisor
        )
    assert _constraint(refused.value) == "letters_letteramendment_has_reason"


@pytest.mark.parametrize(
    ("dates", "status"),
    [
        ({}, "handed_in"),
        ({"censored_on": BASE}, "censored"),
        ({"censored_on": BASE, "dispatched_on": BASE + DAY}, "dispatched"),
        ({"dispatched_on": BASE, "delivered_on": BASE + DAY}, "delivered"),
        ({"dispatched_on": BASE, "returned_on": BASE + DAY}, "returned"),
        ({"in_error": True, "dispatched_on": BASE}, "void"),
    ],
)
def test_status_is_derived_from_the_dates(prisoner, dates, status):
    letter = LetterFactory(prisoner=prisoner, handed_in_on=BASE, **dates)
    letter.refresh_from_db()
    assert letter.status == status


def test_received_item_is_arrived_until_it_moves(prisoner):
    letter = LetterFactory(prisoner=prisoner, direction="received", handed_in_on=BASE)
    letter.refresh_from_db()
    assert letter.status == "arrived"


# --- The amendment trigger ------------------------------------------------------------


def _insert_amendment(letter, changes, author, *, is_correction=True):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO letters_letteramendment "
            "(letter_id, changes, reason, is_correction, author_id, created_at) "
            "VALUES (%s, %s, 'By hand.', %s, %s, now())",
            [letter.pk, json.dumps(changes), is_correction, author.pk],
        )


def _refused(sql: str, params: list, match: str) -> None:
    with (
        pytest.raises(ProgrammingError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def test_raw_amendment_is_applied_to_the_item(letter, supervisor):
    _insert_amendment(
        letter,
        {
            "notes": {"from": "", "to": "Torn envelope."},
            "kind": {"from": "card", "to": "letter"},
        },
        supervisor,
    )
    letter.refresh_from_db()
    assert (letter.notes, letter.kind, letter.amendment_count) == ("Torn envelope.", "letter", 1)


def test_raw_status_step_fills_a_date_and_is_not_counted_as_correction(letter, supervisor):
    day = letter.handed_in_on.isoformat()
    _insert_amendment(
        letter, {"dispatched_on": {"from": None, "to": day}}, supervisor, is_correction=False
    )
    letter.refresh_from_db()
    assert (letter.dispatched_on, letter.status) == (letter.handed_in_on, "dispatched")
    assert letter.amendment_count == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"notes": {"from": "", "to": "x"}},
        {"dispatched_on": {"from": "2026-01-01", "to": "2026-01-02"}},
        {"dispatched_on": {"from": None, "to": None}},
    ],
)
def test_raw_status_step_may_only_fill_an_empty_date(letter, supervisor, changes):
    with pytest.raises(ProgrammingError, match="only fills in an empty date"), transaction.atomic():
        _insert_amendment(letter, changes, supervisor, is_correction=False)
    assert not LetterAmendment.objects.exists()


def test_stale_from_is_refused(letter, supervisor):
    with pytest.raises(ProgrammingError, match="current value"), transaction.atomic():
        _insert_amendment(letter, {"notes": {"from": "Old", "to": "New"}}, supervisor)
    letter.refresh_from_db()
    assert letter.notes == ""
    assert not LetterAmendment.objects.exists()


@pytest.mark.parametrize(
    "changes", [{}, {"site_id": {"from": 1, "to": 2}}, {"notes": "x"}, {"notes": {"to": "x"}}]
)
def test_malformed_changes_are_refused(letter, supervisor, changes):
    with pytest.raises(ProgrammingError, match="amendable fields"), transaction.atomic():
        _insert_amendment(letter, changes, supervisor)


def test_amendment_breaking_a_constraint_is_refused(letter, supervisor):
    day = (letter.handed_in_on - DAY).isoformat()
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert_amendment(letter, {"dispatched_on": {"from": None, "to": day}}, supervisor)
    assert not LetterAmendment.objects.exists()


def test_database_refuses_a_direct_update(letter):
    _refused(
        "UPDATE letters_letter SET notes = 'x' WHERE id = %s",
        [letter.pk],
        match="changes only through an amendment",
    )
    letter.refresh_from_db()
    assert letter.notes == ""


def test_database_refuses_to_delete_an_item(letter):
    _refused("DELETE FROM letters_letter WHERE id = %s", [letter.pk], match="is append-only")
    assert Letter.objects.filter(pk=letter.pk).exists()


def test_database_refuses_to_change_or_delete_an_amendment(letter, supervisor):
    _insert_amendment(letter, {"notes": {"from": "", "to": "x"}}, supervisor)
    amendment = LetterAmendment.objects.get()
    _refused(
        "UPDATE letters_letteramendment SET reason = 'x' WHERE id = %s",
        [amendment.pk],
        "is append-only",
    )
    _refused("DELETE FROM letters_letteramendment WHERE id = %s", [amendment.pk], "is append-only")


def test_shared_builder_reproduces_the_logbook_triggers():
    """calls/models.py can switch to camp.amendments without a migration."""
    in_progress = """
    IF entry.ended_at IS NULL THEN
        RAISE EXCEPTION 'logbook entry % is in progress and cannot be amended', NEW.call_id;
    END IF;"""
    assert (
        apply_amendment_sql(
            entry_table="calls_call",
            entry_column="call_id",
            field_types=calls_models.AMENDABLE_FIELD_TYPES,
            check_entry=in_progress,
        )
        == calls_models.APPLY_AMENDMENT
    )
    assert (
        changes_only_by_amendment_sql(
            "logbook entry % is closed: it changes only through an amendment"
        )
        == calls_models.CLOSED_ENTRY_IS_FINAL
    )
