import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calls import services
from calls.models import Call
from calls.views import logbook as logbook_views
from camp.roles import Role
from prisoners.models import Prisoner
from tests.factories import (
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
    SiteFactory,
    UserFactory,
    login_verified,
)

URL_NAMES = ["logbook", "call-detail", "call-amend", "call-transcribe"]


def _url(name: str, call: Call) -> str:
    if name in {"call-detail", "call-amend"}:
        return reverse(f"calls:{name}", args=[call.pk])
    return reverse(f"calls:{name}")


def _at(site, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """``day`` at ``hour:minute`` on the site's clock."""
    return site.day_start(day) + datetime.timedelta(hours=hour, minutes=minute)


def _days_ago(site, days: int) -> datetime.date:
    return site.today() - datetime.timedelta(days=days)


def _call_at(site, started_at: datetime.datetime, **kwargs) -> Call:
    kwargs.setdefault("line", LineFactory(site=site))
    return CallFactory(started_at=started_at, **kwargs)


@pytest.fixture
def line(site):
    return LineFactory(site=site, name="Line A")


@pytest.fixture
def entry(site, line):
    """A closed entry, monitored by another guard two days ago."""
    other_guard = UserFactory(role=Role.GUARD, sites=[site])
    return CallFactory(line=line, monitor=other_guard)


# --- Permissions ----------------------------------------------------------------------


@pytest.mark.parametrize("name", URL_NAMES)
def test_anonymous_is_sent_to_log_in(client, entry, name):
    response = client.get(_url(name, entry))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", URL_NAMES)
def test_user_without_role_is_refused(client, no_role_user, entry, name):
    client.force_login(no_role_user)
    assert client.get(_url(name, entry)).status_code == 403


@pytest.mark.parametrize(
    ("role", "name", "status"),
    [
        (Role.GUARD, "logbook", 200),
        (Role.GUARD, "call-detail", 200),
        (Role.GUARD, "call-amend", 403),
        (Role.GUARD, "call-transcribe", 200),
        (Role.SUPERVISOR, "logbook", 200),
        (Role.SUPERVISOR, "call-detail", 200),
        (Role.SUPERVISOR, "call-amend", 200),
        (Role.SUPERVISOR, "call-transcribe", 200),
        (Role.ADMINISTRATOR, "logbook", 200),
        (Role.ADMINISTRATOR, "call-detail", 200),
        (Role.ADMINISTRATOR, "call-amend", 200),
        (Role.ADMINISTRATOR, "call-transcribe", 200),
    ],
)
def test_permission_matrix(role_clients, entry, role, name, status):
    assert role_clients[role].get(_url(name, entry)).status_code == status


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", ["call-detail", "call-amend"])
def test_entry_of_another_site_is_not_found(role_clients, other_site, role, name):
    foreign = CallFactory(line=LineFactory(site=other_site))
    assert role_clients[role].get(_url(name, foreign)).status_code == 404


def test_unknown_entry_is_not_found(supervisor_client):
    assert supervisor_client.get(reverse("calls:call-detail", args=[999999])).status_code == 404


@pytest.mark.parametrize("name", ["logbook", "call-detail"])
def test_read_only_pages_refuse_post(supervisor_client, entry, name):
    assert supervisor_client.post(_url(name, entry)).status_code == 405


# --- The list -------------------------------------------------------------------------


def test_logbook_lists_entries_of_own_sites_only_newest_first(
    supervisor_client, site, other_site, line
):
    older = CallFactory(line=line, started_at=_at(site, _days_ago(site, 3), 9))
    newer = CallFactory(line=line, started_at=_at(site, _days_ago(site, 1), 9))
    CallFactory(line=LineFactory(site=other_site), locality="Elsewhere far away")
    response = supervisor_client.get(reverse("calls:logbook"))
    assert response.status_code == 200
    assert [entry["call"].pk for entry in response.context["entries"]] == [newer.pk, older.pk]
    assert b"Elsewhere far away" not in response.content


def test_logbook_shows_the_paper_book_columns(supervisor_client, site, line):
    started_at = _at(site, _days_ago(site, 2), 14, 5)
    CallFactory(
        line=line,
        started_at=started_at,
        ended_at=started_at + datetime.timedelta(minutes=12, seconds=7),
        locality="Kursk, RU",
    )
    long_call = CallFactory(
        line=line,
        started_at=started_at - datetime.timedelta(hours=3),
        ended_at=started_at - datetime.timedelta(hours=3) + datetime.timedelta(hours=1, seconds=5),
        over_limit=True,
    )
    content = supervisor_client.get(reverse("calls:logbook")).content.decode()
    assert "Kursk, RU" in content
    assert started_at.astimezone(site.zone).strftime("%d.%m.%Y") in content
    assert "14:05" in content
    assert "12 min 07 s" in content
    assert "1 h 00 min 05 s" in content
    assert "over limit" in content
    assert long_call.monitor.get_full_name() in content


def test_logbook_shows_current_values(supervisor_client, supervisor, entry):
    services.amend_call(
        call=entry,
        changes={"locality": "Belgorod, RU", "outcome": Call.Outcome.NO_ANSWER},
        reason="The prisoner misspoke.",
        actor=supervisor,
    )
    response = supervisor_client.get(reverse("calls:logbook"))
    content = response.content.decode()
    assert "Belgorod, RU" in content
    assert "No answer" in content
    assert "Connected" not in content.split("<tbody>")[1]
    assert "amended" in content


def test_logbook_shows_a_call_in_progress(guard_client, line):
    CallFactory(line=line, ended_at=None, outcome="", started_at=timezone.now())
    assert b"in progress" in guard_client.get(reverse("calls:logbook")).content


def test_guard_sees_only_the_shown_name_of_a_withheld_identity(
    guard_client, supervisor_client, site, line
):
    prisoner = PrisonerFactory(
        site=site,
        identity=Prisoner.Identity.WITHHELD,
        surname="Таємний",
        first_names="Микола",
        alias="Сокіл",
    )
    CallFactory(line=line, prisoner=prisoner)
    guard_page = guard_client.get(reverse("calls:logbook")).content.decode()
    assert "Сокіл" in guard_page
    assert "Таємний" not in guard_page
    supervisor_page = supervisor_client.get(reverse("calls:logbook")).content.decode()
    assert "Таємний Микола" in supervisor_page


def test_guard_sees_a_withheld_prisoners_contact_by_relationship_only(
    guard_client, supervisor_client, site, line
):
    prisoner = PrisonerFactory(
        site=site, identity=Prisoner.Identity.WITHHELD, surname="Таємний", first_names="Микола"
    )
    call = CallFactory(
        line=line, prisoner=prisoner, contact=ContactFactory(prisoner=prisoner, name="Ольга Таємна")
    )
    url = reverse("calls:call-detail", args=[call.pk])
    guard_page = guard_client.get(url).content.decode()
    assert "Wife" in guard_page
    assert "Таємн" not in guard_page
    assert "Ольга Таємна" in supervisor_client.get(url).content.decode()


def test_logbook_has_a_print_button_and_print_heading(supervisor_client, entry):
    content = supervisor_client.get(reverse("calls:logbook")).content.decode()
    assert "data-print" in content
    assert "js/print.js" in content
    assert "onclick" not in content
    assert 'class="print-only' in content
    assert "North camp" in content


# --- Filters --------------------------------------------------------------------------


@pytest.fixture
def three_days(site, line):
    """Entries on three consecutive days; the middle one late in the evening, when the
    UTC date is still the same but the site's date is not."""
    day = _days_ago(site, 10)
    return [
        CallFactory(line=line, started_at=_at(site, day, 10)),
        CallFactory(line=line, started_at=_at(site, day + datetime.timedelta(days=1), 23, 30)),
        CallFactory(line=line, started_at=_at(site, day + datetime.timedelta(days=2), 0, 30)),
    ]


def _batch(number: int, *, line, staff, **kwargs) -> list[Call]:
    """Entries sharing one monitor: creating a user per entry (password hashing) is slow."""
    return CallFactory.create_batch(
        number, line=line, monitor=staff, contact__requested_by=staff, **kwargs
    )


def _listed(response) -> list[int]:
    assert response.status_code == 200
    return [entry["call"].pk for entry in response.context["entries"]]


def test_filter_by_one_day_in_the_site_time_zone(supervisor_client, site, three_days):
    day = three_days[1].started_at.astimezone(site.zone).date()
    response = supervisor_client.get(reverse("calls:logbook"), {"from": day, "to": day})
    assert _listed(response) == [three_days[1].pk]
    assert response.context["day_links"] is not None
    assert day.strftime("%Y-%m-%d") in response.content.decode()


def test_filter_by_open_date_range(supervisor_client, site, three_days):
    second = three_days[1].started_at.astimezone(site.zone).date()
    after = supervisor_client.get(reverse("calls:logbook"), {"from": second})
    assert _listed(after) == [three_days[2].pk, three_days[1].pk]
    before = supervisor_client.get(reverse("calls:logbook"), {"to": second})
    assert _listed(before) == [three_days[1].pk, three_days[0].pk]


def test_date_filter_uses_amended_start(supervisor_client, supervisor, site, three_days):
    first_day = three_days[0].started_at.astimezone(site.zone).date()
    moved = three_days[2]
    services.amend_call(
        call=moved,
        changes={
            "started_at": _at(site, first_day, 11),
            "ended_at": _at(site, first_day, 11, 10),
        },
        reason="Written in the book on the wrong page.",
        actor=supervisor,
    )
    response = supervisor_client.get(reverse("calls:logbook"), {"from": first_day, "to": first_day})
    assert set(_listed(response)) == {three_days[0].pk, moved.pk}
    moved_day = first_day + datetime.timedelta(days=2)
    response = supervisor_client.get(reverse("calls:logbook"), {"from": moved_day, "to": moved_day})
    assert _listed(response) == []


def test_filter_by_prisoner_isn_or_name(supervisor_client, site, line):
    wanted = PrisonerFactory(site=site, surname="Коваленко", first_names="Андрій")
    call = CallFactory(line=line, prisoner=wanted)
    CallFactory(line=line)
    by_isn = supervisor_client.get(reverse("calls:logbook"), {"prisoner": wanted.isn})
    assert _listed(by_isn) == [call.pk]
    by_name = supervisor_client.get(reverse("calls:logbook"), {"prisoner": "коваленко"})
    assert _listed(by_name) == [call.pk]
    by_latin = supervisor_client.get(reverse("calls:logbook"), {"prisoner": "Kovalenko"})
    assert _listed(by_latin) == [call.pk]


def test_guard_cannot_find_an_entry_by_a_withheld_surname(guard_client, site, line):
    prisoner = PrisonerFactory(
        site=site, identity=Prisoner.Identity.WITHHELD, surname="Таємний", alias="Сокіл"
    )
    CallFactory(line=line, prisoner=prisoner)
    response = guard_client.get(reverse("calls:logbook"), {"prisoner": "Таємний"})
    assert _listed(response) == []


def test_filter_by_line(supervisor_client, site, line):
    other_line = LineFactory(site=site, name="Line B")
    call = CallFactory(line=other_line)
    CallFactory(line=line)
    response = supervisor_client.get(reverse("calls:logbook"), {"line": other_line.pk})
    assert _listed(response) == [call.pk]


def test_filter_by_current_outcome(supervisor_client, supervisor, line):
    busy = CallFactory(line=line, outcome=Call.Outcome.BUSY)
    corrected = CallFactory(line=line, outcome=Call.Outcome.CONNECTED)
    corrected_away = CallFactory(line=line, outcome=Call.Outcome.BUSY)
    CallFactory(line=line, outcome=Call.Outcome.CONNECTED)
    services.amend_call(
        call=corrected, changes={"outcome": Call.Outcome.BUSY}, reason="Busy.", actor=supervisor
    )
    services.amend_call(
        call=corrected_away,
        changes={"outcome": Call.Outcome.NO_ANSWER},
        reason="Nobody answered.",
        actor=supervisor,
    )
    response = supervisor_client.get(reverse("calls:logbook"), {"outcome": "busy"})
    assert set(_listed(response)) == {busy.pk, corrected.pk}


def test_filter_flagged_only(supervisor_client, supervisor, line):
    flagged = CallFactory(line=line, flagged=True, flag_reason="Spoke about the front.")
    later_flagged = CallFactory(line=line)
    unflagged = CallFactory(line=line, flagged=True, flag_reason="Too loud.")
    CallFactory(line=line)
    services.amend_call(
        call=later_flagged,
        changes={"flagged": True, "flag_reason": "Named a unit."},
        reason="Heard on review.",
        actor=supervisor,
    )
    services.amend_call(
        call=unflagged, changes={"flagged": False}, reason="Reviewed.", actor=supervisor
    )
    response = supervisor_client.get(reverse("calls:logbook"), {"flagged": "on"})
    assert set(_listed(response)) == {flagged.pk, later_flagged.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "abc"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
        ({"line": "abc"}, "line"),
        ({"line": "999999"}, "line"),
        ({"outcome": "exploded"}, "outcome"),
        ({"prisoner": "x" * 101}, "prisoner"),
    ],
)
def test_bad_filter_values_show_a_message(supervisor_client, entry, params, field):
    response = supervisor_client.get(reverse("calls:logbook"), params)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["entries"] == []
    assert b"is-invalid" in response.content
    assert b"correct them to see the entries" in response.content


