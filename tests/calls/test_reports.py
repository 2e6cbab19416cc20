"""Supervisor review under /reports/: who may open it, the flagged-calls queue, contacts
awaiting approval, the monitor workload and the weekly trends.

Figures are checked against small crafted scenes with another site's data beside
them; week edges are local to the site (Europe/Kyiv), not UTC.
"""

import datetime
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls import reports, services
from calls.models import Amendment, Booking, Call, Outcome
from camp.models import AuditEntry
from camp.roles import Role
from letters.models import Letter
from prisoners.models import Contact, Prisoner
from tests.factories import (
    AirRaidAlertFactory,
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LetterFactory,
    LineFactory,
    PrisonerFactory,
    UserFactory,
)

MINUTE = datetime.timedelta(minutes=1)
WEEK = datetime.timedelta(weeks=1)
# A Wednesday; its week starts on Monday 2026-03-16. Kyiv is UTC+2 until 29 March.
TODAY = datetime.date(2026, 3, 18)
THIS_WEEK = datetime.date(2026, 3, 16)


def at(site, day, hour, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=site.zone)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def call_at(site, started_at, *, monitor=None, outcome=Outcome.CONNECTED, minutes=10, **extra):
    return CallFactory(
        line=LineFactory(site=site),
        started_at=started_at,
        ended_at=started_at + minutes * MINUTE,
        outcome=outcome,
        monitor=monitor or UserFactory(sites=[site]),
        **extra,
    )


def flagged_call(site, started_at, reason="Spoke of the front line.", **extra):
    return call_at(site, started_at, flagged=True, flag_reason=reason, **extra)


def pending_contact(site, **extra):
    prisoner = PrisonerFactory(site=site)
    return ContactFactory(
        prisoner=prisoner,
        status=Contact.Status.PENDING,
        decided_by=None,
        decided_at=None,
        **extra,
    )


# --- Who may open what ------------------------------------------------------------------


def world(site):
    now = datetime.datetime.now(datetime.UTC)
    return {
        "call": flagged_call(site, now - 3 * datetime.timedelta(days=1)),
        "contact": pending_contact(site),
        "prisoner": PrisonerFactory(site=site),
    }


# (method, URL name, object the URL takes, status for a supervisor)
PAGES = [
    ("get", "reports:index", None, 200),
    ("get", "reports:flagged", None, 200),
    ("post", "reports:flagged-resolve", "call", 302),
    ("get", "reports:contacts", None, 200),
    ("post", "reports:contact-approve", "contact", 302),
    ("post", "reports:contact-revoke", "contact", 302),
    ("get", "reports:workload", None, 200),
    ("get", "reports:trends", None, 200),
    ("get", "reports:without-news", None, 200),
    ("post", "reports:without-news-book", "prisoner", 302),
    ("get", "reports:frequency", None, 200),
    ("get", "reports:geneva", None, 200),
]
PAGE_IDS = [name for _method, name, _target, _status in PAGES]
MUTATIONS = [page for page in PAGES if page[0] == "post"]


def url_for(name, target, objects):
    return reverse(name, args=[objects[target].pk]) if target else reverse(name)


@pytest.fixture
def objects(site):
    return world(site)


@pytest.fixture
def foreign_objects(other_site):
    return world(other_site)


@pytest.mark.parametrize(("method", "name", "target", "status"), PAGES, ids=PAGE_IDS)
def test_anonymous_is_sent_to_log_in(client, objects, method, name, target, status):
    response = getattr(client, method)(url_for(name, target, objects))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(("method", "name", "target", "status"), PAGES, ids=PAGE_IDS)
def test_guard_is_refused(guard_client, objects, method, name, target, status):
    response = getattr(guard_client, method)(url_for(name, target, objects))
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMINISTRATOR])
@pytest.mark.parametrize(("method", "name", "target", "status"), PAGES, ids=PAGE_IDS)
def test_supervisors_and_administrators_are_let_in(
    role_clients, objects, role, method, name, target, status
):
    response = getattr(role_clients[role], method)(url_for(name, target, objects))
    assert response.status_code == status


