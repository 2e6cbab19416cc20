"""Taking a line out of service while it holds live bookings: the supervisor is told
how many and chooses to cancel them (their prisoners are then owed a make-up call)
or to keep the line in service; the desk explains every booked slot it cannot serve."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from calls import services
from calls.models import Booking, Call, CallSlot, Line
from calls.services import CallError
from calls.views.desk import SlotState
from camp.models import AuditEntry, User
from prisoners.models import Contact, Prisoner
from tests.factories import (
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
    UserFactory,
)

MINUTE = datetime.timedelta(minutes=1)
DESK = reverse("calls:desk")


def book(line, *, starts_in, prisoner=None, minutes=15):
    """A booking of a new slot on ``line`` starting ``starts_in`` minutes from now."""
    starts_at = (timezone.now() + starts_in * MINUTE).replace(second=0, microsecond=0)
    slot = CallSlotFactory(line=line, starts_at=starts_at, ends_at=starts_at + minutes * MINUTE)
    if prisoner is None:
        return BookingFactory(slot=slot)
    return BookingFactory(slot=slot, prisoner=prisoner)


def toggle_url(line):
    return reverse("calls:line-toggle", args=[line.pk])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def statuses(*bookings):
    return [Booking.objects.get(pk=booking.pk).status for booking in bookings]


@pytest.fixture
def line(site):
    return LineFactory(site=site, name="Line A")


@pytest.fixture
def bookings(line):
    """Two live bookings on ``line`` and three that are not live: over, cancelled,
    and one whose slot runs now but has had a call made in it."""
    soon = book(line, starts_in=15)
    later = book(line, starts_in=60)
    over = book(line, starts_in=-60)
    cancelled = book(line, starts_in=120)
    cancelled.status = Booking.Status.CANCELLED
    cancelled.cancel_reason = "Transferred"
    cancelled.save()
    called = book(line, starts_in=-5)
    CallFactory(
        line=line,
        prisoner=called.prisoner,
        booking=called,
        started_at=called.starts_at,
        ended_at=called.starts_at + 2 * MINUTE,
        outcome=Call.Outcome.NO_ANSWER,
    )
    return {"live": [soon, later], "not_live": [over, cancelled, called]}


# --- The service ------------------------------------------------------------------------


def test_taking_out_a_line_with_live_bookings_is_refused_with_their_number(
    line, bookings, supervisor
):
    with pytest.raises(CallError) as caught:
        services.set_line_active(line=line, active=False, actor=supervisor)
    assert caught.value.live_bookings == 2
    assert "holds 2 live bookings" in caught.value.messages[0]
    line.refresh_from_db()
    assert line.active
    assert statuses(*bookings["live"]) == [Booking.Status.BOOKED] * 2
    assert not AuditEntry.objects.exists()


def test_cancelling_suspends_only_the_live_bookings(line, bookings, supervisor):
    not_live_before = statuses(*bookings["not_live"])

    saved = services.set_line_active(
        line=line, active=False, actor=supervisor, cancel_bookings=True
    )

    assert not saved.active and saved.suspended_bookings == 2
    assert not Line.objects.get(pk=line.pk).active
    for booking in bookings["live"]:
        booking.refresh_from_db()
        assert booking.status == Booking.Status.SUSPENDED
        assert booking.cancel_reason == (
            "Line “Line A” taken out of service: booking cancelled, make-up call owed."
        )
    assert statuses(*bookings["not_live"]) == not_live_before
    suspended_audit = AuditEntry.objects.filter(action="calls.booking.suspended")
    assert sorted(int(entry.target_id) for entry in suspended_audit) == sorted(
        booking.pk for booking in bookings["live"]
    )
    deactivated = AuditEntry.objects.get(action="calls.line.deactivated")
    assert deactivated.target_id == str(line.pk)
    assert deactivated.data == {"suspended_bookings": 2}


def test_a_booking_in_the_slot_running_now_without_a_call_is_live(line, supervisor):
    running = book(line, starts_in=-5)
    with pytest.raises(CallError) as caught:
        services.set_line_active(line=line, active=False, actor=supervisor)
    assert caught.value.live_bookings == 1
    assert "holds 1 live booking:" in caught.value.messages[0]
    services.set_line_active(line=line, active=False, actor=supervisor, cancel_bookings=True)
    assert statuses(running) == [Booking.Status.SUSPENDED]


def test_a_line_without_live_bookings_goes_out_at_once(line, supervisor):
    book(line, starts_in=-60)
    saved = services.set_line_active(line=line, active=False, actor=supervisor)
    assert not saved.active and saved.suspended_bookings == 0


def test_putting_a_line_back_in_service_leaves_its_bookings(line, bookings, supervisor):
    services.set_line_active(line=line, active=False, actor=supervisor, cancel_bookings=True)
    services.set_line_active(line=line, active=True, actor=supervisor)
    assert Line.objects.get(pk=line.pk).active
    assert statuses(*bookings["live"]) == [Booking.Status.SUSPENDED] * 2


# --- The supervisor's choice --------------------------------------------------------------


def test_supervisor_is_told_how_many_bookings_and_nothing_changes(
    line, bookings, supervisor_client
):
    response = supervisor_client.post(toggle_url(line), {"active": "0"})

    assert response.status_code == 200
    assert response.templates[0].name == "calls/line_service_confirm.html"
    content = response.content.decode()
    assert "holds 2 live bookings" in content
    assert "Cancel the 2 bookings and take the line out of service" in content
    assert "Keep the line in service" in content
    assert 'name="bookings" value="cancel"' in content
    assert 'name="bookings" value="keep"' in content
    line.refresh_from_db()
    assert line.active
    assert statuses(*bookings["live"]) == [Booking.Status.BOOKED] * 2
    assert not AuditEntry.objects.exists()


def test_choosing_to_cancel_takes_the_line_out_and_the_prisoners_are_owed_a_make_up(
    site, other_site, line, bookings, supervisor_client, guard_client
):
    # Another site's line and bookings stay as they are, and its desk is its own.
    foreign_line = LineFactory(site=other_site, name="Line A")
    foreign = book(foreign_line, starts_in=60)

    response = supervisor_client.post(
        toggle_url(line), {"active": "0", "bookings": "cancel"}, follow=True
    )

    assert response.redirect_chain == [(reverse("calls:schedule"), 302)]
    shown = messages_of(response)
    assert "“Line A” is out of service; no new slots are generated for it." in shown
    assert "2 bookings were cancelled; their prisoners are owed a make-up call." in shown
    line.refresh_from_db()
    assert not line.active
    assert statuses(*bookings["live"]) == [Booking.Status.SUSPENDED] * 2
    assert AuditEntry.objects.filter(action="calls.booking.suspended").count() == 2
    assert AuditEntry.objects.filter(action="calls.line.deactivated").count() == 1
    foreign_line.refresh_from_db()
    assert foreign_line.active
    assert statuses(foreign) == [Booking.Status.BOOKED]

    desk = guard_client.get(DESK)
    owed = {prisoner.pk for prisoner in desk.context["makeup"]}
    assert owed == {booking.prisoner_id for booking in bookings["live"]}
    makeup_html = desk.content.decode().split('id="makeup-heading"')[1].split("</section>")[0]
    for booking in bookings["live"]:
        assert booking.prisoner.isn in makeup_html
    assert foreign.prisoner.isn not in makeup_html


def test_choosing_to_keep_the_line_changes_nothing(line, bookings, supervisor_client):
    response = supervisor_client.post(
        toggle_url(line), {"active": "0", "bookings": "keep"}, follow=True
    )

    assert response.redirect_chain == [(reverse("calls:schedule"), 302)]
    assert "“Line A” stays in service; its bookings stand." in messages_of(response)
    line.refresh_from_db()
    assert line.active
    assert statuses(*bookings["live"]) == [Booking.Status.BOOKED] * 2
    assert not AuditEntry.objects.exists()


def test_only_a_supervisor_may_cancel_the_bookings(line, bookings, guard_client, supervisor_client):
    for answer in [{}, {"bookings": "cancel"}, {"bookings": "keep"}]:
        response = guard_client.post(toggle_url(line), {"active": "0", **answer})
        assert response.status_code == 403
    line.refresh_from_db()
    assert line.active
    assert statuses(*bookings["live"]) == [Booking.Status.BOOKED] * 2
    assert not AuditEntry.objects.exists()
    # The same request from a supervisor does it.
    supervisor_client.post(toggle_url(line), {"active": "0", "bookings": "cancel"})
    assert statuses(*bookings["live"]) == [Booking.Status.SUSPENDED] * 2


def test_another_sites_line_is_not_found(other_site, line, bookings, supervisor_client):
    foreign_line = LineFactory(site=other_site)
    foreign = book(foreign_line, starts_in=60)
    for answer in [{}, {"bookings": "cancel"}]:
        response = supervisor_client.post(toggle_url(foreign_line), {"active": "0", **answer})
        assert response.status_code == 404
    foreign_line.refresh_from_db()
    assert foreign_line.active
    assert statuses(foreign) == [Booking.Status.BOOKED]
    # The supervisor's own line, asked the same, goes out with its bookings.
    supervisor_client.post(toggle_url(line), {"active": "0", "bookings": "cancel"})
    assert statuses(*bookings["live"]) == [Booking.Status.SUSPENDED] * 2
    assert statuses(foreign) == [Booking.Status.BOOKED]


def test_an_unknown_answer_changes_nothing(line, bookings, supervisor_client):
    response = supervisor_client.post(
        toggle_url(line), {"active": "0", "bookings": "later"}, follow=True
    )
    assert "Choose whether the line is in service." in messages_of(response)
    line.refresh_from_db()
    assert line.active
    assert statuses(*bookings["live"]) == [Booking.Status.BOOKED] * 2


# --- The desk -----------------------------------------------------------------------------


def _row(response, slot):
    rows = {row.slot.pk: row for desk_line in response.context["lines"] for row in desk_line.slots}
    return rows[slot.pk]


def test_desk_explains_a_booking_cancelled_with_its_line(line, supervisor, guard_client):
    booking = book(line, starts_in=-5)
    services.set_line_active(line=line, active=False, actor=supervisor, cancel_bookings=True)

    response = guard_client.get(DESK)

    row = _row(response, booking.slot)
    assert row.state == SlotState.LINE_OUT
    assert not row.can_start and not row.can_no_show
    assert row.note == "Line out of service — booking cancelled, make-up call owed."
    content = response.content.decode()
    assert "Line out of service — booking cancelled, make-up call owed." in content
    # Not mistaken for an air-raid alert, and not waiting for its prisoner.
    assert "Suspended by alert" not in content
    assert booking not in [row.booking for row in response.context["next_due"]]


def test_desk_explains_a_booked_slot_left_on_a_line_out_of_service(line, guard_client):
    """Booked before taking lines out asked what to do with their bookings."""
    booking = book(line, starts_in=-5)
    Line.objects.filter(pk=line.pk).update(active=False)

    response = guard_client.get(DESK)

    row = _row(response, booking.slot)
    assert row.state == SlotState.LINE_OUT
    assert not row.can_start and not row.can_no_show
    assert row.note
    assert "Line out of service — no call in this slot" in response.content.decode()
    assert booking not in [row.booking for row in response.context["next_due"]]


def test_desk_shows_no_booked_slot_on_a_line_out_of_service_without_an_explanation(
    line, bookings, supervisor, guard_client
):
    services.set_line_active(line=line, active=False, actor=supervisor, cancel_bookings=True)
    response = guard_client.get(DESK)
    (desk_line,) = [d for d in response.context["lines"] if d.line.pk == line.pk]
    explained = {
        row.booking.pk: row.state
        for row in desk_line.slots
        if row.booking is not None and (row.note or row.state == SlotState.DONE)
    }
    # The cancelled booking does not hold its slot; every other one says why it waits.
    assert explained == {
        **{booking.pk: SlotState.LINE_OUT for booking in bookings["live"]},
        bookings["not_live"][0].pk: SlotState.LINE_OUT,
        bookings["not_live"][2].pk: SlotState.DONE,
    }


# --- Under concurrency ----------------------------------------------------------------------


def _in_thread(job):
    """Run ``job`` on its own connection in a thread; ``outcome`` holds its result or error."""
    outcome = {}

    def run():
        try:
            outcome["result"] = job()
        except Exception as error:  # the assertions decide which errors are expected
            outcome["result"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _held_open(job, ready, release):
    """``job`` in a transaction that stays open, its locks held, until ``release``."""

    def held():
        with transaction.atomic():
            result = job()
            ready.set()
            assert release.wait(timeout=30)
        return result

    return held


def _wait_until_blocked(thread, timeout=10):
    """Until another connection waits for a lock, or ``thread`` is done without waiting."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline and thread.is_alive():
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)