def test_line_of_another_site_is_not_a_filter_choice(supervisor_client, other_site, entry):
    foreign_line = LineFactory(site=other_site)
    response = supervisor_client.get(reverse("calls:logbook"), {"line": foreign_line.pk})
    assert "line" in response.context["form"].errors


@pytest.mark.parametrize("page", ["abc", "2", "<2026-13-01T00:00:00+00:00~1", "<x~y", "oldest~"])
def test_bad_page_cursor_shows_the_newest_page(supervisor_client, entry, page):
    response = supervisor_client.get(reverse("calls:logbook"), {"page": page})
    assert _listed(response) == [entry.pk]


def test_logbook_is_paginated_by_fifty_newest_first(supervisor_client, supervisor, line):
    calls = _batch(120, line=line, staff=supervisor)
    newest_first = [call.pk for call in sorted(calls, key=lambda c: (c.started_at, c.pk))][::-1]
    url = reverse("calls:logbook")
    first = supervisor_client.get(url)
    assert _listed(first) == newest_first[:50]
    assert first.context["page"].newer is None
    second = supervisor_client.get(url, {"page": first.context["page"].older})
    assert _listed(second) == newest_first[50:100]
    third = supervisor_client.get(url, {"page": second.context["page"].older})
    assert _listed(third) == newest_first[100:]
    assert third.context["page"].older is None
    back = supervisor_client.get(url, {"page": third.context["page"].newer})
    assert _listed(back) == newest_first[50:100]
    oldest = supervisor_client.get(url, {"page": "oldest"})
    assert _listed(oldest) == newest_first[-50:]
    assert oldest.context["page"].older is None
    assert (
        _listed(supervisor_client.get(url, {"page": oldest.context["page"].newer}))
        == (newest_first[20:70])
    )
    every = supervisor_client.get(url, {"all": "1"})
    assert _listed(every) == newest_first
    assert "120 entries" in every.content.decode()


