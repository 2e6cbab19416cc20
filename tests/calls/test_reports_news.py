"""Supervisor review, the news reports: the dashboard, the longest-without-news queue and
its one-click booking, call frequency (page and CSV), the Geneva minimum, and the stored
``Prisoner.last_mail_delivered_on`` they read.

Figures are hand-computed on small crafted scenes with another site's data beside
them. Day edges are the site's (Europe/Kyiv, UTC+2 in winter, UTC+3 in summer), not UTC.
"""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calls import reports, services
from calls.models import Booking, CallPolicy, Outcome
from calls.services import CallError
from camp.models import AuditEntry
from camp.roles import Role
from letters import services as mail
from letters.models import Letter
from prisoners.models import Contact, Prisoner
from tests.factories import (
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LetterFactory,
    LineFactory,
    PrisonerFactory,
    UserFactory,
    login_verified,
)

DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)
MONDAY = datetime.date(2026, 3, 2)


def at(site, day, hour=10, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=site.zone)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def call(prisoner, started_at, *, outcome=Outcome.CONNECTED, minutes=10, **extra):
    contact = prisoner.contacts.first() or ContactFactory(prisoner=prisoner)
    return CallFactory(
        site=prisoner.site,
        line=LineFactory(site=prisoner.site),
        prisoner=prisoner,
        contact=contact,
        started_at=started_at,
        deadline=started_at + 15 * MINUTE,
        ended_at=started_at + minutes * MINUTE,
        outcome=outcome,
        monitor=contact.requested_by,
        **extra,
    )


def prisoner_at(site, **extra):
    """An interned prisoner with an approved contact (captured on an unknown day, so
    that any arrival date may be given)."""
    prisoner = PrisonerFactory(site=site, **{"captured_on": None, **extra})
    ContactFactory(prisoner=prisoner)
    return prisoner


def delivered(prisoner, on, *, direction=Letter.Direction.RECEIVED, **extra):
    """A letter delivered ``on``: received for the prisoner, or sent by him."""
    dates = {"handed_in_on": on - 2 * DAY, "delivered_on": on}
    if direction == Letter.Direction.SENT:
        dates["dispatched_on"] = on - DAY
    return LetterFactory(
        prisoner=prisoner, kind=Letter.Kind.LETTER, direction=direction, **dates, **extra
    )


def sent(prisoner, kind, on, **extra):
    return LetterFactory(
        prisoner=prisoner, kind=kind, direction=Letter.Direction.SENT, handed_in_on=on, **extra
    )


def stored(prisoner):
    prisoner.refresh_from_db()
    return prisoner.last_mail_delivered_on


# --- Who may open what ------------------------------------------------------------------
# The GET pages and the booking POST are also in the matrix of test_reports.py.

NEW_PAGES = [
    "reports:without-news",
    "reports:frequency",
    "reports:geneva",
]


@pytest.mark.parametrize("query", ["", "?format=csv"])
@pytest.mark.parametrize("name", NEW_PAGES)
def test_anonymous_is_sent_to_log_in_and_guards_are_refused(client, guard_client, name, query):
    url = reverse(name) + query
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert guard_client.get(url).status_code == 403


def test_booking_is_post_only_and_refused_to_guards(site, client, guard_client, supervisor_client):
    url = reverse("reports:without-news-book", args=[prisoner_at(site).pk])
    assert supervisor_client.get(url).status_code == 405
    assert client.post(url).url.startswith(reverse("login"))
    assert guard_client.post(url).status_code == 403
    assert not Booking.objects.exists()


def test_booking_another_sites_prisoner_is_not_found(other_site, supervisor_client):
    foreign = prisoner_at(other_site)
    CallSlotFactory(line=LineFactory(site=other_site))
    url = reverse("reports:without-news-book", args=[foreign.pk])
    assert supervisor_client.post(url).status_code == 404
    assert not Booking.objects.exists()


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMINISTRATOR])
def test_home_sends_supervisors_and_administrators_to_the_dashboard(role_clients, role):
    assert role_clients[role].get(reverse("home")).url == reverse("reports:index")


def test_home_still_sends_guards_to_the_desk(guard_client):
    assert guard_client.get(reverse("home")).url == reverse("calls:desk")


# --- The stored last delivery of mail ---------------------------------------------------