@pytest.mark.parametrize(("method", "name", "target", "status"), MUTATIONS, ids=str)
def test_another_sites_objects_are_not_found(
    supervisor_client, foreign_objects, method, name, target, status
):
    response = supervisor_client.post(url_for(name, target, foreign_objects), {"x-note": "x"})
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "name", "target", "status"), MUTATIONS, ids=str)
def test_changes_are_post_only(supervisor_client, objects, method, name, target, status):
    assert supervisor_client.get(url_for(name, target, objects)).status_code == 405


def test_nav_links_reports_for_supervisors_only(supervisor_client, guard_client):
    url = reverse("reports:index")
    assert f'href="{url}"' in supervisor_client.get(reverse("calls:logbook")).content.decode()
    assert f'href="{url}"' not in guard_client.get(reverse("calls:logbook")).content.decode()


def test_landing_page_links_every_report(supervisor_client):
    html = supervisor_client.get(reverse("reports:index")).content.decode()
    for name in ["reports:flagged", "reports:contacts", "reports:workload", "reports:trends"]:
        assert reverse(name) in html


# --- Flagged calls --------------------------------------------------------------------


def resolve(client, call, note, **data):
    return client.post(
        reverse("reports:flagged-resolve", args=[call.pk]), {f"call-{call.pk}-note": note, **data}
    )


def listed(response):
    return [row["call"].pk for row in response.context["rows"]]


def test_queue_lists_flagged_entries_of_the_users_sites_newest_first(
    site, other_site, supervisor_client
):
    now = datetime.datetime.now(datetime.UTC)
    older = flagged_call(site, now - 3 * datetime.timedelta(days=1), reason="Raised voice.")
    newer = flagged_call(site, now - datetime.timedelta(days=1), reason="Ran over.")
    call_at(site, now - 2 * datetime.timedelta(days=1))
    flagged_call(other_site, now - datetime.timedelta(hours=5))
    response = supervisor_client.get(reverse("reports:flagged"))
    assert listed(response) == [newer.pk, older.pk]
    html = response.content.decode()
    assert "Raised voice." in html
    assert older.prisoner.isn in html
    assert str(older.monitor) in html


def test_resolving_clears_the_flag_with_an_amendment_and_keeps_the_reason(
    site, supervisor, supervisor_client
):
    call = flagged_call(site, datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1))
    response = resolve(supervisor_client, call, " Listened to the recording: nothing wrong. ")
    assert response.status_code == 302
    assert response.url == reverse("reports:flagged")
    call.refresh_from_db()
    assert call.flagged is False
    assert call.flag_reason == "Spoke of the front line."
    amendment = Amendment.objects.get(call=call)
    assert amendment.changes == {"flagged": {"from": True, "to": False}}
    assert amendment.reason == "Listened to the recording: nothing wrong."
    assert amendment.author == supervisor
    assert AuditEntry.objects.filter(action="calls.call.amended", actor=supervisor).exists()
    page = supervisor_client.get(response.url)
    assert listed(page) == []
    assert "your note is kept as an amendment" in messages_of(page)[0]


def test_resolving_without_a_note_is_refused(site, supervisor_client):
    call = flagged_call(site, datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1))
    response = resolve(supervisor_client, call, "   ")
    page = supervisor_client.get(response.url)
    assert "stays: Write a note on what the review found." in messages_of(page)[0]
    assert 'role="alert"' in page.content.decode()
    call.refresh_from_db()
    assert call.flagged is True
    assert not Amendment.objects.exists()


def test_the_services_refusal_is_shown(site, supervisor_client):
    """An entry still in progress cannot be amended: the service says so, the flag stays."""
    started = datetime.datetime.now(datetime.UTC) - 5 * MINUTE
    call = CallFactory(
        line=LineFactory(site=site),
        started_at=started,
        ended_at=None,
        outcome="",
        flagged=True,
        flag_reason="Suspicious.",
    )
    response = resolve(supervisor_client, call, "Seen.")
    message = messages_of(supervisor_client.get(response.url))[0]
    assert "stays: You may not amend this entry." in message
    assert Call.objects.get(pk=call.pk).flagged is True


