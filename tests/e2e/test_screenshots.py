"""Pictures of the main pages, in Ukrainian and in English, with a camp's worth of data:
the desk with a call in progress, the logbook, the supervisor's dashboard, the trends
charts and the export page. Each page is first checked to be the right one, in the right
language. They land in tests/e2e/screenshots/; the desk and the trends report are the
README's (``SCREENSHOTS_FOR_DOCS=1`` refreshes docs/screenshots/, see tests/e2e/browser.py).
"""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from calls import services
from tests.e2e.browser import screenshot
from tests.e2e.staff import Camp, element_screenshot
from tests.factories import BookingFactory, CallSlotFactory

MINUTE = datetime.timedelta(minutes=1)
# What each page is called, in each language.
HEADINGS = {
    "uk": {
        "logbook": "Журнал",
        "dashboard": "Огляд для керівника",
        "trends": "Тенденції",
        "exports": "Документи для візитів Червоного Хреста",
    },
    "en": {
        "logbook": "Logbook",
        "dashboard": "Supervisor review",
        "trends": "Trends",
        "exports": "Records for Red Cross visits",
    },
}
LANGUAGES = list(HEADINGS)


@pytest.fixture
def midday_at_the_site(monkeypatch):
    """Midday at the site, whatever the real hour, so that the desk's slots a few minutes
    either side of now are all today's. Only the hour moves; the clock runs. Used with a
    guard only."""
    real_now = timezone.now
    local = real_now().astimezone(zoneinfo.ZoneInfo("Europe/Kyiv"))
    offset = local.replace(hour=12, minute=0, second=0, microsecond=0) - local
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)


def book(camp, prisoner, *, line, starts_in: int):
    starts_at = (timezone.now() + starts_in * MINUTE).replace(second=0, microsecond=0)
    slot = CallSlotFactory(line=line, starts_at=starts_at)
    return BookingFactory(slot=slot, prisoner=prisoner, booked_by=camp.supervisor)


@pytest.mark.parametrize("language", LANGUAGES)
def test_pictures_of_the_desk(page, live_server, midday_at_the_site, language):
    camp = Camp(language=language)
    calling = camp.regulars[2]
    services.start_call(
        line=camp.line,
        prisoner=calling,
        contact=calling.contacts.get(),
        actor=camp.guard,
        booking=book(camp, calling, line=camp.line, starts_in=-3),
    )
    book(camp, camp.forgotten, line=camp.spare, starts_in=-1)
    book(camp, camp.regulars[0], line=camp.spare, starts_in=29)
    camp.log_in(page, camp.guard)

    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator(".desk-call")).to_contain_text(calling.surname)
    expect(page.locator("main")).to_contain_text(camp.forgotten.surname)
    screenshot(page, f"desk-{language}", full_page=False, docs=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_pictures_of_the_logbook_dashboard_trends_and_exports(new_page, live_server, language):
    camp = Camp(language=language)
    headings = HEADINGS[language]
    page = new_page()
    camp.log_in(page, camp.supervisor)

    expect(page.get_by_role("heading", name=headings["dashboard"])).to_be_visible()
    expect(page.locator("#count-contacts .display-6")).to_have_text("1")
    screenshot(page, f"dashboard-{language}")

    page.goto(reverse("calls:logbook"))
    expect(page.get_by_role("heading", name=headings["logbook"], exact=True)).to_be_visible()
    expect(page.locator("table.logbook-table tbody tr").first).to_contain_text("NC-00101")
    screenshot(page, f"logbook-{language}", full_page=False)

    page.goto(reverse("reports:trends"))
    expect(page.get_by_role("heading", name=headings["trends"], exact=True)).to_be_visible()
    charts = page.locator("figure svg[role=img]")
    expect(charts).to_have_count(4)
    expect(charts.first.locator("circle").first).to_be_visible()  # Weeks with calls.
    screenshot(page, f"trends-{language}", full_page=False, docs=True)
    element_screenshot(page.locator("figure").first, f"chart-{language}")

    administrator = new_page()
    camp.log_in(administrator, camp.administrator)
    administrator.goto(reverse("exports:export-create"))
    expect(administrator.get_by_role("heading", name=headings["exports"])).to_be_visible()
    screenshot(administrator, f"exports-{language}")