def test_last_mail_delivered_on_follows_inserts_in_either_direction(site):
    today = site.today()
    prisoner = PrisonerFactory(site=site)
    LetterFactory(prisoner=prisoner)  # handed in, not delivered
    assert stored(prisoner) is None
    delivered(prisoner, today - 9 * DAY, direction=Letter.Direction.SENT)
    assert stored(prisoner) == today - 9 * DAY
    delivered(prisoner, today - 4 * DAY)
    assert stored(prisoner) == today - 4 * DAY
    # An older delivery recorded later does not move it back.
    delivered(prisoner, today - 20 * DAY)
    assert stored(prisoner) == today - 4 * DAY
    # An item recorded in error is no news.
    delivered(prisoner, today - DAY, in_error=True)
    assert stored(prisoner) == today - 4 * DAY


def test_last_mail_delivered_on_follows_status_steps(site, supervisor):
    today = site.today()
    prisoner = PrisonerFactory(site=site)
    letter = LetterFactory(
        prisoner=prisoner, direction=Letter.Direction.RECEIVED, handed_in_on=today - 3 * DAY
    )
    mail.record_step(letters=[letter], step="delivered_on", on=today - DAY, actor=supervisor)
    assert stored(prisoner) == today - DAY
    returned = LetterFactory(
        prisoner=prisoner,
        direction=Letter.Direction.SENT,
        handed_in_on=today - 3 * DAY,
        dispatched_on=today - 2 * DAY,
    )
    mail.record_step(letters=[returned], step="returned_on", on=today, actor=supervisor)
    assert stored(prisoner) == today - DAY


def test_last_mail_delivered_on_follows_corrections(site, supervisor):
    today = site.today()
    prisoner, other = PrisonerFactory(site=site), PrisonerFactory(site=site)
    older = delivered(prisoner, today - 10 * DAY)
    newer = delivered(prisoner, today - 2 * DAY)
    mail.amend_letter(
        letter=newer,
        changes={"delivered_on": today - DAY},
        reason="Delivered a day later.",
        actor=supervisor,
    )
    assert stored(prisoner) == today - DAY
    mail.amend_letter(letter=newer, changes={"in_error": True}, reason="Not his.", actor=supervisor)
    assert stored(prisoner) == today - 10 * DAY
    # Moved to another prisoner: both are summarised again.
    mail.amend_letter(
        letter=older,
        changes={"prisoner_id": other.pk},
        reason="Wrong prisoner.",
        actor=supervisor,
    )
    assert stored(prisoner) is None
    assert stored(other) == today - 10 * DAY
    mail.amend_letter(
        letter=newer, changes={"in_error": False}, reason="It was his.", actor=supervisor
    )
    assert stored(prisoner) == today - DAY


# --- Longest without news ---------------------------------------------------------------


def test_days_without_news_from_a_call_or_a_delivered_letter(site, other_site):
    now = timezone.now()
    today = site.today()
    by_call = prisoner_at(site, isn="NC-1")
    # 00:30 at the site is the evening before in UTC: the day is the site's.
    call(by_call, at(site, today - 5 * DAY, 0, 30))
    call(by_call, at(site, today - 2 * DAY), outcome=Outcome.NO_ANSWER)
    by_letter = prisoner_at(site, isn="NC-2")
    call(by_letter, at(site, today - 10 * DAY))
    delivered(by_letter, today - 3 * DAY)
    by_sent_letter = prisoner_at(site, isn="NC-3")
    delivered(by_sent_letter, today - 20 * DAY, direction=Letter.Direction.SENT)
    silent = prisoner_at(site, isn="NC-4", arrived_on=today - 40 * DAY)
    delivered(silent, today - DAY, in_error=True)
    prisoner_at(other_site, isn="SC-1", arrived_on=today - 400 * DAY)

    rows = {
        p.isn: (p.days_without_news, p.last_news_on)
        for p in reports.without_news_queue(sites=[site], now=now)
    }
    assert rows == {
        "NC-1": (5, today - 5 * DAY),
        "NC-2": (3, today - 3 * DAY),
        "NC-3": (20, today - 20 * DAY),
        "NC-4": (40, None),
    }


