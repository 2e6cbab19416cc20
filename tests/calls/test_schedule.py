"""The schedule page: lines, weekly windows, slot generation, the call policy,
suspensions, the generate_slots command, and who may open each of these pages."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from calls.models import Booking, CallPolicy, CallSlot, Line, ScheduleWindow, Suspension
from camp.models import AuditEntry, Site
from camp.roles import Role
from tests.factories import (
    BookingFactory,
    CallSlotFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
    SiteFactory,
    UserFactory,
    login_verified,
)

DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)
MONDAY = datetime.date(2026, 3, 2)


def window(line, weekday=0, start=(9, 0), end=(12, 0), minutes=15):
    return ScheduleWindow.objects.create(
        line=line,
        weekday=weekday,
        starts_at=datetime.time(*start),
        ends_at=datetime.time(*end),
        slot_minutes=minutes,
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def world(site, staff):
    """One object of each kind at ``site``; ``staff`` books and requests contacts."""
    line = LineFactory(site=site, name="Line A")
    slot = CallSlotFactory(line=line)
    prisoner = PrisonerFactory(site=site)
    ContactFactory(prisoner=prisoner, requested_by=staff)
    later = CallSlotFactory(line=line, starts_at=slot.starts_at + datetime.timedelta(hours=2))
    return {
        "line": line,
        "window": window(line),
        "slot": slot,
        "booking": BookingFactory(slot=later, prisoner=prisoner, booked_by=staff),
        "prisoner": prisoner,
    }


# (method, URL name, object the URL takes, status for a supervisor)
PAGES = [
    ("get", "calls:schedule", None, 200),
    ("post", "calls:line-add", None, 200),
    ("post", "calls:line-toggle", "line", 302),
    ("post", "calls:window-add", None, 200),
    ("post", "calls:window-remove", "window", 302),
    ("post", "calls:slots-generate", None, 200),
    ("get", "calls:policy-add", None, 200),
    ("get", "calls:booking-list", None, 200),
    ("get", "calls:slot-book", "slot", 200),
    ("post", "calls:booking-cancel", "booking", 302),
    ("get", "calls:suspension-add", "prisoner", 200),
]
PAGE_IDS = [name for _method, name, _obj, _status in PAGES]


def url_for(name, target, objects):
    return reverse(name, args=[objects[target].pk]) if target else reverse(name)


@pytest.fixture
def objects(site, supervisor):
    return world(site, supervisor)


@pytest.fixture
def foreign_objects(other_site):
    return world(other_site, UserFactory(username="south-supervisor", sites=[other_site]))


# --- Who may open what ------------------------------------------------------------------


@pytest.mark.parametrize(("method", "name", "target", "status"), PAGES, ids=PAGE_IDS)
def test_anonymous_is_sent_to_log_in(client, objects, method, name, target, status):
    response = getattr(client, method)(url_for(name, target, objects))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(("method", "name", "target", "status"), PAGES, ids=PAGE_IDS)
def test_guard_is_refused_while_guards_may_not_book(
    guard_client, objects, method, name, target, status
):
    response = getattr(guard_client, method)(url_for(name, target, objects))
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMINISTRATOR])
@pytest.mark.parametrize(("method", "name", "target", "status"), PAGES, ids=PAGE_IDS)
def test_supervisors_and_administrators_are_let_in(
    role_clients, objects, role, method, name, target, status
):
    response = getattr(role_clients[role], method)(url_for(name, target, objects))
    assert response.status_code == status


@pytest.mark.parametrize(
    ("method", "name", "target", "status"), [page for page in PAGES if page[2]], ids=str
)
def test_another_sites_objects_are_not_found(
    supervisor_client, foreign_objects, method, name, target, status
):
    response = getattr(supervisor_client, method)(url_for(name, target, foreign_objects))
    assert response.status_code == 404


def test_guard_books_and_cancels_when_the_policy_lets_guards_book(site, guard_client, objects):
    CallPolicy.objects.create(site=site, effective_from=site.today(), guards_may_book=True)
    for method, name, target, status in PAGES:
        response = getattr(guard_client, method)(url_for(name, target, objects))
        if name in {"calls:booking-list", "calls:slot-book", "calls:booking-cancel"}:
            assert response.status_code == status, name
        else:
            assert response.status_code == 403, name


@pytest.mark.parametrize("name", ["calls:line-add", "calls:window-add", "calls:slots-generate"])
def test_changes_are_post_only(supervisor_client, name):
    assert supervisor_client.get(reverse(name)).status_code == 405


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("calls:line-toggle", "line"),
        ("calls:window-remove", "window"),
        ("calls:booking-cancel", "booking"),
    ],
)
def test_changes_to_objects_are_post_only(supervisor_client, objects, name, target):
    assert supervisor_client.get(url_for(name, target, objects)).status_code == 405


def test_staff_member_without_a_site_is_refused(db):
    lost = UserFactory(username="lost", role=Role.SUPERVISOR)
    from django.test import Client

    client = Client()
    login_verified(client, lost)
    assert client.get(reverse("calls:schedule")).status_code == 403


# --- The schedule page ----------------------------------------------------------------


def test_schedule_shows_lines_windows_and_policy_in_force(site, supervisor, supervisor_client):
    line = LineFactory(site=site, name="Line 1")
    LineFactory(site=site, name="Line 2", active=False)
    window(line, weekday=2, start=(14, 0), end=(17, 30))
    today = site.today()
    CallPolicy.objects.create(site=site, effective_from=today - 30 * DAY, note="First decision")
    in_force = CallPolicy.objects.create(site=site, effective_from=today - 2 * DAY)
    CallPolicy.objects.create(site=site, effective_from=today + 5 * DAY, calls_open=False)
    response = supervisor_client.get(reverse("calls:schedule"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Line 1" in html and "Line 2" in html and "Out of service" in html
    assert "Wednesday" in html and "14:00" in html and "17:30" in html
    assert "First decision" in html
    assert response.context["policy_in_force"] == in_force
    assert [p.effective_from for p in response.context["policies"]] == [
        today + 5 * DAY,
        today - 2 * DAY,
        today - 30 * DAY,
    ]
    assert "upcoming" in html


def test_schedule_without_policy_says_the_defaults_apply(supervisor_client):
    response = supervisor_client.get(reverse("calls:schedule"))
    assert "the camp defaults apply" in response.content.decode()


def test_schedule_page_runs_a_fixed_number_of_queries(
    site, supervisor_client, django_assert_num_queries
):
    def add_lines(count):
        for _n in range(count):
            line = LineFactory(site=site)
            for weekday in range(6):
                window(line, weekday=weekday)
            versions = CallPolicy.objects.filter(site=site).count()
            CallPolicy.objects.create(site=site, effective_from=site.today() - versions * DAY)

    add_lines(1)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        supervisor_client.get(reverse("calls:schedule"))
    add_lines(5)
    with django_assert_num_queries(len(few)):
        response = supervisor_client.get(reverse("calls:schedule"))
    assert len(response.context["lines"]) == 6


# --- Lines ----------------------------------------------------------------------------


def test_supervisor_adds_a_line(site, supervisor, supervisor_client):
    response = supervisor_client.post(reverse("calls:line-add"), {"name": " Line 3 "}, follow=True)
    line = Line.objects.get(site=site)
    assert line.name == "Line 3" and line.active
    assert "Line “Line 3” added." in messages_of(response)
    assert AuditEntry.objects.filter(action="calls.line.added", actor=supervisor).exists()


@pytest.mark.parametrize("name", ["", "   ", "Line 1"])
def test_line_without_name_or_with_a_taken_name_is_refused(site, supervisor_client, name):
    LineFactory(site=site, name="Line 1")
    response = supervisor_client.post(reverse("calls:line-add"), {"name": name})
    assert response.status_code == 200
    assert response.context["line_form"].errors
    assert Line.objects.filter(site=site).count() == 1


def test_supervisor_takes_a_line_out_of_service_and_back(site, supervisor_client):
    line = LineFactory(site=site, name="Line 1")
    url = reverse("calls:line-toggle", args=[line.pk])
    response = supervisor_client.post(url, {"active": "0"}, follow=True)
    line.refresh_from_db()
    assert not line.active
    assert "“Line 1” is out of service; no new slots are generated for it." in messages_of(response)
    # Sending the same state again changes nothing.
    supervisor_client.post(url, {"active": "0"})
    line.refresh_from_db()
    assert not line.active
    supervisor_client.post(url, {"active": "1"})
    line.refresh_from_db()
    assert line.active
    assert list(
        AuditEntry.objects.filter(target_id=str(line.pk))
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["calls.line.deactivated", "calls.line.deactivated", "calls.line.activated"]


def test_line_toggle_without_a_state_changes_nothing(site, supervisor_client):
    line = LineFactory(site=site)
    response = supervisor_client.post(
        reverse("calls:line-toggle", args=[line.pk]), {"active": "maybe"}, follow=True
    )
    line.refresh_from_db()
    assert line.active
    assert "Choose whether the line is in service." in messages_of(response)
    assert not AuditEntry.objects.exists()


# --- Weekly windows -------------------------------------------------------------------


def window_data(line, **changes):
    data = {
        "line": line.pk,
        "weekday": 0,
        "starts_at": "09:00",
        "ends_at": "12:00",
        "slot_minutes": 15,
    }
    return {**data, **changes}


def test_supervisor_adds_a_weekly_window(site, supervisor_client):
    line = LineFactory(site=site, name="Line 1")
    response = supervisor_client.post(
        reverse("calls:window-add"), window_data(line, weekday=4), follow=True
    )
    window = ScheduleWindow.objects.get()
    assert (window.line, window.weekday, window.slot_minutes) == (line, 4, 15)
    assert window.starts_at == datetime.time(9) and window.ends_at == datetime.time(12)
    assert "Window Line 1 Friday 09:00–12:00 added." in messages_of(response)


def test_slot_length_defaults_to_fifteen_minutes(site, supervisor_client):
    LineFactory(site=site)
    form = supervisor_client.get(reverse("calls:schedule")).context["window_form"]
    assert form["slot_minutes"].value() == 15


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_at": "09:00"}, "ends_at", "The window must end after it starts."),
        ({"ends_at": "08:00"}, "ends_at", "The window must end after it starts."),
        ({"starts_at": "11:00", "ends_at": "13:00"}, None, "overlaps another window"),
        ({"slot_minutes": 4}, "slot_minutes", "greater than or equal to 5"),
        ({"slot_minutes": 61}, "slot_minutes", "less than or equal to 60"),
        ({"weekday": 7}, "weekday", "Select a valid choice"),
        ({"starts_at": "25:00"}, "starts_at", "Enter a valid time"),
    ],
)
def test_bad_windows_are_refused_and_nothing_is_written(
    site, supervisor_client, changes, field, message
):
    line = LineFactory(site=site)
    window(line, weekday=0, start=(9, 0), end=(12, 0))
    response = supervisor_client.post(reverse("calls:window-add"), window_data(line, **changes))
    assert response.status_code == 200
    errors = response.context["window_form"].errors
    key = field or "__all__"
    assert any(message in error for error in errors[key])
    assert ScheduleWindow.objects.count() == 1
    assert not AuditEntry.objects.exists()


def test_window_for_another_sites_line_is_refused(site, other_site, supervisor_client):
    foreign = LineFactory(site=other_site)
    response = supervisor_client.post(reverse("calls:window-add"), window_data(foreign))
    assert "line" in response.context["window_form"].errors
    assert not ScheduleWindow.objects.exists()


def test_windows_of_the_same_line_may_touch_and_other_lines_may_overlap(site, supervisor_client):
    line, other = LineFactory(site=site), LineFactory(site=site)
    window(line, start=(9, 0), end=(12, 0))
    supervisor_client.post(
        reverse("calls:window-add"), window_data(line, starts_at="12:00", ends_at="13:00")
    )
    supervisor_client.post(reverse("calls:window-add"), window_data(other))
    assert ScheduleWindow.objects.count() == 3


def test_removing_a_window_keeps_its_slots(site, supervisor, supervisor_client):
    line = LineFactory(site=site)
    removed = window(line)
    CallSlotFactory(line=line)
    response = supervisor_client.post(
        reverse("calls:window-remove", args=[removed.pk]), follow=True
    )
    assert not ScheduleWindow.objects.exists()
    assert CallSlot.objects.count() == 1
    assert "slots already generated from it stay" in messages_of(response)[0]
    assert AuditEntry.objects.get(action="calls.schedulewindow.removed").actor == supervisor


# --- Generating slots -----------------------------------------------------------------


def test_generate_slots_reports_how_many_and_twice_creates_none(site, supervisor_client):
    line = LineFactory(site=site)
    window(line, weekday=0, start=(9, 0), end=(10, 0))  # 4 slots every Monday
    data = {"date_from": "2026-03-01", "date_to": "2026-03-16"}  # three Mondays
    response = supervisor_client.post(reverse("calls:slots-generate"), data, follow=True)
    assert "12 slots created." in messages_of(response)
    assert CallSlot.objects.count() == 12
    response = supervisor_client.post(reverse("calls:slots-generate"), data, follow=True)
    assert "0 slots created." in messages_of(response)
    assert CallSlot.objects.count() == 12


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"date_from": "2026-03-10", "date_to": "2026-03-09"}, "date_to", "before the start"),
        ({"date_from": "2026-01-01", "date_to": "2027-06-01"}, "date_to", "at most a year"),
        ({"date_from": "2026-02-30", "date_to": "2026-03-09"}, "date_from", "valid date"),
        ({"date_from": "9999-12-31", "date_to": "9999-12-31"}, "date_from", "2000 and 2099"),
        ({"date_from": "", "date_to": "2026-03-09"}, "date_from", "required"),
    ],
)
def test_bad_generation_ranges_are_refused(site, supervisor_client, data, field, message):
    window(LineFactory(site=site))
    response = supervisor_client.post(reverse("calls:slots-generate"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["generate_form"].errors[field])
    assert not CallSlot.objects.exists()
    assert not AuditEntry.objects.exists()


def test_schedule_says_how_far_slots_exist(site, supervisor_client):
    line = LineFactory(site=site)
    CallSlotFactory(line=line, starts_at=datetime.datetime(2030, 5, 6, 9, 0, tzinfo=site.zone))
    response = supervisor_client.get(reverse("calls:schedule"))
    assert response.context["last_slot_day"] == datetime.date(2030, 5, 6)
    # The form proposes to go on from the day after.
    form = response.context["generate_form"]
    assert form["date_from"].value() == datetime.date(2030, 5, 7)
    assert form["date_to"].value() == datetime.date(2030, 6, 3)


def test_generate_form_proposes_the_next_four_weeks(site, supervisor_client):
    form = supervisor_client.get(reverse("calls:schedule")).context["generate_form"]
    assert form["date_from"].value() == site.today()
    assert form["date_to"].value() == site.today() + 27 * DAY


# --- The generate_slots command -------------------------------------------------------


def run_generate(*args):
    out = StringIO()
    call_command("generate_slots", *args, stdout=out)
    return out.getvalue()


def test_command_generates_for_every_site_and_twice_creates_nothing(site, other_site):
    window(LineFactory(site=site), weekday=0, start=(9, 0), end=(10, 0))
    window(LineFactory(site=other_site), weekday=1, start=(9, 0), end=(9, 30))
    output = run_generate("--from", "2026-03-02", "--to", "2026-03-08")
    assert "NC (North camp): 4 slots created." in output
    assert "SC (South camp): 2 slots created." in output
    assert "6 slots created from 2026-03-02 to 2026-03-08." in output
    output = run_generate("--from", "2026-03-02", "--to", "2026-03-08")
    assert "0 slots created from" in output
    assert CallSlot.objects.count() == 6
    # One entry per site and run, also for the default site without windows.
    generated = AuditEntry.objects.filter(action="calls.slots.generated", actor=None)
    assert generated.count() == 2 * Site.objects.count()


def test_command_generates_for_one_site(site, other_site):
    window(LineFactory(site=site), weekday=0, start=(9, 0), end=(10, 0))
    window(LineFactory(site=other_site), weekday=0, start=(9, 0), end=(10, 0))
    output = run_generate("--from", "2026-03-02", "--to", "2026-03-02", "--site", "sc")
    assert "SC (South camp): 4 slots created." in output
    assert "NC" not in output
    assert set(CallSlot.objects.values_list("line__site__code", flat=True)) == {"SC"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-03-09", "--to", "2026-03-02"], "is before --from"),
        (["--from", "2026-3-2x", "--to", "2026-03-02"], "is not a date; write it as YYYY-MM-DD"),
        (["--from", "2026-03-02", "--to", "tomorrow"], "“tomorrow” is not a date"),
        (["--from", "2026-03-02", "--to", "2026-03-09", "--site", "XX"], "no site with code"),
        (["--from", "2025-01-01", "--to", "2026-03-09"], "Nothing was written."),
    ],
)
def test_command_refuses_bad_input_and_writes_nothing(site, args, message):
    window(LineFactory(site=site))
    with pytest.raises(CommandError, match=message):
        run_generate(*args)
    assert not CallSlot.objects.exists()
    assert not AuditEntry.objects.exists()


def test_command_writes_nothing_when_a_later_site_refuses(site, monkeypatch):
    from calls import services
    from calls.services import CallError

    south = SiteFactory(name="Zulu camp", code="ZC")
    window(LineFactory(site=site))
    window(LineFactory(site=south))
    real = services.generate_slots

    def refuse_for_south(*, site, **kwargs):
        if site.code == "ZC":
            raise CallError("Refused for the test.")
        return real(site=site, **kwargs)

    monkeypatch.setattr(services, "generate_slots", refuse_for_south)
    with pytest.raises(CommandError, match=r"ZC: Refused for the test\. Nothing was written\."):
        run_generate("--from", "2026-03-02", "--to", "2026-03-02")
    assert not CallSlot.objects.exists()


# --- The call policy ------------------------------------------------------------------


def policy_data(site, **changes):
    data = {
        "effective_from": (site.today() + DAY).isoformat(),
        "calls_open": "on",
        "max_minutes": 15,
        "min_days_between": 10,
        "max_calls_per_month": 3,
        "note": "Order 52 of the coordination office.",
    }
    return {key: value for key, value in {**data, **changes}.items() if value is not None}


def test_policy_form_starts_from_the_version_in_force(site, supervisor_client):
    CallPolicy.objects.create(
        site=site, effective_from=site.today(), max_minutes=12, guards_may_book=True
    )
    form = supervisor_client.get(reverse("calls:policy-add")).context["form"]
    assert form["max_minutes"].value() == 12
    assert form["guards_may_book"].value() is True
    assert form["effective_from"].value() == site.today() + DAY


def test_supervisor_puts_a_new_policy_version_in_force(site, supervisor, supervisor_client):
    old = CallPolicy.objects.create(site=site, effective_from=site.today() - 10 * DAY)
    response = supervisor_client.post(
        reverse("calls:policy-add"), policy_data(site, guards_may_book="on"), follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("calls:schedule")
    new = CallPolicy.objects.exclude(pk=old.pk).get()
    assert new.effective_from == site.today() + DAY
    assert (new.calls_open, new.max_minutes, new.min_days_between) == (True, 15, 10)
    assert (new.max_calls_per_month, new.guards_may_book) == (3, True)
    assert new.note == "Order 52 of the coordination office."
    assert new.created_by == supervisor
    assert AuditEntry.objects.filter(action="calls.callpolicy.set", actor=supervisor).exists()
    # The new version is upcoming; the old one is still in force today.
    assert response.context["policy_in_force"] == old


def test_policy_closing_the_programme_is_saved_unticked(site, supervisor_client):
    supervisor_client.post(reverse("calls:policy-add"), policy_data(site, calls_open=None))
    assert CallPolicy.objects.get().calls_open is False


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"effective_from": "2020-01-01"}, "effective_from", "cannot take effect in the past"),
        ({"effective_from": "not a date"}, "effective_from", "valid date"),
        ({"max_minutes": 0}, "max_minutes", "greater than or equal to 1"),
        ({"max_minutes": 61}, "max_minutes", "less than or equal to 60"),
        ({"min_days_between": -1}, "min_days_between", "greater than or equal to 0"),
        ({"max_calls_per_month": ""}, "max_calls_per_month", "required"),
    ],
)
def test_bad_policy_versions_are_refused(site, supervisor_client, changes, field, message):
    response = supervisor_client.post(reverse("calls:policy-add"), policy_data(site, **changes))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not CallPolicy.objects.exists()


def test_second_policy_version_on_the_same_date_is_refused(site, supervisor_client):
    CallPolicy.objects.create(site=site, effective_from=site.today() + DAY)
    response = supervisor_client.post(reverse("calls:policy-add"), policy_data(site))
    assert "already takes effect on this date" in " ".join(
        response.context["form"].errors["effective_from"]
    )
    assert CallPolicy.objects.count() == 1


# --- Suspensions ----------------------------------------------------------------------


@pytest.fixture
def prisoner(site, supervisor):
    prisoner = PrisonerFactory(site=site)
    ContactFactory(prisoner=prisoner, requested_by=supervisor)
    return prisoner


def suspension_data(site, **changes):
    today = site.today()
    data = {
        "reason": Suspension.Reason.SECURITY_INVESTIGATION,
        "authority": "Investigator Koval",
        "document_reference": "INV-318/26",
        "starts_on": today.isoformat(),
        "ends_on": (today + 20 * DAY).isoformat(),
    }
    return {**data, **changes}


def test_suspension_form_lists_the_prisoners_suspensions(
    site, supervisor, supervisor_client, prisoner
):
    today = site.today()
    Suspension.objects.create(
        prisoner=prisoner,
        reason=Suspension.Reason.MEDICAL,
        authority="Camp doctor",
        starts_on=today - 40 * DAY,
        ends_on=today - 30 * DAY,
        created_by=supervisor,
    )
    Suspension.objects.create(
        prisoner=prisoner,
        reason=Suspension.Reason.AUTHORITY_DECISION,
        authority="Coordination office",
        starts_on=today - DAY,
        ends_on=today + DAY,
        created_by=supervisor,
    )
    response = supervisor_client.get(reverse("calls:suspension-add", args=[prisoner.pk]))
    html = response.content.decode()
    assert "Camp doctor" in html and "Coordination office" in html
    assert [s.is_active for s in response.context["suspensions"]] == [True, False]
    assert html.count('class="table-danger"') == 1
    assert response.context["form"]["starts_on"].value() == today


def test_supervisor_suspends_a_prisoners_calls(site, supervisor, supervisor_client, prisoner):
    response = supervisor_client.post(
        reverse("calls:suspension-add", args=[prisoner.pk]), suspension_data(site)
    )
    assert response.status_code == 302
    assert response.url == reverse("prisoners:prisoner-detail", args=[prisoner.pk])
    suspension = Suspension.objects.get()
    assert suspension.prisoner == prisoner
    assert suspension.authority == "Investigator Koval"
    assert suspension.document_reference == "INV-318/26"
    assert suspension.ends_on == site.today() + 20 * DAY
    assert suspension.created_by == supervisor
    assert AuditEntry.objects.filter(action="calls.suspension.added").exists()


def test_suspending_cancels_the_bookings_inside_it(site, supervisor, supervisor_client, prisoner):
    line = LineFactory(site=site)
    noon = site.day_start(site.today() + 2 * DAY) + datetime.timedelta(hours=12)
    inside = BookingFactory(
        prisoner=prisoner,
        slot=CallSlotFactory(line=line, starts_at=noon, ends_at=noon + 15 * MINUTE),
    )
    later = noon + 30 * DAY
    outside = BookingFactory(
        prisoner=prisoner,
        slot=CallSlotFactory(line=line, starts_at=later, ends_at=later + 15 * MINUTE),
    )

    response = supervisor_client.post(
        reverse("calls:suspension-add", args=[prisoner.pk]), suspension_data(site), follow=True
    )

    inside.refresh_from_db()
    outside.refresh_from_db()
    assert inside.status == Booking.Status.CANCELLED
    assert "Calls suspended: Security investigation" in inside.cancel_reason
    assert outside.status == Booking.Status.BOOKED
    assert "1 booking inside the suspension was cancelled." in messages_of(response)
    assert AuditEntry.objects.filter(
        action="calls.booking.cancelled", target_id=str(inside.pk)
    ).exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_on": "2020-01-01"}, "ends_on", "must end on or after its first day"),
        ({"ends_on": ""}, "ends_on", "required"),
        ({"reason": "punishment"}, "reason", "Select a valid choice"),
        ({"authority": ""}, "authority", "required"),
        ({"starts_on": "31.02.2026"}, "starts_on", "valid date"),
        ({"ends_on": "9999-12-31"}, "ends_on", "2000 and 2099"),
    ],
)
def test_bad_suspensions_are_refused(site, supervisor_client, prisoner, changes, field, message):
    response = supervisor_client.post(
        reverse("calls:suspension-add", args=[prisoner.pk]), suspension_data(site, **changes)
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Suspension.objects.exists()


def test_suspensions_partial_shows_active_ones_highlighted(site, supervisor, prisoner):
    from django.template.loader import render_to_string

    from calls.selectors import suspensions_for

    today = site.today()
    Suspension.objects.create(
        prisoner=prisoner,
        reason=Suspension.Reason.PRISONER_REQUEST,
        authority="The prisoner",
        starts_on=today,
        ends_on=today,
        created_by=supervisor,
    )
    html = render_to_string(
        "calls/_suspensions.html",
        {"prisoner": prisoner, "suspensions": suspensions_for(prisoner), "is_supervisor": True},
    )
    assert "Prisoner&#x27;s own request" in html
    assert "table-danger" in html and "in force" in html
    assert reverse("calls:suspension-add", args=[prisoner.pk]) in html
    assert not suspensions_for(prisoner, today=today + DAY).get().is_active