def test_logbook_count_stops_at_the_print_limit(supervisor_client, supervisor, line, monkeypatch):
    _batch(4, line=line, staff=supervisor)
    monkeypatch.setattr(logbook_views, "PRINT_LIMIT", 3)
    response = supervisor_client.get(reverse("calls:logbook"), {"all": "1"})
    assert "More than 3 entries" in response.content.decode()
    assert len(_listed(response)) == 4


def test_logbook_query_count_does_not_grow_with_entries(supervisor_client, supervisor, line):
    def count_queries():
        supervisor_client.get(reverse("calls:logbook"))  # warm the session
        with CaptureQueriesContext(connection) as queries:
            response = supervisor_client.get(reverse("calls:logbook"))
        return len(queries), len(_listed(response))

    def add_entries(number):
        for call in _batch(number, line=line, staff=supervisor):
            services.amend_call(
                call=call, changes={"language": "uk"}, reason="Misheard.", actor=supervisor
            )

    add_entries(5)
    few, listed_few = count_queries()
    add_entries(45)
    many, listed_many = count_queries()
    assert (listed_few, listed_many) == (5, 50)
    assert few == many


def test_filtered_logbook_query_count_does_not_grow(supervisor_client, supervisor, site, line):
    day = _days_ago(site, 4)
    params = {"from": day, "to": day, "outcome": "connected", "flagged": "on", "prisoner": "T-"}

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = supervisor_client.get(reverse("calls:logbook"), params)
        return len(queries), len(_listed(response))

    def add_entries(number):
        _batch(
            number,
            line=line,
            staff=supervisor,
            started_at=_at(site, day, 12),
            flagged=True,
            flag_reason="Check.",
        )

    add_entries(5)
    few, listed_few = count_queries()
    add_entries(45)
    many, listed_many = count_queries()
    assert (listed_few, listed_many) == (5, 50)
    assert few == many


