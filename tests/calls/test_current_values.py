"""A logbook entry's columns hold its current values: the amendment history applied
in order, by a database trigger, whatever wrote the amendment."""

import datetime
import json

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls import services
from calls.models import AMENDABLE_FIELDS, Amendment, Call, Outcome
from prisoners.models import Prisoner
from tests.factories import BookingFactory, CallFactory, CallSlotFactory, LineFactory

SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def line(site):
    return LineFactory(site=site)


def _insert_amendment(call: Call, changes: dict, author) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO calls_amendment (call_id, changes, reason, author_id, created_at)"
            " VALUES (%s, %s::jsonb, 'Raw SQL.', %s, now())",
            [call.pk, json.dumps(changes), author.pk],
        )


def _stored(call: Call) -> dict:
    return Call.objects.get(pk=call.pk).amendable_values()


# --- Property: stored values are the history replayed -----------------------------------

text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
step = st.fixed_dictionaries(
    {},
    optional={
        "locality": text,
        "number_dialled": st.from_regex(r"\+380[0-9]{9}", fullmatch=True),
        "outcome": st.sampled_from(Outcome.values),
        "language": st.sampled_from(["", "ru", "uk", "en"]),
        "notes": text,
        "flag": st.one_of(st.none(), text.filter(str.strip)),
        "start_shift": st.integers(-3600, 3600),
        "length": st.integers(0, 1800),
        "raw_sql": st.booleans(),
    },
)


def _changes(call: Call, wanted: dict) -> dict:
    changes = {
        name: wanted[name]
        for name in ("locality", "number_dialled", "outcome", "language", "notes")
        if name in wanted
    }
    if "flag" in wanted:
        changes["flagged"] = wanted["flag"] is not None
        changes["flag_reason"] = wanted["flag"] or ""
    if "start_shift" in wanted or "length" in wanted:
        started_at = call.started_at + wanted.get("start_shift", 0) * SECOND
        changes["started_at"] = started_at
        changes["ended_at"] = started_at + wanted.get("length", 600) * SECOND
    return changes


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def _replay(recorded: dict, amendments) -> dict:
    values = dict(recorded)
    for amendment in amendments:
        for name, change in amendment.changes.items():
            to = change["to"]
            values[name] = datetime.datetime.fromisoformat(to) if name.endswith("_at") else to
    return values


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=6))
def test_stored_values_are_the_amendment_history_replayed(line, supervisor, steps):
    call = CallFactory(line=line)
    recorded = call.amendable_values()
    for wanted in steps:
        call = Call.objects.get(pk=call.pk)
        changes = {
            name: value
            for name, value in _changes(call, wanted).items()
            if getattr(call, name) != value
        }
        if not changes:
            continue
        if wanted.get("raw_sql"):
            diff = {
                name: {"from": _jsonable(getattr(call, name)), "to": _jsonable(value)}
                for name, value in changes.items()
            }
            _insert_amendment(call, diff, supervisor)
        else:
            services.amend_call(call=call, changes=changes, reason="Checked.", actor=supervisor)
    amendments = list(Amendment.objects.filter(call=call).order_by("id"))
    stored = Call.objects.get(pk=call.pk)
    assert stored.amendable_values() == _replay(recorded, amendments)
    assert stored.amendment_count == len(amendments)
    assert stored.elapsed == stored.ended_at - stored.started_at


# --- The trigger guards the history -----------------------------------------------------


def test_amendment_inserted_by_raw_sql_updates_the_entry(line, supervisor):
    call = CallFactory(line=line, outcome=Outcome.CONNECTED)
    _insert_amendment(call, {"outcome": {"from": "connected", "to": "no_answer"}}, supervisor)
    call.refresh_from_db()
    assert call.outcome == Outcome.NO_ANSWER
    assert call.amendment_count == 1


def _refused(match: str, exception=ProgrammingError):
    return pytest.raises(exception, match=match)


def test_amendment_with_a_stale_from_value_is_refused(line, supervisor):
    call = CallFactory(line=line, outcome=Outcome.CONNECTED)
    with _refused("not the entry's current value"), transaction.atomic():
        _insert_amendment(call, {"outcome": {"from": "busy", "to": "no_answer"}}, supervisor)
    assert _stored(call)["outcome"] == Outcome.CONNECTED
    assert not Amendment.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"over_limit": {"from": False, "to": True}},
        {"outcome": "no_answer"},
        {},
    ],
    ids=["not amendable", "no from and to", "empty"],
)
def test_malformed_amendment_is_refused(line, supervisor, changes):
    call = CallFactory(line=line)
    with _refused("amendable fields"), transaction.atomic():
        _insert_amendment(call, changes, supervisor)
    assert not Amendment.objects.exists()