def test_queue_pages_by_keyset_and_resolving_returns_to_the_page(site, supervisor_client):
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=40)
    calls = [flagged_call(site, start + n * datetime.timedelta(hours=7)) for n in range(30)]
    first = supervisor_client.get(reverse("reports:flagged"))
    assert listed(first) == [call.pk for call in reversed(calls[5:])]
    cursor = first.context["page"].older
    second = supervisor_client.get(reverse("reports:flagged"), {"page": cursor})
    assert listed(second) == [call.pk for call in reversed(calls[:5])]
    response = resolve(supervisor_client, calls[0], "Fine.", page=cursor)
    assert response.url == f"{reverse('reports:flagged')}?{urlencode({'page': cursor})}"


def test_queue_runs_the_same_queries_for_3_or_30_entries(site, other_site, supervisor_client):
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=40)
    for n in range(3):
        flagged_call(site, start + n * datetime.timedelta(hours=7))
        flagged_call(other_site, start + n * datetime.timedelta(hours=7))
    with CaptureQueriesContext(connection) as few:
        supervisor_client.get(reverse("reports:flagged"))
    for n in range(3, 30):
        flagged_call(site, start + n * datetime.timedelta(hours=7))
    with CaptureQueriesContext(connection) as many:
        response = supervisor_client.get(reverse("reports:flagged"))
    assert len(response.context["rows"]) == 25
    assert len(many) == len(few)


# --- Contacts awaiting approval -------------------------------------------------------


def test_contacts_list_pending_contacts_of_the_users_sites_only(
    site, other_site, supervisor_client
):
    wanted = pending_contact(site, name="Ганна", city="Kursk")
    ContactFactory(prisoner=PrisonerFactory(site=site))  # approved already
    foreign = pending_contact(other_site)
    response = supervisor_client.get(reverse("reports:contacts"))
    assert [row["contact"].pk for row in response.context["rows"]] == [wanted.pk]
    html = response.content.decode()
    assert wanted.prisoner.isn in html
    assert foreign.prisoner.isn not in html
    assert "Ганна, Wife" in html
    assert "Kursk, RU" in html
    assert str(wanted.requested_by) in html


def test_withheld_identity_reads_as_the_registry_shows_it(site, supervisor, guard):
    from calls.views.reports import _prisoner_name

    prisoner = PrisonerFactory(
        site=site, identity=Prisoner.Identity.WITHHELD, surname="Засекреченко", first_names="Тарас"
    )
    assert _prisoner_name(supervisor, prisoner) == "Засекреченко Тарас Іванович"
    assert _prisoner_name(guard, prisoner) == "Тарас"


def test_supervisor_approves_a_contact_from_the_list(site, supervisor, supervisor_client):
    contact = pending_contact(site)
    response = supervisor_client.post(reverse("reports:contact-approve", args=[contact.pk]))
    assert response.url == reverse("reports:contacts")
    contact.refresh_from_db()
    assert (contact.status, contact.decided_by) == (Contact.Status.APPROVED, supervisor)
    page = supervisor_client.get(response.url)
    assert f"of {contact.prisoner.isn} is approved." in messages_of(page)[0]
    assert page.context["rows"] == []


def test_approving_twice_shows_the_registrys_refusal(site, supervisor_client):
    contact = pending_contact(site)
    url = reverse("reports:contact-approve", args=[contact.pk])
    supervisor_client.post(url)
    response = supervisor_client.post(url)
    message = messages_of(supervisor_client.get(response.url))[-1]
    assert "is not approved: Only a pending contact can be approved." in message