def _booking_job(slot_pk, prisoner_pk, actor_pk):
    def job():
        slot = CallSlot.objects.select_related("line__site").get(pk=slot_pk)
        prisoner = Prisoner.objects.select_related("site").get(pk=prisoner_pk)
        return services.book_slot(slot=slot, prisoner=prisoner, actor=User.objects.get(pk=actor_pk))

    return job


def _deactivation_job(line_pk, actor_pk):
    def job():
        line = Line.objects.select_related("site").get(pk=line_pk)
        return services.set_line_active(
            line=line, active=False, actor=User.objects.get(pk=actor_pk), cancel_bookings=True
        )

    return job


def _race(first, second):
    """``first`` commits only after ``second`` has started and blocked (or finished)."""
    ready, release = threading.Event(), threading.Event()
    first_thread, first_outcome = _in_thread(_held_open(first, ready, release))
    assert ready.wait(timeout=30)
    second_thread, second_outcome = _in_thread(second)
    _wait_until_blocked(second_thread)
    release.set()
    for thread in (first_thread, second_thread):
        thread.join(timeout=60)
        assert not thread.is_alive()
    return first_outcome["result"], second_outcome["result"]


def _eligible_prisoner(site, staff):
    prisoner = PrisonerFactory(site=site)
    ContactFactory(prisoner=prisoner, requested_by=staff)
    return prisoner


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_booking_arriving_while_the_line_goes_out_is_refused(site, supervisor):
    line = LineFactory(site=site)
    slot = CallSlotFactory(line=line)
    prisoner = _eligible_prisoner(site, supervisor)

    deactivated, booked = _race(
        _deactivation_job(line.pk, supervisor.pk),
        _booking_job(slot.pk, prisoner.pk, supervisor.pk),
    )

    assert isinstance(deactivated, Line), deactivated
    assert isinstance(booked, CallError), booked
    assert booked.messages == ["This line is out of service."]
    assert not Booking.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_booking_made_while_the_line_goes_out_is_suspended_with_the_others(site, supervisor):
    line = LineFactory(site=site)
    slot = CallSlotFactory(line=line)
    prisoner = _eligible_prisoner(site, supervisor)

    booked, deactivated = _race(
        _booking_job(slot.pk, prisoner.pk, supervisor.pk),
        _deactivation_job(line.pk, supervisor.pk),
    )

    assert isinstance(booked, Booking), booked
    assert isinstance(deactivated, Line), deactivated
    assert deactivated.suspended_bookings == 1
    assert Booking.objects.get().status == Booking.Status.SUSPENDED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_call_started_while_the_line_goes_out_is_refused(site, supervisor):
    guard = UserFactory(username="desk-guard", sites=[site])
    booking = book(LineFactory(site=site), starts_in=-2)
    contact = ContactFactory(prisoner=booking.prisoner, status=Contact.Status.APPROVED)

    def start():
        fresh = Booking.objects.select_related("slot__line__site", "prisoner__site").get(
            pk=booking.pk
        )
        return services.start_call(
            line=fresh.slot.line,
            prisoner=fresh.prisoner,
            contact=Contact.objects.get(pk=contact.pk),
            actor=User.objects.get(pk=guard.pk),
            booking=fresh,
        )

    deactivated, started = _race(_deactivation_job(booking.slot.line_id, supervisor.pk), start)

    assert isinstance(deactivated, Line), deactivated
    assert deactivated.suspended_bookings == 1
    assert isinstance(started, CallError), started
    assert not Call.objects.exists()
    assert Booking.objects.get().status == Booking.Status.SUSPENDED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_unscheduled_call_started_while_the_line_goes_out_is_refused(site, supervisor):
    guard = UserFactory(username="desk-guard", sites=[site])
    line = LineFactory(site=site)
    prisoner = _eligible_prisoner(site, supervisor)
    contact = Contact.objects.get(prisoner=prisoner)

    def start():
        return services.start_call(
            line=Line.objects.select_related("site").get(pk=line.pk),
            prisoner=Prisoner.objects.select_related("site").get(pk=prisoner.pk),
            contact=Contact.objects.get(pk=contact.pk),
            actor=User.objects.get(pk=guard.pk),
        )

    deactivated, started = _race(_deactivation_job(line.pk, supervisor.pk), start)

    assert isinstance(deactivated, Line), deactivated
    assert isinstance(started, CallError), started
    assert started.messages == ["This line is out of service."]
    assert not Call.objects.exists()