def test_queue_puts_makeups_first_then_the_longest_without_news_then_isn(site, other_site):
    now = timezone.now()
    today = site.today()
    recent = prisoner_at(site, isn="NC-5", arrived_on=today - 3 * DAY)
    owed = prisoner_at(site, isn="NC-9", arrived_on=today - 2 * DAY)
    call(owed, at(site, today - DAY), outcome=Outcome.INTERRUPTED_BY_ALERT)
    long_b = prisoner_at(site, isn="NC-7", arrived_on=today - 50 * DAY)
    long_a = prisoner_at(site, isn="NC-6", arrived_on=today - 50 * DAY)
    middle = prisoner_at(site, isn="NC-1", arrived_on=today - 90 * DAY)
    call(middle, at(site, today - 20 * DAY))
    prisoner_at(site, isn="NC-0", arrived_on=today - 900 * DAY, status=Prisoner.Status.RELEASED)
    prisoner_at(other_site, isn="SC-1", arrived_on=today - 400 * DAY)

    queue = list(reports.without_news_queue(sites=[site], now=now))
    assert [p.isn for p in queue] == [owed.isn, long_a.isn, long_b.isn, middle.isn, recent.isn]
    assert queue[0].owes_makeup and not queue[1].owes_makeup


def test_queue_page_shows_whether_each_may_call_and_the_rule_and_date(
    site, other_site, supervisor_client
):
    today = site.today()
    free = prisoner_at(site, isn="NC-1", arrived_on=today - 60 * DAY)
    waiting = prisoner_at(site, isn="NC-2")
    call(waiting, at(site, today - DAY, 9))
    prisoner_at(other_site, isn="SC-1")
    response = supervisor_client.get(reverse("reports:without-news"))
    rows = {row["prisoner"].isn: row["refusals"] for row in response.context["rows"]}
    assert rows["NC-1"] == []
    (refusal,) = rows["NC-2"]
    assert refusal.rule == "min_days_between"
    eligible = today - DAY + 7 * DAY
    assert refusal.eligible_on == eligible
    html = response.content.decode()
    assert f"Eligible from {eligible:%d.%m.%Y}" in html
    assert "SC-1" not in html
    assert free.isn in html
    assert reverse("reports:without-news-book", args=[free.pk]) in html
    assert "from his arrival" in html


def test_queue_runs_the_same_bounded_queries_at_two_sizes(site, other_site, supervisor_client):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert supervisor_client.get(reverse("reports:without-news")).status_code == 200
        return len(queries)

    prisoner_at(site)
    prisoner_at(other_site)
    one_row = count()
    for _n in range(60):
        prisoner_at(site)
    # 25 rows cost what one does: the rules read the whole page at once.
    assert count() == one_row
    # The session, the user, his two-factor device, his sites, his roles; the count
    # and the page; the policy in force and the rules' reading of the page.
    assert one_row == 9


# --- Booking from the queue -------------------------------------------------------------


@pytest.fixture
def line(site):
    return LineFactory(site=site, name="North 1")


def slot_on(line, day, hour=10, minute=0):
    return CallSlotFactory(line=line, starts_at=at(line.site, day, hour, minute))


def test_next_free_slot_is_the_earliest_on_a_day_the_rules_allow(
    site, other_site, line, supervisor
):
    CallPolicy.objects.create(
        site=site, effective_from=MONDAY - 30 * DAY, min_days_between=7, max_calls_per_month=10
    )
    prisoner = prisoner_at(site)
    call(prisoner, at(site, MONDAY, 9))
    now = at(site, MONDAY + DAY, 7)
    slot_on(line, MONDAY + 2 * DAY)  # too soon after the last call
    booked_already = slot_on(line, MONDAY + 7 * DAY, 8)
    Booking.objects.create(
        slot=booked_already,
        prisoner=prisoner_at(site),
        starts_at=booked_already.starts_at,
        ends_at=booked_already.ends_at,
        booked_by=supervisor,
    )
    out_of_service = LineFactory(site=site, name="North 0", active=False)
    slot_on(out_of_service, MONDAY + 7 * DAY, 8, 30)
    later = slot_on(line, MONDAY + 7 * DAY, 11)
    earliest = slot_on(LineFactory(site=site, name="North 2"), MONDAY + 7 * DAY, 9)
    slot_on(LineFactory(site=other_site), MONDAY + 7 * DAY, 8, 45)

    booking = services.book_next_free_slot(prisoner=prisoner, actor=supervisor, now=now)

    assert booking.slot == earliest
    assert not later.bookings.exists()
    entry = AuditEntry.objects.get(action="calls.booking.created", target_id=str(booking.pk))
    assert entry.data["prisoner"] == prisoner.isn