def test_revoking_needs_a_reason(site, supervisor, supervisor_client):
    contact = pending_contact(site)
    url = reverse("reports:contact-revoke", args=[contact.pk])
    response = supervisor_client.post(url, {f"contact-{contact.pk}-reason": ""})
    assert (
        "is not revoked: Give the reason for revoking."
        in messages_of(supervisor_client.get(response.url))[0]
    )
    assert Contact.objects.get(pk=contact.pk).status == Contact.Status.PENDING
    response = supervisor_client.post(url, {f"contact-{contact.pk}-reason": "Unknown number."})
    assert response.url == reverse("reports:contacts")
    contact.refresh_from_db()
    assert (contact.status, contact.revoke_reason) == (Contact.Status.REVOKED, "Unknown number.")
    assert "is revoked." in messages_of(supervisor_client.get(response.url))[0]


def test_contacts_list_runs_the_same_queries_for_2_or_20_contacts(
    site, other_site, supervisor_client
):
    for _n in range(2):
        pending_contact(site)
        pending_contact(other_site)
    with CaptureQueriesContext(connection) as few:
        supervisor_client.get(reverse("reports:contacts"))
    for _n in range(18):
        pending_contact(site)
    with CaptureQueriesContext(connection) as many:
        response = supervisor_client.get(reverse("reports:contacts"))
    assert len(response.context["rows"]) == 20
    assert len(many) == len(few)


# --- Monitor workload -----------------------------------------------------------------


def test_workload_counts_each_monitors_entries_per_local_week(site, other_site):
    anna = UserFactory(username="anna", first_name="Anna", last_name="Koval", sites=[site])
    borys = UserFactory(username="borys", first_name="Borys", last_name="Lys", sites=[site])
    first_week = THIS_WEEK - 11 * WEEK  # 2025-12-29
    # Sunday 23:30 in Kyiv is still Sunday's week, though 21:30 UTC; 00:30 on Monday
    # is the next week, though still Sunday in UTC.
    call_at(site, at(site, THIS_WEEK - datetime.timedelta(days=1), 23, 30), monitor=anna)
    call_at(site, at(site, THIS_WEEK, 0, 30), monitor=anna)
    call_at(site, at(site, TODAY, 10), monitor=anna, outcome=Outcome.NO_ANSWER)
    call_at(site, at(site, first_week, 0, 30), monitor=anna)
    call_at(site, at(site, first_week - datetime.timedelta(days=1), 23, 30), monitor=anna)
    call_at(site, at(site, THIS_WEEK - 3 * WEEK, 9), monitor=borys)
    call_at(other_site, at(other_site, TODAY, 9), monitor=anna)
    call_at(other_site, at(other_site, TODAY, 9))

    workload = reports.monitor_workload(sites=[site], today=TODAY, weeks=12)

    assert workload.weeks == [first_week + n * WEEK for n in range(12)]
    zeros = [0] * 12
    assert [(row.name, row.counts, row.total) for row in workload.rows] == [
        ("Anna Koval", [1, *zeros[:9], 1, 2], 4),
        ("Borys Lys", [*zeros[:8], 1, 0, 0, 0], 1),
    ]
    assert workload.week_totals == [1, *zeros[:7], 1, 0, 1, 2]
    assert workload.total == 5


def test_workload_with_no_calls_is_an_empty_grid_of_zeros(site):
    workload = reports.monitor_workload(sites=[site], today=TODAY, weeks=12)
    assert (workload.rows, workload.week_totals, workload.total) == ([], [0] * 12, 0)


def test_workload_page_shows_the_grid_of_the_users_sites(site, other_site, supervisor_client):
    today = site.today()
    mine = UserFactory(username="mine", first_name="Olha", last_name="Mine", sites=[site])
    theirs = UserFactory(username="theirs", first_name="Petro", last_name="Theirs")
    call_at(site, at(site, today, 9), monitor=mine)
    call_at(other_site, at(other_site, today, 9), monitor=theirs)
    response = supervisor_client.get(reverse("reports:workload"))
    html = response.content.decode()
    assert "Olha Mine" in html
    assert "Petro Theirs" not in html
    assert response.context["workload"].total == 1


