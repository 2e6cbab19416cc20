"""The main pages pass axe-core's checks (static/vendor/axe-core, run in the browser on the
page as served) without a serious or critical violation, in Ukrainian and in English: the
desk, logbook and registry as a guard sees them, the supervisor's dashboard, review pages
and an entry's amendment, the export pages, and the log-in page."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.staff import Camp, axe_problems
from tests.factories import BookingFactory, CallSlotFactory

LANGUAGES = ["uk", "en"]


@pytest.fixture(params=LANGUAGES)
def camp(request, live_server):
    return Camp(language=request.param)


def assert_no_serious_violations(page, urls):
    found = []
    for url in urls:
        page.goto(url)
        expect(page.locator("main")).to_be_visible()
        found += [f"{url}: {problem}" for problem in axe_problems(page)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_log_in_page(page, live_server, settings, language):
    settings.LANGUAGE_CODE = "uk"  # The project's default; the suite's is English.
    page.goto(reverse("login"))
    if language == "en":
        page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_no_serious_violations(page, [page.url])


def test_a_guards_desk_logbook_and_registry(page, camp):
    starts_at = (timezone.now() + datetime.timedelta(minutes=5)).replace(second=0, microsecond=0)
    slot = CallSlotFactory(line=camp.spare, starts_at=starts_at)
    BookingFactory(slot=slot, prisoner=camp.forgotten, booked_by=camp.supervisor)
    camp.log_in(page, camp.guard)

    assert_no_serious_violations(
        page,
        [
            reverse("calls:desk"),
            reverse("calls:logbook"),
            reverse("calls:call-detail", args=[camp.flagged.pk]),
            reverse("prisoners:prisoner-list"),
            reverse("prisoners:prisoner-detail", args=[camp.forgotten.pk]),
        ],
    )


def test_a_supervisors_dashboard_and_reports(page, camp):
    camp.log_in(page, camp.supervisor)

    assert_no_serious_violations(
        page,
        [
            reverse("reports:index"),
            reverse("reports:without-news"),
            reverse("reports:contacts"),
            reverse("reports:flagged"),
            reverse("reports:frequency"),
            reverse("reports:trends"),
            reverse("calls:call-amend", args=[camp.to_amend.pk]),
        ],
    )


def test_an_administrators_export_pages(page, camp):
    camp.log_in(page, camp.administrator)

    assert_no_serious_violations(
        page,
        [
            reverse("exports:export-create"),
            reverse("exports:export-list"),
            reverse("exports:export-verify"),
        ],
    )