def test_next_free_slot_is_refused_with_the_rules_own_words(site, line, supervisor):
    CallPolicy.objects.create(
        site=site, effective_from=MONDAY - 30 * DAY, min_days_between=30, max_calls_per_month=10
    )
    prisoner = prisoner_at(site)
    call(prisoner, at(site, MONDAY, 9))
    slot_on(line, MONDAY + 2 * DAY)
    slot_on(line, MONDAY + 10 * DAY)
    with pytest.raises(CallError) as refused:
        services.book_next_free_slot(
            prisoner=prisoner, actor=supervisor, now=at(site, MONDAY + DAY, 7)
        )
    text = " ".join(refused.value.messages)
    assert "the policy asks 30 days between calls" in text
    assert "Eligible from 01.04.2026" in text
    assert not Booking.objects.exists()


def test_next_free_slot_without_any_slot_says_so(site, line, supervisor):
    prisoner = prisoner_at(site)
    slot_on(line, MONDAY + 20 * DAY)  # beyond the fortnight looked at
    with pytest.raises(CallError, match="No free slot in the next 14 days"):
        services.book_next_free_slot(prisoner=prisoner, actor=supervisor, now=at(site, MONDAY, 7))


def test_book_from_the_queue_succeeds_into_the_earliest_allowed_slot(
    site, line, supervisor, supervisor_client
):
    prisoner = prisoner_at(site, surname="Шевченко", first_names="Тарас")
    tomorrow = site.today() + DAY
    later = slot_on(line, tomorrow, 11)
    earliest = slot_on(line, tomorrow, 10)
    response = supervisor_client.post(
        reverse("reports:without-news-book", args=[prisoner.pk]), {"page": "2"}, follow=True
    )
    assert response.redirect_chain[0][0] == reverse("reports:without-news") + "?page=2"
    booking = Booking.objects.get(prisoner=prisoner)
    assert booking.slot == earliest
    assert booking.booked_by == supervisor
    assert not later.bookings.exists()
    (message,) = messages_of(response)
    assert f"({prisoner.isn}) is booked on North 1 at {tomorrow:%d.%m.%Y} 10:00" in message


def test_book_from_the_queue_is_refused_by_the_interval_rule(site, line, supervisor_client):
    prisoner = prisoner_at(site)
    today = site.today()
    call(prisoner, at(site, today - DAY, 9))
    slot_on(line, today + DAY)
    slot_on(line, today + 3 * DAY)
    response = supervisor_client.post(
        reverse("reports:without-news-book", args=[prisoner.pk]), follow=True
    )
    assert not Booking.objects.exists()
    (message,) = messages_of(response)
    assert f"({prisoner.isn}) is not booked" in message
    assert (
        f"The last connected call was on {(today - DAY):%d.%m.%Y}; "
        "the policy asks 7 days between calls." in message
    )
    assert f"Eligible from {(today + 6 * DAY):%d.%m.%Y}" in message


# --- Call frequency ---------------------------------------------------------------------


