"""A supervisor's round in a real browser: from the dashboard, book the prisoner longest
without news, approve a contact, amend a logbook entry with a reason and resolve a flagged
call; each queue then has one item less, and each change is in the database with the
supervisor's name on it."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from calls.models import Amendment, Booking
from prisoners.models import Contact
from tests.e2e.browser import screenshot
from tests.e2e.staff import Camp


@pytest.fixture
def camp(live_server):
    return Camp()


def menu(page, name):
    """The link ``name`` in the main navigation."""
    navigation = page.get_by_role("navigation", name="Main navigation")
    return navigation.get_by_role("link", name=name, exact=True)


def card_count(page, card_id):
    return page.locator(f"#{card_id} .display-6")


def test_a_supervisor_works_the_queues_from_the_dashboard(page, camp):
    camp.log_in(page, camp.supervisor)
    expect(page).to_have_url(re.compile(r"/reports/$"))
    expect(page.get_by_role("heading", name="Supervisor review")).to_be_visible()
    expect(card_count(page, "count-contacts")).to_have_text("1")
    expect(card_count(page, "count-flagged")).to_have_text("1")

    # The longest without news: first in the queue, booked in one click.
    page.get_by_role("link", name=re.compile("^Longest without news")).click()
    first = page.locator("table tbody tr").first
    expect(first).to_contain_text("Шевченко Тарас")
    expect(first).to_contain_text("NC-00042")
    expect(first).to_contain_text("none since arrival on")
    expect(page.locator("main")).not_to_contain_text("SC-00001")  # Another site's prisoner.
    screenshot(page, "supervisor-without-news")
    first.get_by_role("button", name="Book Шевченко Тарас Іванович (NC-00042)").click()

    tomorrow = camp.site.today() + datetime.timedelta(days=1)
    expect(page.get_by_role("status")).to_contain_text(
        f"Шевченко Тарас Іванович (NC-00042) is booked on Line 1 at {tomorrow:%d.%m.%Y} 10:00."
    )
    booking = Booking.objects.get(prisoner=camp.forgotten)
    assert (booking.slot, booking.booked_by) == (camp.slots[0], camp.supervisor)

    # A number the prisoner asked for: approved inline.
    menu(page, "Reports").click()
    page.locator("#count-contacts").click()
    row = page.locator("table tbody tr", has_text="NC-00043")
    expect(row).to_contain_text("Ганна, Mother")
    row.get_by_role("button", name="Approve").click()

    expect(page.get_by_role("status")).to_contain_text(
        "The contact +380 50 123 4567 of NC-00043 is approved."
    )
    expect(page.get_by_text("No contact awaits approval.")).to_be_visible()
    camp.pending.refresh_from_db()
    assert camp.pending.status == Contact.Status.APPROVED
    assert camp.pending.decided_by == camp.supervisor

    # An entry with the wrong place: found in the logbook, amended with a reason.
    menu(page, "Logbook").click()
    page.get_by_label("Prisoner").fill("NC-00102")
    page.get_by_label("Prisoner").press("Enter")
    page.locator("table.logbook-table tbody tr").first.get_by_role("link").click()
    expect(page).to_have_url(reverse("calls:call-detail", args=[camp.to_amend.pk]))
    page.get_by_role("link", name="Amend", exact=True).click()
    expect(page.get_by_label("Location called")).to_have_value("Суми, UA")
    page.get_by_label("Location called").fill("Конотоп, UA")
    page.get_by_label("Reason for the amendment").fill("The monitor misheard the town.")
    page.get_by_role("button", name="Save amendment").click()

    expect(page.get_by_role("status")).to_contain_text("The entry was amended.")
    amendments = page.locator("section", has=page.get_by_role("heading", name="Amendments"))
    expect(amendments).to_contain_text("Reason: The monitor misheard the town.")
    expect(amendments).to_contain_text("Olha Bondar")
    expect(page.locator("tr.table-warning")).to_contain_text("Конотоп, UA")
    camp.to_amend.refresh_from_db()
    assert camp.to_amend.locality == "Конотоп, UA"
    amendment = Amendment.objects.get(call=camp.to_amend)
    assert (amendment.author, amendment.reason) == (
        camp.supervisor,
        "The monitor misheard the town.",
    )

    # The flagged call: resolved with a note, which is kept as an amendment.
    menu(page, "Reports").click()
    page.locator("#count-flagged").click()
    row = page.locator("table tbody tr", has_text="NC-00101")
    expect(row).to_contain_text("Spoke of the positions of a unit.")
    row.get_by_label("Note on the review of the call of NC-00101").fill(
        "Listened again: family news only."
    )
    row.get_by_role("button", name="Resolve").click()

    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"The call of .+ \(NC-00101\) on .+ is reviewed; your note is kept")
    )
    expect(page.get_by_text("No flagged calls: nothing waits for review.")).to_be_visible()
    camp.flagged.refresh_from_db()
    assert not camp.flagged.flagged
    assert camp.flagged.flag_reason == "Spoke of the positions of a unit."
    note = Amendment.objects.get(call=camp.flagged)
    assert (note.author, note.reason) == (camp.supervisor, "Listened again: family news only.")

    # The dashboard counts what is left.
    menu(page, "Reports").click()
    expect(card_count(page, "count-contacts")).to_have_text("0")
    expect(card_count(page, "count-flagged")).to_have_text("0")
