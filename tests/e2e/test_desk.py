"""The guard's desk in a real browser: a call from start to logbook, an air-raid alert and
its make-up call, the desk keeping itself up to date, phone and tablet widths, and the
whole flow by keyboard alone."""

import datetime
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation
from playwright.sync_api import expect

from calls import services
from calls.models import Call
from camp.roles import Role
from tests.e2e.browser import (
    elements_wider_than_the_window,
    log_in,
    screenshot,
    within_the_window,
)
from tests.factories import (
    BookingFactory,
    CallFactory,
    CallSlotFactory,
    ContactFactory,
    LineFactory,
    PrisonerFactory,
    SiteFactory,
    UserFactory,
)

MINUTE = datetime.timedelta(minutes=1)
DURATION = re.compile(r"\d+ min \d\d s")


@pytest.fixture(autouse=True)
def midday_at_the_site(monkeypatch):
    """Run at midday at the site, whatever the real hour, so that slots a few minutes
    either side of now are all on today's desk (the server runs in this process, so it
    reads the same clock). Only the hour moves; the clock runs. Sessions count their
    time by the real clock (camp.middleware.SessionTimeoutMiddleware), so the move cannot
    end one."""
    real_now = timezone.now
    local = real_now().astimezone(zoneinfo.ZoneInfo("Europe/Kyiv"))
    offset = local.replace(hour=12, minute=0, second=0, microsecond=0) - local
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)


@pytest.fixture
def fast_refresh(monkeypatch):
    """The desk asks for news every second instead of every five: same code, quicker test."""
    monkeypatch.setattr("calls.views.desk.REFRESH_SECONDS", 1)


class Camp:
    """A site with a guard, two lines and a prisoner booked on Line 1 two minutes ago."""

    def __init__(self):
        self.site = SiteFactory(name="North camp", code="NC")
        self.guard = UserFactory(
            username="guard",
            first_name="Ivan",
            last_name="Koval",
            role=Role.GUARD,
            sites=[self.site],
        )
        self.line = LineFactory(site=self.site, name="Line 1")
        self.spare = LineFactory(site=self.site, name="Line 2")
        self.prisoner = PrisonerFactory(
            site=self.site, isn="NC-00042", surname="Шевченко", first_names="Тарас"
        )
        self.contact = ContactFactory(
            prisoner=self.prisoner, name="Олена", city="Суми", country="UA"
        )
        self.booking = self.book(self.prisoner, line=self.line, starts_in=-2)

    def book(self, prisoner, *, line, starts_in):
        starts_at = (timezone.now() + starts_in * MINUTE).replace(second=0, microsecond=0)
        slot = CallSlotFactory(line=line, starts_at=starts_at, ends_at=starts_at + 15 * MINUTE)
        return BookingFactory(slot=slot, prisoner=prisoner)


@pytest.fixture
def camp(live_server):
    return Camp()