@pytest.fixture
def frequency_scene(site, other_site, supervisor):
    """One prisoner with calls either side of each window's first day, at the site."""
    today = site.today()
    prisoner = prisoner_at(site, isn="NC-1", power_depends_on="Russia", housing_unit="B1")

    def local(days_ago, hour, minute):
        return at(site, today - days_ago * DAY, hour, minute)

    # The first day of the 7-day window at 00:05 is the day before in UTC.
    call(prisoner, local(6, 0, 5), minutes=5)
    # Within 7 × 24 hours of now (midday), but on the 8th calendar day.
    call(prisoner, local(7, 23, 55), outcome=Outcome.NO_ANSWER, minutes=1)
    call(prisoner, local(29, 0, 10), minutes=12)
    call(prisoner, local(30, 23, 50), outcome=Outcome.BUSY, minutes=1)
    call(prisoner, local(89, 0, 1), minutes=3)
    call(prisoner, local(90, 23, 59), minutes=14)
    # Recorded as unanswered, amended to connected: counted by its current value.
    amended = call(prisoner, local(2, 10, 0), outcome=Outcome.NO_ANSWER, minutes=4)
    services.amend_call(
        call=amended,
        changes={"outcome": Outcome.CONNECTED},
        reason="The family did answer.",
        actor=supervisor,
    )
    LetterFactory(prisoner=prisoner, kind=Letter.Kind.LETTER, handed_in_on=today - 3 * DAY)
    LetterFactory(prisoner=prisoner, kind=Letter.Kind.CARD, handed_in_on=today - 29 * DAY)
    LetterFactory(
        prisoner=prisoner,
        kind=Letter.Kind.CARD,
        direction=Letter.Direction.RECEIVED,
        handed_in_on=today - 10 * DAY,
    )
    LetterFactory(prisoner=prisoner, kind=Letter.Kind.CAPTURE_CARD, handed_in_on=today - DAY)
    LetterFactory(prisoner=prisoner, kind=Letter.Kind.LETTER, handed_in_on=today - 30 * DAY)
    LetterFactory(prisoner=prisoner, kind=Letter.Kind.LETTER, handed_in_on=today, in_error=True)
    LetterFactory(prisoner=prisoner, kind=Letter.Kind.TELEGRAM, handed_in_on=today)
    quiet = prisoner_at(site, isn="NC-2", power_depends_on="Belarus", housing_unit="C3")
    stranger = prisoner_at(other_site, isn="SC-1")
    call(stranger, local(1, 10, 0))
    return {"prisoner": prisoner, "quiet": quiet, "today": today}


def frequency_rows(user_site, **filters):
    rows = reports.call_frequency(
        sites=[user_site], filters=reports.FrequencyFilter(**filters), now=timezone.now()
    )
    return rows[0 : rows.count()]


def test_frequency_counts_each_window_on_the_sites_calendar(site, frequency_scene):
    busy, quiet = frequency_rows(site)
    assert busy.prisoner.isn == "NC-1"
    figures = (
        (busy.connected_7, busy.attempts_7, busy.minutes_7),
        (busy.connected_30, busy.attempts_30, busy.minutes_30),
        (busy.connected_90, busy.attempts_90, busy.minutes_90),
    )
    assert figures == ((2, 2, 9.0), (3, 4, 21.0), (4, 6, 24.0))
    # The amended call two days ago is the last connected one.
    assert busy.days_since_connected == 2
    assert busy.last_connected_at == at(site, frequency_scene["today"] - 2 * DAY, 10)
    # Letters and cards either way, capture cards too; not telegrams, errors or older.
    assert (busy.letters_30, busy.cards_30) == (1, 3)
    assert quiet.prisoner.isn == "NC-2"
    assert (quiet.connected_90, quiet.attempts_90, quiet.minutes_90) == (0, 0, 0.0)
    assert (quiet.last_connected_at, quiet.days_since_connected) == (None, None)


def test_frequency_sorts_by_any_column_both_ways_and_filters(site, frequency_scene):
    ranked = [row.prisoner.isn for row in frequency_rows(site, sort="connected_90")]
    assert ranked == ["NC-2", "NC-1"]
    ranked = [
        row.prisoner.isn for row in frequency_rows(site, sort="connected_90", descending=True)
    ]
    assert ranked == ["NC-1", "NC-2"]
    assert [r.prisoner.isn for r in frequency_rows(site, power="Belarus")] == ["NC-2"]
    assert [r.prisoner.isn for r in frequency_rows(site, housing_unit="B1")] == ["NC-1"]
    assert frequency_rows(site, status=Prisoner.Status.RELEASED) == []
    assert [r.prisoner.isn for r in frequency_rows(site, site=site.pk)] == ["NC-1", "NC-2"]