# --- Detail ---------------------------------------------------------------------------


def test_detail_shows_recorded_and_current_values_and_history(supervisor_client, supervisor, entry):
    services.amend_call(
        call=entry, changes={"locality": "Oryol, RU"}, reason="Town was misheard.", actor=supervisor
    )
    response = supervisor_client.get(reverse("calls:call-detail", args=[entry.pk]))
    content = response.content.decode()
    assert entry.locality in content
    assert "Oryol, RU" in content
    assert "Town was misheard." in content
    assert str(supervisor) in content
    assert "Logbook entry amended" in content
    assert [item["amendment"].reason for item in response.context["amendments"]] == [
        "Town was misheard."
    ]


def test_detail_shows_booking_slot(supervisor_client, site, line):
    slot = CallSlotFactory(line=line, starts_at=_at(site, _days_ago(site, 1), 9))
    booking = BookingFactory(slot=slot)
    call = CallFactory(line=line, prisoner=booking.prisoner, booking=booking)
    content = supervisor_client.get(reverse("calls:call-detail", args=[call.pk])).content.decode()
    assert "Line A" in content
    assert slot.starts_at.astimezone(site.zone).strftime("%d.%m.%Y %H:%M") in content


def test_detail_page_runs_no_query_per_amendment(supervisor_client, supervisor, entry):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            supervisor_client.get(reverse("calls:call-detail", args=[entry.pk]))
        return len(queries)

    services.amend_call(call=entry, changes={"language": "uk"}, reason="1", actor=supervisor)
    one = count_queries()
    for language in ("en", "ru", "pl"):
        services.amend_call(
            call=entry, changes={"language": language}, reason="n", actor=supervisor
        )
    assert count_queries() == one