def test_workload_runs_the_same_queries_for_2_or_20_calls(site, other_site, supervisor_client):
    today = site.today()
    for n in range(2):
        call_at(site, at(site, today, 9) - n * WEEK)
        call_at(other_site, at(other_site, today, 9) - n * WEEK)
    with CaptureQueriesContext(connection) as few:
        supervisor_client.get(reverse("reports:workload"))
    for n in range(2, 20):
        call_at(site, at(site, today, 9) - (n % 12) * WEEK)
    with CaptureQueriesContext(connection) as many:
        response = supervisor_client.get(reverse("reports:workload"))
    assert response.context["workload"].total == 20
    assert len(many) == len(few)


# --- Trends ---------------------------------------------------------------------------


def slot_scene(site, day, supervisor):
    """Five slots on ``day``: free, used, no-show, cancelled, and lost to an alert."""
    line = LineFactory(site=site)

    def slot(hour, minute=0):
        return CallSlotFactory(line=line, starts_at=at(site, day, hour, minute))

    slot(9)
    used = BookingFactory(slot=slot(10), booked_by=supervisor)
    contact = ContactFactory(prisoner=used.prisoner)
    CallFactory(
        site=site,
        line=line,
        prisoner=used.prisoner,
        contact=contact,
        booking=used,
        started_at=used.starts_at,
        ended_at=used.starts_at + 10 * MINUTE,
        monitor=supervisor,
    )
    BookingFactory(slot=slot(11), booked_by=supervisor, status=Booking.Status.NO_SHOW)
    BookingFactory(
        slot=slot(12), booked_by=supervisor, status=Booking.Status.CANCELLED, cancel_reason="Ill."
    )
    alert = AirRaidAlertFactory(
        site=site,
        started_at=at(site, day, 12, 50),
        ended_at=at(site, day, 13, 30),
        started_by=supervisor,
    )
    lost = slot(13)
    lost.suspended_by = alert
    lost.save()
    BookingFactory(slot=lost, booked_by=supervisor, status=Booking.Status.SUSPENDED)


def test_trends_figures_per_local_week(site, other_site, supervisor):
    tuesday = THIS_WEEK + datetime.timedelta(days=1)
    slot_scene(site, tuesday, supervisor)  # one connected call of 10 minutes
    call_at(site, at(site, tuesday, 15), minutes=20)
    call_at(site, at(site, tuesday, 16), outcome=Outcome.BUSY, minutes=1)
    amended = call_at(site, at(site, tuesday, 17), minutes=7)
    services.amend_call(
        call=amended,
        changes={"outcome": Outcome.NO_ANSWER},
        reason="Nobody answered; the monitor chose the wrong outcome.",
        actor=supervisor,
    )
    # Sunday 23:30 in Kyiv: the previous week, though the slot on that Sunday at 23:45
    # and the call both lie on the Sunday in UTC too; 00:15 on Monday is this week.
    sunday = THIS_WEEK - datetime.timedelta(days=1)
    call_at(site, at(site, sunday, 23, 30), minutes=5)
    CallSlotFactory(line=LineFactory(site=site), starts_at=at(site, sunday, 23, 40))
    CallSlotFactory(line=LineFactory(site=site), starts_at=at(site, THIS_WEEK, 0, 15))
    # Another site's scene the same week stays out.
    other_supervisor = UserFactory(username="south", sites=[other_site])
    slot_scene(other_site, tuesday, other_supervisor)
    call_at(other_site, at(other_site, tuesday, 15))

    weeks = reports.weekly_trends(sites=[site], today=TODAY, weeks=26)

    assert [week.week for week in weeks] == [THIS_WEEK - (25 - n) * WEEK for n in range(26)]
    this_week, last_week = weeks[-1], weeks[-2]
    assert this_week == reports.WeekTrend(
        week=THIS_WEEK,
        attempts=4,
        connected=2,
        average_minutes=15.0,
        slots_offered=6,
        slots_booked=3,
        slots_used=1,
        slots_no_show=1,
        slots_lost_to_alerts=1,
        letters_sent=0,
        letters_received=0,
        cards_sent=0,
        cards_received=0,
    )
    assert last_week == reports.WeekTrend(
        week=THIS_WEEK - WEEK,
        attempts=1,
        connected=1,
        average_minutes=5.0,
        slots_offered=1,
        slots_booked=0,
        slots_used=0,
        slots_no_show=0,
        slots_lost_to_alerts=0,
        letters_sent=0,
        letters_received=0,
        cards_sent=0,
        cards_received=0,
    )
    for week in weeks[:-2]:
        assert (week.attempts, week.connected, week.average_minutes, week.slots_offered) == (
            0,
            0,
            None,
            0,
        )