def test_frequency_page_sorts_filters_and_keeps_to_the_users_sites(
    site, frequency_scene, supervisor, supervisor_client
):
    url = reverse("reports:frequency")
    response = supervisor_client.get(url, {"sort": "-minutes_30"})
    assert [row["isn"] for row in response.context["rows"]] == ["NC-1", "NC-2"]
    html = response.content.decode()
    assert "SC-1" not in html

    # The nine figures in column order, minutes with the language's decimal separator.
    def cells(*figures):
        return "".join(f'<td class="text-end">{figure}</td>' for figure in figures)

    assert cells(2, 2, "9.0", 3, 4, "21.0", 4, 6, "24.0") in html
    supervisor.language = "uk"
    supervisor.save(update_fields=["language"])
    html = supervisor_client.get(url, {"sort": "-minutes_30"}).content.decode()
    assert cells(2, 2, "9,0", 3, 4, "21,0", 4, 6, "24,0") in html
    # The column sorted ascending offers the descending sort, and the reverse.
    assert "sort=minutes_30" in response.context["sort_links"]["minutes_30"]
    response = supervisor_client.get(url, {"power": "Belarus"})
    assert [row["isn"] for row in response.context["rows"]] == ["NC-2"]
    # A sort or a filter not offered is not used.
    response = supervisor_client.get(url, {"sort": "prisoner.id; DROP TABLE x"})
    assert response.status_code == 200
    assert [row["isn"] for row in response.context["rows"]] == ["NC-1", "NC-2"]


def test_frequency_page_shows_each_last_call_on_its_sites_clock(
    site, other_site, supervisor, supervisor_client
):
    """A supervisor of two sites sees times at the prisoner's site, not at his own."""
    other_site.time_zone = "Asia/Tokyo"
    other_site.save(update_fields=["time_zone"])
    supervisor.sites.add(other_site)
    yesterday = other_site.today() - DAY
    call(prisoner_at(other_site, isn="SC-1"), at(other_site, yesterday, 9, 30))
    html = supervisor_client.get(reverse("reports:frequency")).content.decode()
    # 09:30 in Tokyo is 02:30 or 01:30 in Kyiv: the page must not move it.
    assert f'<td class="text-nowrap">{yesterday:%d.%m.%Y} 09:30</td>' in html