# --- Transcription --------------------------------------------------------------------


@pytest.fixture
def prisoner(site):
    return PrisonerFactory(site=site, isn="NC-00042")


def _transcription(**overrides):
    data = {
        "prisoner": "NC-00042",
        "number_dialled": "",
        "locality": "Voronezh, RU",
        "line": "",
        "monitor": "",
        "date": "",
        "start_time": "10:00",
        "end_time": "10:12",
        "outcome": "connected",
        "language": "ru",
        "notes": "Copied from page 14 of the paper book.",
    }
    data.update(overrides)
    return data


def test_transcribe_form_renders(guard_client):
    response = guard_client.get(reverse("calls:call-transcribe"))
    assert response.status_code == 200
    assert b'name="start_time"' in response.content


@pytest.mark.parametrize("role", [Role.GUARD, Role.SUPERVISOR])
def test_transcribe_a_call_from_the_paper_book(role_clients, site, prisoner, line, role):
    day = _days_ago(site, 3)
    client = role_clients[role]
    response = client.post(
        reverse("calls:call-transcribe"),
        _transcription(date=day, line=line.pk),
    )
    call = Call.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("calls:call-detail", args=[call.pk])
    user = response.wsgi_request.user
    assert call.transcribed_by == user
    assert call.monitor == user
    assert call.prisoner == prisoner
    assert call.line == line
    assert call.started_at == _at(site, day, 10)
    assert call.ended_at == _at(site, day, 10, 12)
    assert call.locality == "Voronezh, RU"
    page = client.get(response.url).content.decode()
    assert "The call was entered in the logbook." in page
    assert "From the paper book, by" in page
    listed = client.get(reverse("calls:logbook")).content.decode()
    assert "transcribed" in listed