def test_trends_count_an_amended_outcome_by_its_current_value(site, supervisor):
    call = call_at(site, at(site, TODAY, 9), outcome=Outcome.NO_ANSWER)
    assert reports.weekly_trends(sites=[site], today=TODAY, weeks=1)[0].connected == 0
    services.amend_call(
        call=call,
        changes={"outcome": Outcome.CONNECTED},
        reason="The call did connect.",
        actor=supervisor,
    )
    week = reports.weekly_trends(sites=[site], today=TODAY, weeks=1)[0]
    assert (week.attempts, week.connected, week.average_minutes) == (1, 1, 10.0)


def mail(prisoner, day, kind, direction=Letter.Direction.SENT, **extra):
    channel = Letter.Channel.ICRC if kind == Letter.Kind.RED_CROSS_MESSAGE else Letter.Channel.POST
    return LetterFactory(
        prisoner=prisoner,
        kind=kind,
        direction=direction,
        channel=channel,
        handed_in_on=day,
        **extra,
    )


def test_trends_count_letters_and_cards_per_week_sent_and_received(site, other_site):
    prisoner = PrisonerFactory(site=site)
    received = Letter.Direction.RECEIVED
    letter, card, capture = Letter.Kind.LETTER, Letter.Kind.CARD, Letter.Kind.CAPTURE_CARD
    monday, sunday = THIS_WEEK, THIS_WEEK + datetime.timedelta(days=6)
    # This week: Monday and Sunday are its edges.
    mail(prisoner, monday, letter)
    mail(prisoner, sunday, letter)
    mail(prisoner, TODAY, letter, received)
    mail(prisoner, monday, card)
    mail(prisoner, sunday, capture)  # a card handed in on a Sunday counts in that week
    mail(prisoner, TODAY, card, received)
    mail(prisoner, TODAY, card, received)
    # Neither a letter nor a card.
    mail(prisoner, TODAY, Letter.Kind.TELEGRAM)
    mail(prisoner, TODAY, Letter.Kind.RED_CROSS_MESSAGE)
    # Recorded in error: left out.
    mail(prisoner, TODAY, letter, in_error=True)
    mail(prisoner, TODAY, card, received, in_error=True)
    # The Sunday before this week's Monday: the previous week. Three weeks back: one card.
    mail(prisoner, monday - datetime.timedelta(days=1), card)
    mail(prisoner, monday - 3 * WEEK + datetime.timedelta(days=2), card, received)
    # Before the period and after it: out.
    mail(prisoner, monday - 4 * WEEK - datetime.timedelta(days=1), letter)
    mail(prisoner, monday + WEEK, card)
    # Another site's mail the same week stays out.
    stranger = PrisonerFactory(site=other_site)
    mail(stranger, TODAY, letter)
    mail(stranger, sunday, card)

    weeks = reports.weekly_trends(sites=[site], today=TODAY, weeks=4)

    def figures(week):
        return (week.letters_sent, week.letters_received, week.cards_sent, week.cards_received)

    assert [week.week for week in weeks] == [THIS_WEEK - (3 - n) * WEEK for n in range(4)]
    assert [figures(week) for week in weeks] == [
        (0, 0, 0, 1),
        (0, 0, 0, 0),
        (0, 0, 1, 0),
        (2, 1, 2, 2),
    ]