def test_amendment_of_an_entry_in_progress_is_refused(line, supervisor):
    call = CallFactory(line=line, ended_at=None, outcome="")
    with _refused("in progress"), transaction.atomic():
        _insert_amendment(call, {"language": {"from": "ru", "to": "uk"}}, supervisor)


def test_amendment_breaking_an_entry_rule_is_refused(line, supervisor):
    call = CallFactory(line=line)
    flag = {"flagged": {"from": False, "to": True}}
    with _refused("calls_call_flag_has_reason", IntegrityError), transaction.atomic():
        _insert_amendment(call, flag, supervisor)
    assert _stored(call)["flagged"] is False


def test_current_values_cannot_be_updated_directly(line):
    call = CallFactory(line=line, outcome=Outcome.CONNECTED)
    for column, value in (("outcome", "'no_answer'"), ("amendment_count", "5")):
        with (
            _refused("changes only through an amendment"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"UPDATE calls_call SET {column} = {value} WHERE id = %s", [call.pk])
    call.refresh_from_db()
    assert (call.outcome, call.amendment_count) == (Outcome.CONNECTED, 0)


def test_every_amendable_field_is_applied(line, supervisor):
    call = CallFactory(line=line, flagged=False, flag_reason="")
    started_at = call.started_at - datetime.timedelta(hours=1)
    new = {
        "number_dialled": "+380441112233",
        "locality": "Kharkiv",
        "started_at": started_at,
        "ended_at": started_at + datetime.timedelta(minutes=3),
        "outcome": Outcome.BUSY,
        "language": "uk",
        "notes": "Corrected.",
        "flagged": True,
        "flag_reason": "Review the number.",
    }
    assert set(new) == set(AMENDABLE_FIELDS)
    services.amend_call(call=call, changes=new, reason="All wrong.", actor=supervisor)
    assert _stored(call) == new


# --- Rules and derived values read the current values ---------------------------------


def test_booking_after_an_amendment_to_no_answer_is_not_refused_by_the_interval(
    site, line, supervisor
):
    call = CallFactory(
        line=line,
        outcome=Outcome.CONNECTED,
        started_at=timezone.now() - datetime.timedelta(days=2),
    )
    prisoner = call.prisoner
    slot = CallSlotFactory(line=line, starts_at=timezone.now() + datetime.timedelta(hours=1))
    with pytest.raises(services.CallError, match="The last connected call was on"):
        services.book_slot(slot=slot, prisoner=prisoner, actor=supervisor)
    services.amend_call(
        call=call,
        changes={"outcome": Outcome.NO_ANSWER},
        reason="Nobody answered.",
        actor=supervisor,
    )
    booking = services.book_slot(slot=slot, prisoner=prisoner, actor=supervisor)
    assert booking.prisoner == prisoner


def test_prisoner_summary_follows_calls_bookings_and_amendments(line, supervisor):
    call = CallFactory(line=line, outcome=Outcome.INTERRUPTED_BY_ALERT)
    prisoner = Prisoner.objects.get(pk=call.prisoner_id)
    assert prisoner.makeup_owed_since == call.started_at
    assert prisoner.last_connected_at is None
    later = CallFactory(
        line=line,
        prisoner=prisoner,
        contact=call.contact,
        started_at=call.started_at + datetime.timedelta(hours=1),
    )
    prisoner.refresh_from_db()
    assert (prisoner.makeup_owed_since, prisoner.last_connected_at) == (None, later.started_at)
    services.amend_call(
        call=later, changes={"outcome": Outcome.BUSY}, reason="It was busy.", actor=supervisor
    )
    prisoner.refresh_from_db()
    assert (prisoner.makeup_owed_since, prisoner.last_connected_at) == (call.started_at, None)
    suspended = BookingFactory(
        prisoner=prisoner,
        slot__line=line,
        slot__starts_at=later.started_at + datetime.timedelta(hours=2),
        status="suspended",
    )
    prisoner.refresh_from_db()
    assert prisoner.makeup_owed_since == suspended.starts_at