def test_transcription_normalises_the_number_and_links_the_contact(
    supervisor_client, site, prisoner, guard
):
    contact = ContactFactory(prisoner=prisoner, phone_number="+380501234567", city="Sumy")
    response = supervisor_client.post(
        reverse("calls:call-transcribe"),
        _transcription(
            date=_days_ago(site, 2), number_dialled="050 123 45 67", locality="", monitor=guard.pk
        ),
    )
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.number_dialled == "+380501234567"
    assert call.contact == contact
    assert call.locality == contact.locality
    assert call.monitor == guard


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"prisoner": "NC-99999"}, "prisoner", "No prisoner with the ISN"),
        ({"number_dialled": "12"}, "number_dialled", "not a valid phone number"),
        ({"number_dialled": "call me"}, "number_dialled", "is not a phone number"),
        ({"start_time": "10:00", "end_time": "09:59"}, "end_time", "must end after it started"),
        ({"start_time": "10:00", "end_time": "10:00"}, "end_time", "must end after it started"),
        ({"start_time": "25:00"}, "start_time", "Enter a valid time"),
        ({"date": "yesterday"}, "date", "Enter a valid date"),
        ({"date": "0001-01-01"}, "date", "Enter a date between"),
        ({"outcome": ""}, "outcome", "This field is required"),
        ({"outcome": "exploded"}, "outcome", "Select a valid choice"),
        ({"line": "999999"}, "line", "Select a valid choice"),
        ({"monitor": "999999"}, "monitor", "Select a valid choice"),
    ],
)
def test_transcription_rejections(supervisor_client, site, prisoner, overrides, field, message):
    data = _transcription(date=_days_ago(site, 3))
    data.update(overrides)
    response = supervisor_client.post(reverse("calls:call-transcribe"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert message in " ".join(response.context["form"].errors[field])
    assert not Call.objects.exists()


def test_transcription_of_a_future_call_is_refused(supervisor_client, site, prisoner):
    response = supervisor_client.post(
        reverse("calls:call-transcribe"),
        _transcription(date=site.today() + datetime.timedelta(days=1)),
    )
    assert "lie in the past" in " ".join(response.context["form"].errors["end_time"])
    assert not Call.objects.exists()


def test_transcription_refuses_a_prisoner_of_another_site(supervisor_client, other_site, site):
    PrisonerFactory(site=other_site, isn="SC-00001")
    response = supervisor_client.post(
        reverse("calls:call-transcribe"),
        _transcription(prisoner="SC-00001", date=_days_ago(site, 3)),
    )
    assert "prisoner" in response.context["form"].errors
    assert not Call.objects.exists()


def test_transcription_refuses_a_line_or_monitor_of_another_of_the_users_sites(client, prisoner):
    site = prisoner.site
    second_site = SiteFactory(code="SE", name="East camp")
    user = UserFactory(role=Role.SUPERVISOR, sites=[site, second_site])
    east_guard = UserFactory(role=Role.GUARD, sites=[second_site])
    east_line = LineFactory(site=second_site)
    login_verified(client, user)
    response = client.post(
        reverse("calls:call-transcribe"),
        _transcription(date=_days_ago(site, 3), line=east_line.pk, monitor=east_guard.pk),
    )
    errors = response.context["form"].errors
    assert "does not serve" in " ".join(errors["monitor"])
    response = client.post(
        reverse("calls:call-transcribe"),
        _transcription(date=_days_ago(site, 3), line=east_line.pk),
    )
    assert "another site" in " ".join(response.context["form"].errors["line"])
    assert not Call.objects.exists()


def test_transcription_of_a_time_skipped_by_the_clock_change(supervisor_client, site, prisoner):
    # Kyiv moved its clocks from 03:00 to 04:00 on 2024-03-31.
    response = supervisor_client.post(
        reverse("calls:call-transcribe"),
        _transcription(date="2024-03-31", start_time="03:30", end_time="04:40"),
    )
    assert "did not exist" in " ".join(response.context["form"].errors["start_time"])
    assert not Call.objects.exists()


def test_transcription_page_lists_only_staff_and_lines_of_own_sites(
    supervisor_client, other_site, line, guard
):
    stranger = UserFactory(role=Role.GUARD, sites=[other_site], last_name="Stranger")
    LineFactory(site=other_site, name="Foreign line")
    form = supervisor_client.get(reverse("calls:call-transcribe")).context["form"]
    assert guard in form.fields["monitor"].queryset
    assert stranger not in form.fields["monitor"].queryset
    assert list(form.fields["line"].queryset) == [line]