def test_trends_weeks_without_mail_read_zero(site):
    weeks = reports.weekly_trends(sites=[site], today=TODAY, weeks=26)
    assert len(weeks) == 26
    assert {
        (week.letters_sent, week.letters_received, week.cards_sent, week.cards_received)
        for week in weeks
    } == {(0, 0, 0, 0)}


def test_trends_page_charts_and_tabulates_letters_and_cards(site, supervisor_client):
    prisoner = PrisonerFactory(site=site)
    today = site.today()
    mail(prisoner, today, Letter.Kind.LETTER)
    mail(prisoner, today, Letter.Kind.CARD, Letter.Direction.RECEIVED)
    response = supervisor_client.get(reverse("reports:trends"))
    html = response.content.decode()
    latest = response.context["weeks"][-1]
    assert (latest.letters_sent, latest.cards_received) == (1, 1)
    assert 'id="chart-mail-title">Letters and cards per week, sent and received</title>' in html
    for heading in ["Letters sent", "Letters received", "Cards sent", "Cards received"]:
        assert f'<th scope="col">{heading}</th>' in html


def test_trends_page_draws_charts_with_titles_and_a_table(site, supervisor_client):
    call_at(site, at(site, site.today(), 9))
    response = supervisor_client.get(reverse("reports:trends"))
    html = response.content.decode()
    assert len(response.context["weeks"]) == 26
    assert html.count("<svg viewBox") == 4
    for chart in response.context["charts"]:
        assert f'aria-labelledby="{chart["id"]}-title {chart["id"]}-desc"' in html
        assert f'<title id="{chart["id"]}-title">{chart["title"]}</title>' in html
    assert "Figures by week" in html
    assert html.count('<th scope="row" class="text-start text-nowrap">') == 26
    assert "<script" not in html.split("</main>")[0]


def test_trends_draw_the_running_week_faint_and_say_so(site, supervisor_client):
    """The current week has only begun: its segment and dot are faint, not a fall."""
    today = site.today()
    call_at(site, at(site, today - WEEK, 9))
    response = supervisor_client.get(reverse("reports:trends"))
    attempts, _connected = response.context["charts"][0]["series"]
    *_earlier, before, running = attempts["dots"]
    assert not before["running"]
    assert running["running"]
    assert running["text"] == f"{response.context['weeks'][-1].week:%d.%m.%Y}, so far: 0"
    assert attempts["running"] == f"{before['x']},{before['y']} {running['x']},{running['y']}"
    # The faint segment is not also part of the solid line.
    assert all(f"{running['x']}," not in line for line in attempts["lines"])
    html = response.content.decode()
    assert f'<polyline points="{attempts["running"]}" fill="none" stroke-width="2" ' in html
    assert "The last week is still running" in html
    assert html.count(">so far</span>") == 1


def test_trends_runs_the_same_queries_for_2_or_20_calls(site, other_site, supervisor_client):
    today = site.today()
    for n in range(2):
        call_at(site, at(site, today, 9) - n * WEEK)
        call_at(other_site, at(other_site, today, 9) - n * WEEK)
    with CaptureQueriesContext(connection) as few:
        supervisor_client.get(reverse("reports:trends"))
    prisoner = PrisonerFactory(site=site)
    for n in range(2, 20):
        call_at(site, at(site, today, 9) - n * WEEK)
        CallSlotFactory(line=LineFactory(site=site), starts_at=at(site, today, 8) - n * WEEK)
        mail(prisoner, today - n * WEEK, Letter.Kind.LETTER)
    with CaptureQueriesContext(connection) as many:
        response = supervisor_client.get(reverse("reports:trends"))
    assert sum(week.attempts for week in response.context["weeks"]) == 20
    assert len(many) == len(few)


def test_reports_of_a_staff_member_without_sites_are_empty(db):
    assert reports.monitor_workload(sites=[], today=TODAY, weeks=12).total == 0
    assert sum(week.attempts for week in reports.weekly_trends(sites=[], today=TODAY)) == 0