def test_frequency_csv_is_utf8_with_bom_and_neutralised(site, frequency_scene, supervisor_client):
    PrisonerFactory(
        site=site,
        isn="NC-3",
        surname="=HYPERLINK(1)",
        housing_unit="+1",
        power_depends_on="@SUM(A1)",
        alias="-2",
    )
    response = supervisor_client.get(reverse("reports:frequency"), {"format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ISN", "Name", "Site"]
    by_isn = {row[0]: row for row in rows[1:]}
    assert set(by_isn) == {"NC-1", "NC-2", "NC-3"}
    busy = by_isn["NC-1"]
    assert busy[1] == "Петренко " + frequency_scene["prisoner"].first_names + " Іванович"
    assert busy[5:15] == ["Russia", "2", "2", "9.0", "3", "4", "21.0", "4", "6", "24.0"]
    assert busy[16:] == ["2", "1", "3"]
    hostile = by_isn["NC-3"]
    assert hostile[1].startswith("'=HYPERLINK(1)")
    assert (hostile[3], hostile[5]) == ("'+1", "'@SUM(A1)")
    assert hostile[15] == ""  # never connected


def test_frequency_csv_follows_the_filters(site, frequency_scene, supervisor_client):
    response = supervisor_client.get(
        reverse("reports:frequency"), {"format": "csv", "power": "Belarus"}
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert [row[0] for row in csv.reader(io.StringIO(body))][1:] == ["NC-2"]


@pytest.mark.parametrize("sort", ["isn", "-connected_30"])
def test_frequency_page_runs_the_same_queries_for_3_or_30_prisoners(
    site, other_site, supervisor_client, sort
):
    today = site.today()

    def scene(n):
        for _n in range(n):
            prisoner = prisoner_at(site)
            call(prisoner, at(site, today - 3 * DAY))
            LetterFactory(prisoner=prisoner)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = supervisor_client.get(reverse("reports:frequency"), {"sort": sort})
            assert response.status_code == 200
        return len(queries)

    scene(3)
    call(prisoner_at(other_site), at(other_site, today - DAY))
    small = count()
    scene(27)
    assert count() == small


# --- Geneva minimum ---------------------------------------------------------------------

MARCH = datetime.date(2026, 3, 1)


def letters_and_cards(prisoner, letters, cards, day=datetime.date(2026, 3, 10)):
    for _n in range(letters):
        sent(prisoner, Letter.Kind.LETTER, day)
    for _n in range(cards):
        sent(prisoner, Letter.Kind.CARD, day)


def below(site):
    return {
        p.isn: (p.letters_sent, p.cards_sent)
        for p in reports.below_geneva_minimum(sites=[site], month=MARCH)
    }


def test_geneva_minimum_counts_letters_and_cards_sent_in_the_calendar_month(site, other_site):
    enough = PrisonerFactory(site=site, isn="NC-1")
    letters_and_cards(enough, 2, 4)
    capture = PrisonerFactory(site=site, isn="NC-2")
    letters_and_cards(capture, 2, 3)
    sent(capture, Letter.Kind.CAPTURE_CARD, datetime.date(2026, 3, 5))
    short = PrisonerFactory(site=site, isn="NC-3")
    letters_and_cards(short, 1, 4)
    sent(short, Letter.Kind.LETTER, datetime.date(2026, 3, 6), in_error=True)
    LetterFactory(
        prisoner=short,
        kind=Letter.Kind.LETTER,
        direction=Letter.Direction.RECEIVED,
        handed_in_on=datetime.date(2026, 3, 6),
    )
    edges = PrisonerFactory(site=site, isn="NC-4")
    letters_and_cards(edges, 1, 4, day=datetime.date(2026, 3, 1))
    letters_and_cards(edges, 1, 0, day=datetime.date(2026, 3, 31))
    outside = PrisonerFactory(site=site, isn="NC-5")
    letters_and_cards(outside, 2, 4, day=datetime.date(2026, 2, 28))
    letters_and_cards(outside, 2, 4, day=datetime.date(2026, 4, 1))
    PrisonerFactory(site=site, isn="NC-6", arrived_on=datetime.date(2026, 3, 2))
    PrisonerFactory(site=site, isn="NC-7", status=Prisoner.Status.RELEASED)
    PrisonerFactory(site=other_site, isn="SC-1")

    assert below(site) == {"NC-2": (2, 3), "NC-3": (1, 4), "NC-5": (0, 0)}
    first = next(iter(reports.below_geneva_minimum(sites=[site], month=MARCH)))
    assert (first.min_letters, first.min_cards) == (2, 4)


def test_geneva_minimum_uses_the_policy_in_force_at_the_start_of_the_month(site, other_site):
    CallPolicy.objects.create(
        site=site, effective_from=datetime.date(2026, 2, 1), min_letters_per_month=3
    )
    CallPolicy.objects.create(
        site=site, effective_from=datetime.date(2026, 3, 2), min_letters_per_month=9
    )
    CallPolicy.objects.create(
        site=other_site, effective_from=datetime.date(2026, 1, 1), min_cards_per_month=9
    )
    two = PrisonerFactory(site=site, isn="NC-1")
    letters_and_cards(two, 2, 4)
    three = PrisonerFactory(site=site, isn="NC-2")
    letters_and_cards(three, 3, 4)
    (row,) = reports.below_geneva_minimum(sites=[site], month=MARCH)
    assert (row.isn, row.min_letters, row.min_cards) == ("NC-1", 3, 4)


def test_geneva_month_is_last_month_on_the_sites_calendar(site, supervisor_client, monkeypatch):
    # 22:30 UTC on 31 March is already 1 April in Kyiv (UTC+3 since 29 March).
    monkeypatch.setattr(
        timezone, "now", lambda: datetime.datetime(2026, 3, 31, 22, 30, tzinfo=datetime.UTC)
    )
    response = supervisor_client.get(reverse("reports:geneva"))
    assert response.context["month"] == MARCH
    assert supervisor_client.get(reverse("reports:index")).context["counts"].month == MARCH


def test_geneva_page_lists_both_and_keeps_to_the_users_sites(site, other_site, supervisor_client):
    today = site.today()
    CallPolicy.objects.create(site=site, effective_from=today - 400 * DAY, no_news_days=10)
    short = PrisonerFactory(site=site, isn="NC-1", arrived_on=MARCH - DAY)
    letters_and_cards(short, 1, 4)
    delivered(short, today - DAY)
    silent = PrisonerFactory(site=site, isn="NC-2", arrived_on=today - 11 * DAY)
    recent = PrisonerFactory(site=site, isn="NC-3", arrived_on=today - 11 * DAY)
    delivered(recent, today - 9 * DAY)
    PrisonerFactory(site=other_site, isn="SC-1", arrived_on=MARCH - 100 * DAY, captured_on=None)

    response = supervisor_client.get(reverse("reports:geneva"), {"month": "2026-03"})
    assert [row["prisoner"].isn for row in response.context["below_rows"]] == ["NC-1"]
    assert [row["prisoner"].isn for row in response.context["silent_rows"]] == ["NC-2"]
    assert response.context["silent_rows"][0]["prisoner"].days_without_news == 11
    html = response.content.decode()
    assert "SC-1" not in html
    assert "1 of 2" in html

    response = supervisor_client.get(reverse("reports:geneva"), {"month": "March"})
    assert response.context["form"].errors
    assert response.context["month"] == reports.previous_month(today)
    assert silent.isn in response.content.decode()


def test_geneva_page_runs_the_same_queries_for_2_or_20_prisoners(
    site, other_site, supervisor_client
):
    def scene(n):
        for _n in range(n):
            letters_and_cards(PrisonerFactory(site=site, arrived_on=MARCH - DAY), 1, 1)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = supervisor_client.get(reverse("reports:geneva"), {"month": "2026-03"})
            assert response.status_code == 200
        return len(queries)

    scene(2)
    PrisonerFactory(site=other_site)
    small = count()
    scene(18)
    assert count() == small


# --- Dashboard --------------------------------------------------------------------------


def dashboard_scene(site):
    """One of each thing the dashboard counts, and prisoners that count for none."""
    today = site.today()
    last_month = reports.previous_month(today)
    fresh = today - 5 * DAY
    owed = prisoner_at(site, arrived_on=fresh)
    call(owed, at(site, today - DAY), outcome=Outcome.INTERRUPTED_BY_ALERT)
    silent = prisoner_at(site, arrived_on=today - 100 * DAY)
    sent(silent, Letter.Kind.CAPTURE_CARD, today - 99 * DAY)
    busy = prisoner_at(site, arrived_on=today - 100 * DAY)
    sent(busy, Letter.Kind.CAPTURE_CARD, today - 99 * DAY)
    letters_and_cards(busy, 2, 4, day=last_month + 3 * DAY)
    call(busy, at(site, today - DAY), flagged=True, flag_reason="Spoke of the front line.")
    ContactFactory(prisoner=busy, status=Contact.Status.PENDING, decided_by=None, decided_at=None)
    prisoner_at(site, arrived_on=today - 10 * DAY)  # capture card overdue


def test_dashboard_counts_each_list_of_the_users_sites(site, other_site, supervisor_client):
    dashboard_scene(site)
    dashboard_scene(other_site)
    response = supervisor_client.get(reverse("reports:index"))
    counts = response.context["counts"]
    assert (
        counts.makeups_owed,
        counts.without_news,
        counts.below_minimum,
        counts.capture_cards_overdue,
        counts.contacts_pending,
        counts.flagged_calls,
    ) == (1, 1, 1, 1, 1, 1)
    html = response.content.decode()
    for name in [
        "reports:without-news",
        "reports:geneva",
        "letters:capture-card-overdue",
        "reports:contacts",
        "reports:flagged",
        "reports:frequency",
    ]:
        assert f'href="{reverse(name)}' in html


def test_dashboard_runs_the_same_queries_for_2_or_20_of_everything(
    site, other_site, supervisor_client
):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert supervisor_client.get(reverse("reports:index")).status_code == 200
        return len(queries)

    for _n in range(2):
        dashboard_scene(site)
    dashboard_scene(other_site)
    small = count()
    for _n in range(18):
        dashboard_scene(site)
    assert count() == small
    assert supervisor_client.get(reverse("reports:index")).context["counts"].flagged_calls == 20


def test_reports_of_a_staff_member_without_sites_are_empty(db, client):
    loner = UserFactory(username="loner", role=Role.SUPERVISOR)
    login_verified(client, loner)
    counts = client.get(reverse("reports:index")).context["counts"]
    assert counts.makeups_owed == counts.without_news == counts.capture_cards_overdue == 0
    assert client.get(reverse("reports:without-news")).context["rows"] == []
    assert client.get(reverse("reports:frequency")).context["rows"] == []
    assert client.get(reverse("reports:geneva")).context["below_rows"] == []