def test_a_guard_makes_a_booked_call_and_finds_it_in_the_logbook(page, camp):
    log_in(page, camp.guard)
    expect(page).to_have_url(re.compile(r"/desk/$"))

    page.locator(f"#next-start-{camp.booking.pk}").click()
    expect(page.get_by_role("radio")).to_be_checked()  # The only contact, chosen already.
    page.get_by_role("button", name="Start call").click()

    expect(page.get_by_role("status").first).to_contain_text("Call started on Line 1")
    countdown = page.locator(".desk-call [role=timer]")
    expect(countdown).to_have_text(re.compile(r"^1[45] min \d\d s left$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first)  # It counts down by itself.
    screenshot(page, "desk-call-in-progress")

    call = Call.objects.get()
    page.locator(f"#call-end-{call.pk}").click()
    expect(page.locator("#id_outcome")).to_be_focused()
    page.locator("#id_outcome").select_option("connected")
    page.get_by_role("button", name="End call").click()

    expect(page.get_by_role("status").first).to_contain_text(
        re.compile(r"ended: Connected after \d+ min \d\d s\.")
    )
    page.get_by_role("link", name="Logbook", exact=True).click()
    row = page.locator("table.logbook-table tbody tr").first
    call.refresh_from_db()
    with translation.override("en"):
        day = formats.date_format(timezone.localtime(call.started_at, camp.site.zone))
    expect(row).to_contain_text("Шевченко Тарас")
    expect(row).to_contain_text(day)
    expect(row).to_contain_text("Суми, UA")
    expect(row).to_contain_text(DURATION)
    expect(row).to_contain_text("Connected")


def test_an_alert_interrupts_the_call_and_the_make_up_call_follows(page, camp):
    call = services.start_call(
        line=camp.line,
        prisoner=camp.prisoner,
        contact=camp.contact,
        actor=camp.guard,
        booking=camp.booking,
    )
    log_in(page, camp.guard)
    expect(page.locator(f"#call-end-{call.pk}")).to_be_visible()
    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)

    page.locator("#siren").click()

    expect(page.locator("#alert-heading")).to_contain_text("Air-raid alert since")
    assert questions == [
        "Sound the air-raid alert? Every call in progress is cut off and the slots are suspended."
    ]
    expect(page.get_by_role("status").first).to_contain_text("1 call in progress was interrupted.")
    expect(page.locator(".desk-call")).to_have_count(0)
    makeup = page.locator("#makeup-heading").locator("xpath=..")
    expect(makeup).to_contain_text("Шевченко Тарас")
    expect(makeup).to_contain_text("Make-up calls can start after the all clear.")
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.INTERRUPTED_BY_ALERT
    screenshot(page, "desk-alert")

    page.locator("#all-clear").click()

    expect(page.get_by_role("status").first).to_contain_text("All clear at")
    assert questions[-1] == "Give the all clear? Calls may start again."
    page.locator(f"#makeup-start-{camp.prisoner.pk}").click()
    expect(page.get_by_text("make-up: does not count against the limits")).to_be_visible()
    page.get_by_role("button", name="Start call").click()

    card = page.locator(".desk-call")
    expect(card).to_contain_text("Шевченко Тарас")
    expect(card).to_contain_text("make-up")
    makeup_call = Call.objects.in_progress().get()
    assert makeup_call.is_makeup and makeup_call.booking is None


def test_a_second_desk_sees_the_alert_and_a_new_booking_without_reloading(
    new_page, camp, fast_refresh
):
    other_guard = UserFactory(username="guard2", role=Role.GUARD, sites=[camp.site])
    first, second = new_page(), new_page()
    log_in(first, camp.guard)
    log_in(second, other_guard)
    loads = []
    second.on("load", lambda _page: loads.append(second.url))
    # While nothing changes, the panels are left as they are, clocks apart.
    panels = second.locator(".desk-live")
    panels.evaluate("element => { element.dataset.untouched = 'yes'; }")
    updated = second.locator("#desk-updated")
    for _ in range(2):
        expect(updated).not_to_have_text(updated.inner_text())
    expect(panels).to_have_attribute("data-untouched", "yes")
    second.locator("#siren").focus()

    # A supervisor books a slot at another terminal ...
    later = camp.book(PrisonerFactory(site=camp.site, isn="NC-00077"), line=camp.spare, starts_in=1)
    expect(second.locator(f"#next-start-{later.pk}")).to_be_visible()
    expect(panels).not_to_have_attribute("data-untouched", "yes")
    expect(second.locator("#siren")).to_be_focused()  # The keyboard stays where it was.
    # ... and the first desk sounds the siren.
    first.on("dialog", lambda dialog: dialog.accept())
    first.locator("#siren").click()
    expect(first.locator("#alert-heading")).to_be_visible()

    expect(second.locator("#alert-heading")).to_contain_text("Air-raid alert since")
    expect(second.locator("#all-clear")).to_be_visible()
    expect(second.locator("#siren")).to_have_count(0)
    expect(second.locator(f"#next-start-{later.pk}")).to_have_count(0)
    assert loads == []
    assert second.locator("#desk-refresh-problem").is_hidden()


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1024, 768)])
def test_the_desk_fits_a_phone_and_a_tablet(new_page, camp, width, height):
    """Nothing wider than the window, and the controls the issue found off-screen on a
    phone are on it: End call, the time left, Start call."""
    services.start_call(
        line=camp.line,
        prisoner=camp.prisoner,
        contact=camp.contact,
        actor=camp.guard,
        booking=camp.booking,
    )
    third = LineFactory(site=camp.site, name="Line 3 (corridor, by the stairs)")
    waiting = PrisonerFactory(
        site=camp.site,
        isn="NC-01234",
        surname="Константинопольський",
        first_names="Олександр-Володимир",
    )
    due = camp.book(waiting, line=third, starts_in=-1)
    owed = PrisonerFactory(site=camp.site, isn="NC-00009", surname="Мельник")
    CallFactory(line=camp.spare, prisoner=owed, outcome=Call.Outcome.INTERRUPTED_BY_ALERT)
    LineFactory(site=camp.site, name="Line 4", active=False)
    page = new_page(width=width, height=height)
    log_in(page, camp.guard)

    assert elements_wider_than_the_window(page) == []
    for selector in (".desk-call a.btn", ".desk-call [role=timer]", f"#next-start-{due.pk}"):
        assert within_the_window(page, selector), selector
    expect(page.locator("#siren")).to_be_in_viewport()
    screenshot(page, f"desk-{width}", full_page=False, docs=True)
    screenshot(page, f"desk-{width}-whole-page")
    page.mouse.wheel(0, 2000)
    expect(page.locator("#siren")).to_be_in_viewport()  # Always on screen.
    # The pages the desk leads to fit as well.
    page.locator(f"#next-start-{due.pk}").click()
    expect(page.get_by_role("heading", name="Start a call")).to_be_visible()
    assert elements_wider_than_the_window(page) == []
    page.goto(reverse("calls:call-end", args=[Call.objects.in_progress().get().pk]))
    assert elements_wider_than_the_window(page) == []
    assert within_the_window(page, ".desk-countdown")


def test_the_whole_desk_flow_by_keyboard_alone(page, camp):
    page.goto("/")
    # The log-in form starts in the username field.
    page.keyboard.type(camp.guard.username)
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/desk/$"))

    # Three key presses to "Start call": the skip link, into the page, the next due call.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator(f"#next-start-{camp.booking.pk}")).to_be_focused()
    page.keyboard.press("Enter")

    # The only contact is chosen and the button has the focus.
    expect(page.get_by_role("button", name="Start call")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".desk-call")).to_have_count(1)

    # E ends the call in progress; the outcome has the focus; Ctrl+Enter sends.
    page.keyboard.press("e")
    expect(page.locator("#id_outcome")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#id_outcome")).to_have_value("connected")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status").first).to_contain_text("ended: Connected")
    assert Call.objects.get().outcome == Call.Outcome.CONNECTED

    # S starts the next due call, here a second booking on the other line.
    later = camp.book(
        PrisonerFactory(site=camp.site, isn="NC-00100"), line=camp.spare, starts_in=-1
    )
    ContactFactory(prisoner=later.prisoner)
    page.reload()
    page.keyboard.press("s")
    expect(page).to_have_url(re.compile(rf"\?booking={later.pk}$"))
